"""Answering ``POST /v1/embeddings`` no cassette matches: NIM's checks, then stand-in vectors.

The request is read as NeMo Retriever's embedding NIM reads it: ``model`` (one of
:data:`~nim_mock.synth.retrieval_models.EMBEDDING_MODELS`), ``input`` (a string or a non-empty list
of strings, at most the model's ``max_batch``), ``encoding_format`` (``float``, default, or
``base64``), ``input_type`` (``query``/``passage``; required by the asymmetric models), ``truncate``
(``NONE``, default: an input over the model's token limit is a 400; ``END``/``START``: cut from that
end) and ``dimensions`` (only for models with dynamic sizes, 384 up to the full dimension). A model
named with a ``-query`` or ``-passage`` suffix (``NV-Embed-QA-query``) means that ``input_type``, as
NIM documents for OpenAI clients. ``user``
and fields this stand-in does not use are accepted and ignored.

The answer has NIM's shape and key order,
``{"object":"list","data":[{"index","embedding","object":"embedding"}],"model","usage"}``, with
``usage`` ``{prompt_tokens, total_tokens}`` counted by the mock's tokenizer on the texts as embedded
(after truncation). Vectors come from :func:`~nim_mock.synth.vectors.embed_text` (of the truncated
text), so equal inputs embed equally whatever ``input_type`` says.
"""

from __future__ import annotations

from typing import Any

from nim_mock.cassette import RecordedResponse
from nim_mock.cassettes.canonical import a_json_type
from nim_mock.synth.retrieval_fields import choice, known_model, synthesized_json, too_long, truncated
from nim_mock.synth.retrieval_models import EMBEDDING_MODELS, MIN_DYNAMIC_DIMENSION, EmbeddingModel
from nim_mock.synth.tokens import count_tokens
from nim_mock.synth.vectors import embed_text, float32_base64
from nim_mock.wire.errors import Problem, bad_request

__all__ = ["synthesize_embeddings"]


def synthesize_embeddings(body: dict[str, Any]) -> RecordedResponse | Problem:
    """NIM's answer to an embeddings request (a JSON object already), or the error it gives."""
    body, named = _without_mode_suffix(body)
    model = known_model(body, EMBEDDING_MODELS, "embedding")
    if isinstance(model, Problem):
        return model
    texts = _inputs(body, model)
    if isinstance(texts, Problem):
        return texts
    encoding = choice(body, "encoding_format", ("float", "base64"), "float")
    if isinstance(encoding, Problem):
        return encoding
    input_type = choice(body, "input_type", ("query", "passage"), None)
    if isinstance(input_type, Problem):
        return input_type
    truncate = choice(body, "truncate", ("NONE", "START", "END"), "NONE")
    if isinstance(truncate, Problem):
        return truncate
    dimension = _dimension(body, model)
    if isinstance(dimension, Problem):
        return dimension
    if input_type is None and model.input_type_required:
        return bad_request(
            "'input_type' parameter is required for asymmetric models. "
            f"Send 'input_type': 'query' or 'passage' with {model.id}."
        )
    data: list[dict[str, Any]] = []
    used = 0
    for index, text in enumerate(texts):
        if truncate == "NONE":
            cut, count = text, count_tokens(text)
            if count > model.max_tokens:
                return too_long(count, model.max_tokens)
        else:
            cut, count = truncated(text, model.max_tokens, truncate)
        used += count
        vector = embed_text(cut, dimension)
        embedding: Any = float32_base64(vector) if encoding == "base64" else vector
        data.append({"index": index, "embedding": embedding, "object": "embedding"})
    usage = {"prompt_tokens": used, "total_tokens": used}
    return synthesized_json({"object": "list", "data": data, "model": named, "usage": usage})


def _without_mode_suffix(body: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    """``body`` with a ``-query``/``-passage`` model suffix turned into ``input_type`` (NIM's way for
    OpenAI clients, which cannot send it), and the model as the client named it.

    Only for a known model's name plus the suffix; an ``input_type`` the body sends itself wins."""
    named = body.get("model")
    if not isinstance(named, str) or named in EMBEDDING_MODELS:
        return body, named
    for mode in ("query", "passage"):
        base = named.removesuffix(f"-{mode}")
        if base != named and base in EMBEDDING_MODELS:
            return {"input_type": mode, **body, "model": base}, named
    return body, named


def _inputs(body: dict[str, Any], model: EmbeddingModel) -> list[str] | Problem:
    if "input" not in body:
        return bad_request("Field required: 'input' (a string, or a list of strings, to embed).")
    value = body["input"]
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list):
        return bad_request(f"'input' must be a string or a list of strings, got {a_json_type(value)}.")
    if not value:
        return bad_request("'input' must contain at least one string to embed.")
    for index, item in enumerate(value):
        if not isinstance(item, str):
            return bad_request(
                f"'input.{index}' must be a string, got {a_json_type(item)}; this NIM embeds text only."
            )
    if len(value) > model.max_batch:
        return bad_request(
            f"Batch size {len(value)} exceeds the maximum batch size {model.max_batch} of {model.id}. "
            "Send the inputs in smaller batches."
        )
    return value


def _dimension(body: dict[str, Any], model: EmbeddingModel) -> int | Problem:
    value = body.get("dimensions")
    if value is None:
        return model.dimension
    if isinstance(value, bool) or not isinstance(value, int):
        return bad_request(f"'dimensions' must be an integer, got {a_json_type(value)}.")
    if not model.dynamic_dimensions:
        return bad_request(
            f"Model {model.id} does not support dynamic embedding dimensions; its embeddings have "
            f"{model.dimension} dimensions. Leave 'dimensions' out."
        )
    if not model.accepts_dimensions(value):
        return bad_request(
            f"'dimensions' must be between {MIN_DYNAMIC_DIMENSION} and {model.dimension} for {model.id}, "
            f"got {value}."
        )
    return value
