"""What a client can observe in one answer, as a flat map of named fields: pure, no I/O.

Two servers agree on a case when these maps are equal. They hold the contract, never the wording
or the ids: the status and media type; for an error the nested (or flat) ``type``, ``param`` and
``message``; for an answer its ``object``, the key sets (non-null keys only) of the body, of each
choice and of each message, each ``finish_reason``, tool-call names and argument keys, logprob
shapes and whether usage adds up (``prompt + completion = total``); for a stream its framing (one
``data:`` line per event, the usage chunk with empty ``choices``, ``[DONE]`` last) and the same
facts per choice, assembled from the deltas.

Generated text, ids, timestamps and token counts are left out on purpose: two runs of one engine
differ there, and the test model's text is nonsense by design.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nim_mock.cassettes.canonical import json_type

__all__ = ["Answer", "Observation", "observe"]

Json = Any
"""A value ``json.loads`` can return."""

Observation = dict[str, Json]
"""Field name (``choices[0].finish_reason``) -> observed value; a field is absent when not observed."""

_DONE = b"data: [DONE]"
_DATA = b"data: "


@dataclass(frozen=True, slots=True)
class Answer:
    """One response as it crossed the wire: status, ``content-type`` header and the body's bytes."""

    status: int
    content_type: str | None
    body: bytes


def observe(answer: Answer) -> Observation:
    """The client-visible facts of ``answer`` (see the module docstring for which and why)."""
    media_type = (answer.content_type or "").split(";", 1)[0].strip().lower() or None
    seen: Observation = {"status": answer.status, "media_type": media_type}
    if media_type == "text/event-stream":
        seen.update(_stream(answer.body))
        return seen
    try:
        body = json.loads(answer.body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        seen.update(_text(answer.body))
        return seen
    seen.update(_document(body))
    return seen


def _keys(value: Json) -> list[str] | None:
    """The sorted keys whose value is not null, or ``None`` when ``value`` is not an object."""
    if not isinstance(value, dict):
        return None
    return sorted(key for key, item in value.items() if item is not None)


def _object(value: Json) -> dict[str, Json]:
    """``value`` when it is a JSON object, else an empty one (a missing object reads as no keys)."""
    return value if isinstance(value, dict) else {}


def _text(body: bytes) -> Observation:
    if not body:
        return {"body": "empty"}
    text = body.decode("utf-8", "replace")
    families = sorted(
        {
            line.split()[2]
            for line in text.splitlines()
            if line.startswith("# TYPE ") and len(line.split()) > 2
        }
    )
    if families:  # Prometheus text: which metric families exist is what a scraper sees
        return {"body": "prometheus", "metric_families": families}
    return {"body": "text"}


def _document(body: Json) -> Observation:
    seen: Observation = {"body": json_type(body)}
    if not isinstance(body, dict):
        return seen
    seen["keys"] = _keys(body)
    seen.update(_error(body))
    if "object" in body:
        seen["object"] = body["object"]
    if isinstance(body.get("choices"), list):
        seen["choices.count"] = len(body["choices"])
        for index, choice in enumerate(body["choices"]):
            seen.update(_choice(f"choices[{index}]", choice))
    if "usage" in body:
        seen.update(_usage("usage", body["usage"]))
    if isinstance(body.get("data"), list):
        seen["data.count"] = len(body["data"])
        seen["data.ids"] = [entry.get("id") if isinstance(entry, dict) else None for entry in body["data"]]
        seen["data.keys"] = sorted({json.dumps(_keys(entry)) for entry in body["data"]})
    for key in ("detail", "version"):
        if key in body:
            seen[key] = body[key]
    return seen


def _error(body: Mapping[str, Json]) -> Observation:
    """``type``, ``param`` and ``message`` of an error, nested (vLLM, OpenAI) or flat (NIM 1.x)."""
    nested = body.get("error")
    error = nested if isinstance(nested, dict) else body if body.get("object") == "error" else None
    if error is None:
        return {}
    return {f"error.{key}": error.get(key) for key in ("type", "param", "message", "code")}


def _choice(prefix: str, choice: Json) -> Observation:
    if not isinstance(choice, dict):
        return {prefix: json_type(choice)}
    seen: Observation = {
        f"{prefix}.keys": _keys(choice),
        f"{prefix}.finish_reason": choice.get("finish_reason"),
    }
    message = choice.get("message")
    if isinstance(message, dict):
        seen[f"{prefix}.message.keys"] = _keys(message)
        seen[f"{prefix}.message.role"] = message.get("role")
        seen.update(_content(f"{prefix}.message", message.get("content")))
        if message.get("tool_calls") is not None:
            seen[f"{prefix}.message.tool_calls"] = _tool_calls(message["tool_calls"])
    if "text" in choice:
        seen[f"{prefix}.text"] = json_type(choice["text"])
    if choice.get("logprobs") is not None:
        seen.update(_logprobs(f"{prefix}.logprobs", choice["logprobs"]))
    return seen


def _content(prefix: str, content: Json) -> Observation:
    """The content's JSON type, and its keys when it is a JSON object (structured output)."""
    seen: Observation = {f"{prefix}.content": json_type(content)}
    if isinstance(content, str):
        try:
            parsed = json.loads(content)
        except json.JSONDecodeError:
            return seen
        if isinstance(parsed, dict):
            seen[f"{prefix}.content_json_keys"] = sorted(parsed)
    return seen


def _tool_calls(calls: Json) -> list[Json]:
    """Per call: its non-null keys, the function name and the argument keys (or why there are none)."""
    if not isinstance(calls, list):
        return [json_type(calls)]
    return [_tool_call(call) for call in calls]


def _tool_call(call: Json) -> Json:
    if not isinstance(call, dict):
        return json_type(call)
    function = _object(call.get("function"))
    return {
        "keys": _keys(call),
        "type": call.get("type"),
        "name": function.get("name"),
        "argument_keys": _argument_keys(function.get("arguments")),
    }


def _argument_keys(arguments: Json) -> Json:
    if not isinstance(arguments, str):
        return json_type(arguments)
    try:
        parsed = json.loads(arguments)
    except json.JSONDecodeError:
        return "not JSON"
    return sorted(parsed) if isinstance(parsed, dict) else json_type(parsed)


def _logprobs(prefix: str, logprobs: Json) -> Observation:
    """Key sets and how many alternatives each position offers (chat ``content`` or completions lists)."""
    seen: Observation = {f"{prefix}.keys": _keys(logprobs)}
    if not isinstance(logprobs, dict):
        return seen
    content = logprobs.get("content")
    if isinstance(content, list):
        seen[f"{prefix}.entry_keys"] = sorted({json.dumps(_keys(entry)) for entry in content})
        seen[f"{prefix}.top_counts"] = sorted(
            {
                len(entry["top_logprobs"])
                for entry in content
                if isinstance(entry, dict) and entry.get("top_logprobs") is not None
            }
        )
    top = logprobs.get("top_logprobs")
    if isinstance(top, list):
        seen[f"{prefix}.top_counts"] = sorted({len(entry) for entry in top if isinstance(entry, dict)})
    return seen


def _usage(prefix: str, usage: Json) -> Observation:
    if not isinstance(usage, dict):
        return {prefix: json_type(usage)}
    keys = ("prompt_tokens", "completion_tokens", "total_tokens")
    counts = [count for count in (usage.get(key) for key in keys) if isinstance(count, int)]
    adds_up = len(counts) == len(keys) and counts[0] + counts[1] == counts[2]
    return {f"{prefix}.keys": _keys(usage), f"{prefix}.adds_up": adds_up}


# -- streams ---------------------------------------------------------------------------------------


def _events(body: bytes) -> tuple[list[bytes], bool]:
    """The events of an SSE body (each without its blank line) and whether the last one was closed."""
    normalized = body.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    pieces = normalized.split(b"\n\n")
    closed = pieces[-1] == b""
    return [piece for piece in pieces if piece], closed


def _framing(events: Iterable[bytes], closed: bool) -> str:
    """``data lines`` when every event is exactly one ``data:`` line; otherwise what breaks the rule."""
    for event in events:
        lines = event.split(b"\n")
        if len(lines) > 1:
            return "an event of several lines"
        if not lines[0].startswith(_DATA):
            field = lines[0].split(b":", 1)[0].decode("utf-8", "replace")
            return f"a line of field {field!r}" if field else "a comment line"
    return "data lines" if closed else "unterminated last event"


def _stream(body: bytes) -> Observation:
    events, closed = _events(body)
    seen: Observation = {"stream.framing": _framing(events, closed)}
    done = [index for index, event in enumerate(events) if event == _DONE]
    seen["stream.done"] = "absent" if not done else "last" if done == [len(events) - 1] else "not only last"
    chunks: list[Json] = []
    for event in events:
        if event.startswith(_DATA) and event != _DONE:
            try:
                chunks.append(json.loads(event[len(_DATA) :]))
            except (UnicodeDecodeError, json.JSONDecodeError):
                chunks.append("not JSON")
    seen["stream.chunk_types"] = sorted({json_type(chunk) for chunk in chunks})
    objects = [chunk for chunk in chunks if isinstance(chunk, dict)]
    seen["stream.objects"] = sorted({str(chunk.get("object")) for chunk in objects})
    seen["stream.chunk_keys"] = sorted({json.dumps(_keys(chunk)) for chunk in objects})
    errors = [chunk for chunk in objects if "error" in chunk or chunk.get("object") == "error"]
    if errors:
        seen.update({f"stream.{key}": value for key, value in _error(errors[0]).items()})
    seen.update(_stream_usage(objects))
    seen.update(_stream_choices(objects))
    return seen


def _stream_usage(chunks: Sequence[Mapping[str, Json]]) -> Observation:
    """Where usage travels: a chunk with empty ``choices`` (its position) and/or the token chunks."""
    usage_chunks = [i for i, chunk in enumerate(chunks) if chunk.get("choices") == [] and chunk.get("usage")]
    seen: Observation = {
        "stream.usage_chunk": "absent"
        if not usage_chunks
        else "last"
        if usage_chunks == [len(chunks) - 1]
        else f"{len(usage_chunks)} chunk(s), not last",
        "stream.usage_on_token_chunks": any(chunk.get("choices") and chunk.get("usage") for chunk in chunks),
    }
    if usage_chunks:
        seen.update(_usage("stream.usage", chunks[usage_chunks[-1]]["usage"]))
    return seen


def _stream_choices(chunks: Sequence[Mapping[str, Json]]) -> Observation:
    """Per choice index: keys seen, delta keys, finish reasons, the first delta and assembled tool calls."""
    by_index: dict[str, list[Mapping[str, Json]]] = {}
    for chunk in chunks:
        for choice in chunk.get("choices") or []:
            if isinstance(choice, dict):
                by_index.setdefault(str(choice.get("index")), []).append(choice)
    seen: Observation = {"stream.choice_indices": sorted(by_index)}
    for index, choices in sorted(by_index.items()):
        prefix = f"stream.choices[{index}]"
        deltas = [c["delta"] for c in choices if isinstance(c.get("delta"), dict)]
        seen[f"{prefix}.keys"] = sorted({key for c in choices for key in _keys(c) or []})
        seen[f"{prefix}.finish_reasons"] = [c["finish_reason"] for c in choices if c.get("finish_reason")]
        if deltas:
            seen[f"{prefix}.first_delta_keys"] = _keys(deltas[0])
            seen[f"{prefix}.delta_keys"] = sorted({key for delta in deltas for key in _keys(delta) or []})
            calls = _assembled_calls(deltas)
            if calls:
                seen[f"{prefix}.tool_calls"] = _tool_calls(calls)
        top = [c["logprobs"] for c in choices if c.get("logprobs") is not None]
        if top:
            seen[f"{prefix}.logprobs.keys"] = sorted({key for entry in top for key in _keys(entry) or []})
    return seen


def _assembled_calls(deltas: Iterable[Mapping[str, Json]]) -> list[Json]:
    """Tool calls as a client assembles them: keyed by ``index``, names and argument pieces joined."""
    calls: dict[Json, dict[str, Json]] = {}
    for delta in deltas:
        for piece in delta.get("tool_calls") or []:
            if not isinstance(piece, dict):
                continue
            call = calls.setdefault(piece.get("index"), {"function": {"name": None, "arguments": ""}})
            for key in ("id", "type"):
                if piece.get(key) is not None:
                    call[key] = piece[key]
            function = _object(piece.get("function"))
            if function.get("name"):
                call["function"]["name"] = function["name"]
            if isinstance(function.get("arguments"), str):
                call["function"]["arguments"] += function["arguments"]
    return list(calls.values())
