# Sourced by .ci/run, .ci/live.sh and .ci/live_embeddings.sh: named steps, each one timed, and a
# summary of the times.
#
#   step NAME...     ends the step before (keeping its time) and starts NAME, printing "== NAME"
#   step_summary     ends the current step and prints every step's wall-clock seconds
#   wait_for_url F P prints the first match of grep pattern P in file F (a server's announced URL)
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
