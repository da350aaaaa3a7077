"""Embedding and reranking scenarios: a self-hosted NeMo Retriever NIM and the hosted catalogue.

Request bodies are what langchain-nvidia-ai-endpoints 1.5.0 sends (``NVIDIAEmbeddings``: ``input``
list, ``model``, ``encoding_format: "float"``, ``input_type``, ``truncate``; ``NVIDIARerank``:
``model``, ``query: {text}``, ``passages: [{text}]``) or the openai SDK (``encoding_format:
"base64"``, ``dimensions``). Answers follow NIM's shapes: ``{"object":"list","data":[{"index",
"embedding","object":"embedding"}],"model","usage":{"prompt_tokens","total_tokens"}}`` and
``{"rankings":[{"index","logit"}]}`` sorted by logit; the refusals are the texts of public 400
captures from the hosted retrieval API (``{"error": "<message>"}``).

Vectors must be unit length, float32, dense (a real model's coordinates are rarely exactly 0), and
must keep similar texts close, so a retriever replaying these cassettes finds the right passage:
each is the mock's stand-in vector (``nim_mock.synth.vectors``, similarity by shared trigrams and
words) mixed with seeded Gaussian noise at a fifth of its weight, renormalised. ``prompt_tokens``
counts each text's rough tokens plus the two special tokens a BERT-style encoder adds.
"""

from __future__ import annotations

import base64
import math
import random
import struct
from collections.abc import Callable

from _authoring.hosted import gateway_headers
from _authoring.wire import NIM_JSON_HEADERS, Clock, Json, cassette, float32, json_response, ntok, post
from nim_mock.synth.rank import relevance_logit
from nim_mock.synth.vectors import embed_text

E5 = "nvidia/nv-embedqa-e5-v5"
LLAMA_EMBED = "nvidia/llama-3.2-nv-embedqa-1b-v2"
RERANK = "nvidia/llama-3.2-nv-rerankqa-1b-v2"
QUERY = "What is the memory bandwidth of the H100 GPU?"
PASSAGES = [
    "The H100 SXM GPU delivers 3.35 TB/s of memory bandwidth from 80 GB of HBM3.",
    "Paris is lovely in the spring, when the chestnut trees along the boulevards bloom.",
    "The A100 80GB offers over 2 TB/s of memory bandwidth for the largest models.",
]
_NOISE = 0.2


def dense_vector(text: str, dimension: int) -> list[float]:
    """A unit float32 vector near the stand-in's vector for ``text`` (see the module docstring)."""
    rng = random.Random(f"embedding|{dimension}|{text}")
    noise = [rng.gauss(0.0, 1.0) for _ in range(dimension)]
    noise_norm = math.sqrt(math.fsum(x * x for x in noise))
    mixed = [v + _NOISE * n / noise_norm for v, n in zip(embed_text(text, dimension), noise, strict=True)]
    norm = math.sqrt(math.fsum(x * x for x in mixed))
    return [float32(x / norm) for x in mixed]


def _tokens(texts: list[str]) -> int:
    return sum(ntok(text) + 2 for text in texts)


def embeddings_body(model: str, texts: list[str], dimension: int, *, base64_encoded: bool = False) -> Json:
    data = []
    for index, text in enumerate(texts):
        vector = dense_vector(text, dimension)
        embedding: Json = vector
        if base64_encoded:
            embedding = base64.b64encode(struct.pack(f"<{dimension}f", *vector)).decode("ascii")
        data.append({"index": index, "embedding": embedding, "object": "embedding"})
    used = _tokens(texts)
    return {
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": used, "total_tokens": used},
    }


def client_embeddings_request(model: str, texts: list[str], input_type: str) -> Json:
    """The body ``NVIDIAEmbeddings`` sends (its default ``truncate`` is ``"NONE"``)."""
    return {
        "input": texts,
        "model": model,
        "encoding_format": "float",
        "input_type": input_type,
        "truncate": "NONE",
    }


def rankings_body(query: str, passages: list[str]) -> Json:
    scored = sorted(
        ((float32(relevance_logit(query, passage)), index) for index, passage in enumerate(passages)),
        key=lambda pair: (-pair[0], pair[1]),
    )
    return {"rankings": [{"index": index, "logit": logit} for logit, index in scored]}


def rerank_request(query: str, passages: list[str]) -> Json:
    return {"model": RERANK, "query": {"text": query}, "passages": [{"text": p} for p in passages]}


def exchange(
    name: str, description: str, path: str, request: Json, status: int, *, hosted: bool, body: Json
) -> Json:
    """A one-exchange cassette: a self-hosted NIM's headers (uvicorn) or the NVCF gateway's, and a
    plausible time to headers for each (a GPU encoder answers in tens of ms; the gateway adds its hop)."""
    if hosted:
        headers = gateway_headers(name, "fulfilled" if status == 200 else "errored")
        t = Clock(name).jump(120, 480)
    else:
        headers, t = NIM_JSON_HEADERS, Clock(name).jump(9, 45)
    return cassette(
        description, [{"request": post(path, request), "response": json_response(status, headers, t, body)}]
    )


def embed_query() -> Json:
    return exchange(
        "retrieval/embed_query",
        f"NVIDIAEmbeddings.embed_query against a self-hosted NeMo Retriever embedding NIM ({E5}, "
        "FastAPI on uvicorn like NIM 1.x): input_type query, one 1024-dimension float vector.",
        "/v1/embeddings",
        client_embeddings_request(E5, [QUERY], "query"),
        200,
        hosted=False,
        body=embeddings_body(E5, [QUERY], 1024),
    )


def embed_documents() -> Json:
    return exchange(
        "retrieval/embed_documents",
        f"NVIDIAEmbeddings.embed_documents against a self-hosted embedding NIM ({E5}, uvicorn like "
        "NIM 1.x): three passages in one batch, vectors in input order, usage summed over the batch.",
        "/v1/embeddings",
        client_embeddings_request(E5, PASSAGES, "passage"),
        200,
        hosted=False,
        body=embeddings_body(E5, PASSAGES, 1024),
    )


def embed_base64_dimensions() -> Json:
    texts = ["memory bandwidth", "GPU memory"]
    request = {"input": texts, "model": LLAMA_EMBED, "encoding_format": "base64", "dimensions": 384}
    request["input_type"] = "query"
    return exchange(
        "retrieval/embed_base64_dimensions",
        f"The openai SDK's embeddings.create against a self-hosted embedding NIM ({LLAMA_EMBED}, uvicorn "
        "like NIM 1.x): encoding_format base64 (little-endian float32) and dimensions 384 of the "
        "model's 2048 (dynamic embedding sizes).",
        "/v1/embeddings",
        request,
        200,
        hosted=False,
        body=embeddings_body(LLAMA_EMBED, texts, 384, base64_encoded=True),
    )


def rerank() -> Json:
    return exchange(
        "retrieval/rerank",
        f"NVIDIARerank.compress_documents against a self-hosted reranking NIM ({RERANK}, uvicorn like "
        "NIM 1.x): every passage ranked once, sorted by logit, the unrelated one negative.",
        "/v1/ranking",
        rerank_request(QUERY, PASSAGES),
        200,
        hosted=False,
        body=rankings_body(QUERY, PASSAGES),
    )


def hosted_embeddings() -> Json:
    text = "Hosted embedding models live on the API catalog."
    return exchange(
        "retrieval/hosted_embeddings",
        f"NVIDIAEmbeddings on the hosted API catalogue (integrate.api.nvidia.com/v1/embeddings, {E5}): "
        "the NIM's answer behind the NVCF gateway's headers (nvcf-reqid, nvcf-status fulfilled, Vary).",
        "/v1/embeddings",
        client_embeddings_request(E5, [text], "passage"),
        200,
        hosted=True,
        body=embeddings_body(E5, [text], 1024),
    )


def hosted_rerank() -> Json:
    query = "Which GPU has the most memory bandwidth?"
    return exchange(
        "retrieval/hosted_rerank",
        f"NVIDIARerank on the hosted catalogue's per-model endpoint (ai.api.nvidia.com/v1/retrieval/"
        f"nvidia/llama-3_2-nv-rerankqa-1b-v2/reranking, {RERANK}) behind the NVCF gateway's headers.",
        "/v1/retrieval/nvidia/llama-3_2-nv-rerankqa-1b-v2/reranking",
        rerank_request(query, PASSAGES),
        200,
        hosted=True,
        body=rankings_body(query, PASSAGES),
    )


def errors_input_type_missing() -> Json:
    return exchange(
        "errors/embeddings_input_type_missing",
        f"An embeddings request without input_type to an asymmetric model ({E5}) on the hosted "
        'catalogue: 400 {"error": ...} with the retrieval NIM\'s text, through the NVCF gateway.',
        "/v1/embeddings",
        {"input": ["What is NIM?"], "model": E5, "encoding_format": "float"},
        400,
        hosted=True,
        body={"error": "'input_type' parameter is required for asymmetric models"},
    )


def errors_input_too_long() -> Json:
    text = " ".join(["The quick brown fox jumps over the lazy dog."] * 70)
    return exchange(
        "errors/embeddings_input_too_long",
        f"An input over {E5}'s 512-token limit with truncate NONE on the hosted catalogue: 400 "
        '{"error": "Input length N exceeds maximum allowed token size 512"} through the NVCF gateway.',
        "/v1/embeddings",
        client_embeddings_request(E5, [text], "passage"),
        400,
        hosted=True,
        body={"error": f"Input length {ntok(text) + 2} exceeds maximum allowed token size 512"},
    )


SCENARIOS: dict[str, Callable[[], Json]] = {
    "retrieval/embed_query": embed_query,
    "retrieval/embed_documents": embed_documents,
    "retrieval/embed_base64_dimensions": embed_base64_dimensions,
    "retrieval/rerank": rerank,
    "retrieval/hosted_embeddings": hosted_embeddings,
    "retrieval/hosted_rerank": hosted_rerank,
    "errors/embeddings_input_type_missing": errors_input_type_missing,
    "errors/embeddings_input_too_long": errors_input_too_long,
}
