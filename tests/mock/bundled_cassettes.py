"""What the bundled-cassette tests share: the files, their names, and readers for their parts.

The tests read cassettes as plain JSON rather than through the loader, so a loader bug cannot hide a
cassette bug; each response's layout (which server produced it) is read from its headers.
"""

from __future__ import annotations

import base64
import json
import math
import re
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from nim_mock.synth.retrieval_models import EMBEDDING_MODELS

ROOT = Path(__file__).resolve().parents[2]


CASSETTE_DIR = ROOT / "cassettes"


RECORDED_FOLDERS = {"vllm-contract", "retrieval-contract"}
"""Folders of cassettes recorded by tests/contract in record mode, from a real engine (``vllm-contract/``)
or from the mock's retrieval stand-in (``retrieval-contract/``): not authored, so the authoring
script, its README table and the NIM 1.x layout rules do not apply to them; ``nim-mock check``
lints them and the contract suite replays them."""


FILES = sorted(
    path
    for path in CASSETTE_DIR.rglob("*.json")
    if path.relative_to(CASSETTE_DIR).parts[0] not in RECORDED_FOLDERS
)


NAMES = [p.relative_to(CASSETTE_DIR).with_suffix("").as_posix() for p in FILES]


DONE = "data: [DONE]\n\n"


CHAT_ID = re.compile(r"chatcmpl-[0-9a-f]{32}")


CMPL_ID = re.compile(r"cmpl-[0-9a-f]{32}")


TOOL_ID = re.compile(r"chatcmpl-tool-[0-9a-f]{32}")


UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


NIM_CHAT_KEYS = [
    "id",
    "object",
    "created",
    "model",
    "choices",
    "usage",
    "prompt_logprobs",
    "kv_transfer_params",
]


NIM_CHOICE_KEYS = ["index", "message", "logprobs", "finish_reason", "stop_reason"]


NIM_MESSAGE_KEYS = ["role", "reasoning_content", "content", "tool_calls"]


NIM_USAGE_KEYS = ["prompt_tokens", "total_tokens", "completion_tokens"]


NIM_MODEL_CARD_KEYS = ["id", "object", "created", "owned_by", "root", "parent", "max_model_len", "permission"]
"""A vLLM ``ModelCard`` in ``GET /v1/models``, as NIM 1.x lists it (and the mock builds it)."""


FLAT_ERROR_KEYS = ["object", "message", "type", "param", "code"]


NESTED_ERROR_KEYS = ["message", "type", "param", "code"]


NEVER_STORED = {"date", "content-length", "transfer-encoding", "connection"}


def load(name: str) -> Any:
    return json.loads((CASSETTE_DIR / f"{name}.json").read_text(encoding="utf-8"))


def interactions(name: str) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    for interaction in load(name)["interactions"]:
        yield interaction["request"], interaction["response"]


def header(response: dict[str, Any], key: str) -> str | None:
    return next((v for k, v in response.get("headers", []) if k == key), None)


def layout(response: dict[str, Any]) -> str:
    """Which server produced the response, read from its headers (the description says the same)."""
    if header(response, "x-request-id") is not None:
        return "transformers"
    if header(response, "server") == "uvicorn":
        # vLLM >= 0.11 answers through its CORS middleware (vary: Origin): the real recordings in
        # vllm/; the NIM 1.x layout (vLLM 0.9.2) the authored cassettes follow has no such header.
        return "vllm" if header(response, "vary") == "Origin" else "nim"
    if header(response, "nvcf-reqid") is not None or header(response, "www-authenticate") is not None:
        return "gateway"
    raise AssertionError(f"response headers match no known server: {response.get('headers')}")


def chunks(response: dict[str, Any]) -> list[dict[str, Any]]:
    return [e["data"] for e in response["events"] if "data" in e]


Exchange = tuple[str, dict[str, Any], dict[str, Any]]
"""(cassette name, request, response) as stored in a bundled file."""


def exchanges(server: str, body: str | None = None) -> list[Exchange]:
    """Every bundled exchange answered by ``server`` (a ``layout``), with a ``body`` of that kind if given
    (``"events"`` for a stream, ``"json"`` for a JSON body)."""
    return [
        (name, request, response)
        for name in NAMES
        for request, response in interactions(name)
        if layout(response) == server and (body is None or body in response)
    ]


NIM_STREAMS = exchanges("nim", "events")


NIM_STREAM_IDS = [name for name, _, _ in NIM_STREAMS]


NIM_JSON = exchanges("nim", "json")


GATEWAY = exchanges("gateway")


VLLM = exchanges("vllm")
"""The exchanges recorded from vLLM 0.32 by ``tools/record_vllm.py`` (``cassettes/vllm/``)."""


def is_retrieval(path: str) -> bool:
    """An embeddings or reranking route, self-hosted or hosted (``nim_mock.serve.retrieval``)."""
    return path in {"/v1/embeddings", "/v1/ranking"} or path.startswith("/v1/retrieval/")


def check_retrieval_answer(request: dict[str, Any], body: dict[str, Any]) -> None:
    """A 200 embeddings or ranking body in NIM's shape, consistent with the request it answers."""
    sent = request["json"]
    if "passages" in sent:
        assert list(body) == ["rankings"]
        rankings = body["rankings"]
        assert all(list(r) == ["index", "logit"] for r in rankings)
        assert sorted(r["index"] for r in rankings) == list(range(len(sent["passages"])))
        logits = [r["logit"] for r in rankings]
        assert logits == sorted(logits, reverse=True)
        return
    assert list(body) == ["object", "data", "model", "usage"]
    assert body["object"] == "list"
    assert body["model"] == sent["model"]
    assert list(body["usage"]) == ["prompt_tokens", "total_tokens"]
    assert body["usage"]["prompt_tokens"] == body["usage"]["total_tokens"] >= len(sent["input"])
    assert [item["index"] for item in body["data"]] == list(range(len(sent["input"])))
    expected = sent.get("dimensions") or EMBEDDING_MODELS[sent["model"]].dimension
    for item in body["data"]:
        assert list(item) == ["index", "embedding", "object"]
        assert item["object"] == "embedding"
        vector = item["embedding"]
        if sent.get("encoding_format") == "base64":
            raw = base64.b64decode(vector)
            vector = list(struct.unpack(f"<{len(raw) // 4}f", raw))
        assert len(vector) == expected
        assert math.isclose(math.fsum(v * v for v in vector), 1.0, rel_tol=1e-5)
        assert all(struct.unpack("<f", struct.pack("<f", v))[0] == v for v in vector)  # float32 values
