#!/usr/bin/env bash
# Record and live modes, proven against a real OpenAI-compatible server nobody here wrote.
#
#   .ci/live.sh            (from anywhere; .ci/run calls it after the unit suite)
#
# 1. starts `transformers serve` with a tiny model built offline (../shared/live-target/up.sh) on a
#    free loopback port. The venv and model are built once into .live-target/ (git-ignored) and
#    reused; each run gets its own .live-target/run-<port>/ (pid file, log) linking to them, so a
#    server someone else started from .live-target/ is never touched. down.sh runs on any exit.
# 2. if tests/contract exists: the contract suite (a) live against the server, (b) in record mode
#    into a temporary folder, (c) in mock mode on those fresh cassettes (--nim-harness-missing=skip:
#    what was skipped live recorded nothing); (a) and (c) must give each
#    test the same outcome (passed/skipped/failed, from --junitxml). Prints each run's counts.
# 3. `nim-mock check` on cassettes/ (lint; orphans against tests/) and on the fresh recordings.
# 4. a smoke test of `nim-mock record` for any client: curl through the proxy, a cassette per
#    exchange, then `nim-mock serve` on them replays the very same bytes.
# Exit status: 0 when every step held, 1 otherwise (each failed step says why).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
LIVE=${LIVE_TARGET_SCRIPTS:-$ROOT/../shared/live-target}
BUILD=$ROOT/.live-target
MODEL=local/tiny-qwen2
PY=$ROOT/.venv/bin/python
NIM_MOCK=$ROOT/.venv/bin/nim-mock
[ -x "$NIM_MOCK" ] || NIM_MOCK="$PY -m nim_mock.cli"
PORT=${LIVE_PORT:-$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
RUN=$BUILD/run-$PORT
WORK=$(mktemp -d "${TMPDIR:-/tmp}/nim-live.XXXXXX")
FAILED=()
BACKGROUND=()

cleanup() {
  for pid in "${BACKGROUND[@]}"; do kill -INT "$pid" 2>/dev/null || true; done
  "$LIVE/down.sh" "$RUN" || true
  rm -rf "$WORK" "$RUN"
}
trap cleanup EXIT

step() { echo; echo "== $*"; }
fail() { echo "live.sh: FAILED: $*" >&2; FAILED+=("$*"); }

# -- 1. the real server ------------------------------------------------------------------------------
step "live target: transformers serve ($MODEL) on 127.0.0.1:$PORT"
if [ ! -x "$BUILD/venv/bin/transformers" ] || [ ! -d "$BUILD/hf" ]; then
  # No complete build means no server can be running from $BUILD: build there once (the venv must
  # stay where it is built, its scripts name their interpreter by absolute path), then stop it.
  echo "building the live target once into $BUILD (venv ~1 min, model ~2 min)"
  "$LIVE/up.sh" "$BUILD" "$PORT" >/dev/null
  "$LIVE/down.sh" "$BUILD"
fi
mkdir -p "$RUN"
for part in venv hf model; do ln -sfn "$BUILD/$part" "$RUN/$part"; done
ready=$("$LIVE/up.sh" "$RUN" "$PORT")
echo "$ready"
BASE_URL=$(sed -n 's/.*base_url=\([^ ]*\).*/\1/p' <<<"$ready")
[ -n "$BASE_URL" ] || { echo "live.sh: up.sh printed no base_url" >&2; exit 1; }

# -- 2. the contract suite: live, record, mock on the recordings -------------------------------------
counts() {  # counts JUNIT_XML -> "passed=N skipped=N failed=N errors=N"
  "$PY" - "$1" <<'EOF'
import sys
import xml.etree.ElementTree as ET

totals = {"passed": 0, "skipped": 0, "failed": 0, "errors": 0}
for case in ET.parse(sys.argv[1]).iter("testcase"):
    kinds = {child.tag for child in case}
    key = "errors" if "error" in kinds else "failed" if "failure" in kinds else "skipped" if "skipped" in kinds else "passed"
    totals[key] += 1
print(" ".join(f"{k}={v}" for k, v in totals.items()))
EOF
}

compare() {  # compare LIVE_XML MOCK_XML: same outcome per test id, or a diff and status 1
  "$PY" - "$1" "$2" <<'EOF'
import sys
import xml.etree.ElementTree as ET


def outcomes(path: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for case in ET.parse(path).iter("testcase"):
        kinds = {child.tag for child in case}
        outcome = "error" if "error" in kinds else "failed" if "failure" in kinds else "skipped" if "skipped" in kinds else "passed"
        test_id = f"{case.get('classname', '')}::{case.get('name', '')}"
        # a test can report twice (call failed, teardown errored): keep the worst
        if found.get(test_id) in ("error", "failed"):
            continue
        found[test_id] = outcome
    return found


live, mock = outcomes(sys.argv[1]), outcomes(sys.argv[2])
diff = [
    f"  {test_id}: live {live.get(test_id, 'not run')}, mock {mock.get(test_id, 'not run')}"
    for test_id in sorted(live.keys() | mock.keys())
    if live.get(test_id) != mock.get(test_id)
]
if diff:
    print(f"live and mock-on-fresh-recordings differ for {len(diff)} test(s):")
    print("\n".join(diff))
    sys.exit(1)
print(f"live and mock-on-fresh-recordings agree on all {len(live)} tests")
EOF
}

pytest_run() {  # pytest_run NAME ARGS...: runs the contract suite, keeps its junit xml, never exits
  local name=$1; shift
  local status=0
  "$PY" -m pytest tests/contract -q -p no:cacheprovider \
      --junitxml "$WORK/$name.xml" "$@" >"$WORK/$name.log" 2>&1 || status=$?
  if [ "$status" = 0 ]; then tail -n 1 "$WORK/$name.log"; else tail -n 40 "$WORK/$name.log"; fi
  if [ ! -f "$WORK/$name.xml" ]; then
    fail "$name run did not report (pytest exit $status)"
    return
  fi
  local result; result=$(counts "$WORK/$name.xml")
  echo "$name: $result (pytest exit $status)"
  SUMMARY+=("$name: $result")
  case "$result" in *"failed=0 errors=0"*) ;; *) fail "$name run: $result" ;; esac
}

SUMMARY=()
if [ -d tests/contract ]; then
  step "(a) contract suite, live against $BASE_URL"
  pytest_run live --nim-mode=live --nim-harness-endpoint "$BASE_URL" --nim-harness-model "$MODEL"
  step "(b) contract suite, recording into a fresh folder"
  pytest_run record --nim-mode=record --nim-harness-endpoint "$BASE_URL" --nim-harness-model "$MODEL" \
    --nim-harness-cassettes "$WORK/recorded"
  step "(c) contract suite, mock mode on the fresh recordings"
  # a test skipped live (the server cannot honour it) recorded nothing: --nim-harness-missing=skip
  # makes it skip in mock too, while a test that passed live but left no cassette shows up as a difference
  pytest_run mock --nim-mode=mock --nim-harness-cassettes "$WORK/recorded" --nim-harness-missing=skip
  step "(a) vs (c): same outcome per test"
  if [ -f "$WORK/live.xml" ] && [ -f "$WORK/mock.xml" ]; then
    compare "$WORK/live.xml" "$WORK/mock.xml" || fail "live and mock outcomes differ"
  fi
  if [ -d "$WORK/recorded" ]; then
    step "nim-mock check on the fresh recordings"
    $NIM_MOCK check "$WORK/recorded" || fail "nim-mock check found problems in the fresh recordings"
  fi
else
  echo "tests/contract does not exist: contract runs skipped"
fi

# -- 3. lint the bundled cassettes --------------------------------------------------------------------
step "nim-mock check cassettes/ --tests tests"
$NIM_MOCK check cassettes --tests tests || fail "nim-mock check cassettes/ found problems"

# -- 4. nim-mock record for any client (curl), replayed by nim-mock serve ---------------------------------
step "nim-mock record smoke test: curl -> proxy -> $BASE_URL, then nim-mock serve replays it"
wait_for_url() {  # wait_for_url FILE PATTERN -> the first URL matching in FILE (10 s at most)
  for _ in $(seq 1 200); do
    url=$(grep -o "$2" "$1" 2>/dev/null | head -1 || true)
    [ -n "$url" ] && { echo "$url"; return 0; }
    sleep 0.05
  done
  return 1
}
SMOKE=$WORK/smoke
CHAT='{"model":"'$MODEL'","messages":[{"role":"user","content":"Say hello"}],"max_tokens":16}'
STREAM='{"model":"'$MODEL'","messages":[{"role":"user","content":"Say hello"}],"max_tokens":16,"stream":true}'
$NIM_MOCK record --upstream "$BASE_URL" --cassettes "$SMOKE" --port 0 >"$WORK/record.out" 2>"$WORK/record.err" &
RECORD_PID=$!
BACKGROUND+=("$RECORD_PID")
if PROXY=$(wait_for_url "$WORK/record.out" 'http://127\.0\.0\.1:[0-9]*/v1 '); then
  PROXY=${PROXY% }
  curl -sS -f "$PROXY/chat/completions" -H 'content-type: application/json' \
      -H 'authorization: Bearer smoke-test-key-0123456789' -d "$CHAT" >"$WORK/direct.json"
  curl -sS -f -N "$PROXY/chat/completions" -H 'content-type: application/json' -d "$STREAM" >"$WORK/direct.sse"
  kill -INT "$RECORD_PID"; wait "$RECORD_PID" || fail "nim-mock record did not exit 0 on Ctrl-C"
  cat "$WORK/record.err"
  written=$(find "$SMOKE" -name '*.json' 2>/dev/null | wc -l)
  echo "cassettes written: $written"
  [ "$written" = 2 ] || fail "nim-mock record wrote $written cassettes for 2 exchanges"
  ! grep -rq "smoke-test-key-0123456789" "$SMOKE" || fail "the API key reached a cassette"
  $NIM_MOCK check "$SMOKE" || fail "nim-mock check found problems in the smoke recordings"
  $NIM_MOCK serve --cassettes "$SMOKE" --port 0 >"$WORK/serve.out" 2>"$WORK/serve.err" &
  SERVE_PID=$!
  BACKGROUND+=("$SERVE_PID")
  if MOCK=$(wait_for_url "$WORK/serve.out" 'http://127\.0\.0\.1:[0-9]*/v1'); then
    curl -sS "$MOCK/chat/completions" -H 'content-type: application/json' -d "$CHAT" >"$WORK/replayed.json"
    curl -sS -N "$MOCK/chat/completions" -H 'content-type: application/json' -d "$STREAM" >"$WORK/replayed.sse"
    cmp -s "$WORK/direct.json" "$WORK/replayed.json" && echo "replayed chat: byte for byte" \
      || fail "nim-mock serve replayed a different chat body: $(head -c 300 "$WORK/replayed.json")"
    cmp -s "$WORK/direct.sse" "$WORK/replayed.sse" && echo "replayed stream: byte for byte ($(grep -c '^data:' "$WORK/direct.sse") events)" \
      || fail "nim-mock serve replayed a different stream: $(head -c 300 "$WORK/replayed.sse")"
  else
    fail "nim-mock serve did not start: $(cat "$WORK/serve.err")"
  fi
  kill -INT "$SERVE_PID" 2>/dev/null || true
  wait "$SERVE_PID" || true
else
  fail "nim-mock record did not start: $(cat "$WORK/record.err")"
fi

step "summary"
for line in "${SUMMARY[@]}"; do echo "  $line"; done
if [ "${#FAILED[@]}" -gt 0 ]; then
  for reason in "${FAILED[@]}"; do echo "  FAILED: $reason"; done
  exit 1
fi
echo "  live target checks: all passed"
