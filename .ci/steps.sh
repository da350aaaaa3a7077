# Sourced by .ci/run, .ci/live.sh and .ci/live_embeddings.sh: named steps, each one timed, and a
# summary of the times.
#
#   step NAME...     ends the step before (keeping its time) and starts NAME, printing "== NAME"
#   step_summary     ends the current step and prints every step's wall-clock seconds
#   wait_for_url F P prints the first match of grep pattern P in file F (a server's announced URL)
#   junit_run LABEL STEM LINES PYTEST-ARGS...
#                    runs "$PY -m pytest -q -p no:cacheprovider PYTEST-ARGS", keeping STEM.xml and
#                    STEM.log; prints its skips and counts (or the log's last LINES lines when it
#                    failed), then sets JUNIT_RESULT to the counts; calls the caller's `fail` when
#                    no report was written or a test failed, and returns 1 when there is no report
#
# The whole CI run must stay under 30 minutes on a fresh machine; these times are how that is seen.

STEP_NAMES=()
STEP_SECONDS=()
_STEP_NAME=""
_STEP_START=0

step_end() {
  [ -n "$_STEP_NAME" ] || return 0
  STEP_NAMES+=("$_STEP_NAME")
  STEP_SECONDS+=($((SECONDS - _STEP_START)))
  _STEP_NAME=""
}

step() {
  step_end
  _STEP_NAME="$*"
  _STEP_START=$SECONDS
  echo
  echo "== $*"
}

step_summary() {
  step_end
  local i
  for i in "${!STEP_NAMES[@]}"; do
    printf '  %5ss  %s\n' "${STEP_SECONDS[$i]}" "${STEP_NAMES[$i]}"
  done
}

wait_for_url() {  # the first URL matching PATTERN in FILE, waiting 10 s at most
  for _ in $(seq 1 200); do
    url=$(grep -o "$2" "$1" 2>/dev/null | head -1 || true)
    [ -n "$url" ] && { echo "$url"; return 0; }
    sleep 0.05
  done
  return 1
}

junit_run() {  # see the header; needs $PY and a `fail MESSAGE` function from the sourcing script
  local label=$1 stem=$2 lines=$3
  shift 3
  local status=0
  JUNIT_RESULT=""
  "$PY" -m pytest -q -p no:cacheprovider --junitxml "$stem.xml" "$@" >"$stem.log" 2>&1 || status=$?
  if [ "$status" = 0 ]; then grep -E '^SKIPPED|passed|failed' "$stem.log" | tail -n 20; else tail -n "$lines" "$stem.log"; fi
  if [ ! -f "$stem.xml" ]; then
    fail "$label did not report (pytest exit $status)"
    return 1
  fi
  JUNIT_RESULT=$("$PY" .ci/junit_outcomes.py counts "$stem.xml")
  echo "$label: $JUNIT_RESULT (pytest exit $status)"
  case "$JUNIT_RESULT" in *"failed=0 errors=0"*) ;; *) fail "$label: $JUNIT_RESULT" ;; esac
}
