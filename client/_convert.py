"""Messages between LangChain and the OpenAI-style wire format that NIM speaks, both ways.

Pure functions, no I/O: ``to_wire`` runs before every request, ``from_wire`` after every
non-streamed answer, and the unit tests round-trip one through the other.

Content blocks accepted on the way out: plain strings, ``text``, ``image_url`` (a URL or a
``data:`` URI), LangChain v1 ``image`` blocks (``url`` or ``base64`` + ``mime_type``) and the v0
``source_type`` spelling of the same, and ``video_url`` (passed through; a v1 ``video`` block with
a ``url`` becomes one). A string holding ``<img src="data:...">`` is sent as is: some NVIDIA vision
models take images that way. Images uploaded as NVCF assets are referenced as
``data:image/<type>;asset_id,<id>``; :func:`asset_references` collects those ids for the
``NVCF-INPUT-ASSET-REFERENCES`` header the gateway needs to find them.

An assistant turn that only calls tools is sent with ``content: null``: the hosted API rejects
an empty string there ("Empty content is not allowed for assistant messages").
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    ChatMessage,
    FunctionMessage,
    HumanMessage,
    InvalidToolCall,
    SystemMessage,
    ToolCall,
    ToolMessage,
)
from langchain_core.messages.tool import invalid_tool_call, tool_call

from ._thinking import split_answer

_ROLES = MappingProxyType({"human": "user", "ai": "assistant", "system": "system", "tool": "tool"})


def to_wire(messages: Sequence[BaseMessage]) -> list[dict[str, Any]]:
    """Convert LangChain messages to wire dicts; raises ``ValueError`` for what NIM cannot take."""
    return [message_to_wire(message) for message in messages]


def message_to_wire(message: BaseMessage) -> dict[str, Any]:
    if isinstance(message, ChatMessage):
        wire: dict[str, Any] = {"role": message.role, "content": _content(message.content)}
    elif isinstance(message, AIMessage):
        wire = _assistant(message)
    elif isinstance(message, ToolMessage):
        wire = {
            "role": "tool",
            "content": _tool_content(message.content),
            "tool_call_id": message.tool_call_id,
        }
    elif isinstance(message, HumanMessage | SystemMessage):
        wire = {"role": _ROLES[message.type], "content": _content(message.content)}
    elif isinstance(message, FunctionMessage):  # the pre-tools function-calling turn
        wire = {"role": "function", "content": _tool_content(message.content)}
    else:
        raise ValueError(
            f"cannot send a {type(message).__name__} to NIM; use SystemMessage, HumanMessage, "
            "AIMessage, ToolMessage, FunctionMessage or ChatMessage"
        )
    if message.name:
        wire["name"] = message.name
    return wire


def _assistant(message: AIMessage) -> dict[str, Any]:
    text = _text_only(message.content)
    wire: dict[str, Any] = {"role": "assistant", "content": text}
    calls = [_call_to_wire(call["id"], call["name"], json.dumps(call["args"])) for call in message.tool_calls]
    calls += [
        _call_to_wire(bad.get("id"), bad.get("name") or "", bad.get("args") or "")
        for bad in message.invalid_tool_calls
    ]
    if calls:
        wire["tool_calls"] = calls
    function_call = message.additional_kwargs.get("function_call")
    if function_call:  # the pre-tools function-calling API
        wire["function_call"] = function_call
    if not text and (calls or function_call):
        wire["content"] = None
    return wire


def _call_to_wire(call_id: str | None, name: str, arguments: str) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def _text_only(content: str | list[str | dict[Any, Any]]) -> str:
    """Assistant turns go back as plain text: reasoning and other blocks are not replayed."""
    if isinstance(content, str):
        return content
    parts = []
    for block in content:
        if isinstance(block, str):
            parts.append(block)
        elif block.get("type") == "text":
            parts.append(str(block.get("text", "")))
    return "".join(parts)


def _tool_content(content: str | list[str | dict[Any, Any]]) -> str | list[dict[str, Any]]:
    if isinstance(content, str):
        return content
    converted = [_block(block) for block in content]
    if all(block["type"] == "text" for block in converted):
        return "".join(block["text"] for block in converted)
    return converted


def _content(content: str | list[str | dict[Any, Any]]) -> str | list[dict[str, Any]]:
    if isinstance(content, str):
        return content
    return [_block(block) for block in content]


def _block(block: str | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(block, str):
        return {"type": "text", "text": block}
    kind = block.get("type")
    if kind == "text":
        return {"type": "text", "text": block.get("text", "")}
    if kind == "image_url":
        return {"type": "image_url", "image_url": _image_url(block.get("image_url"))}
    if kind == "image":
        return {"type": "image_url", "image_url": {"url": _image_block_url(block)}}
    if kind == "video_url":
        return dict(block)
    if kind == "video" and isinstance(block.get("url"), str):
        return {"type": "video_url", "video_url": {"url": block["url"]}}
    raise ValueError(
        f"content block type {kind!r} is not supported by ChatNVIDIA; use 'text', 'image_url', 'image', "
        "'video_url' or a 'video' block with a 'url'"
    )


def _image_url(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        return {"url": _checked_image_url(value)}
    if isinstance(value, Mapping) and isinstance(value.get("url"), str):
        detail = value.get("detail")
        if detail is not None and detail not in ("auto", "low", "high"):
            raise ValueError(f"image_url detail {detail!r} is not one of 'auto', 'low', 'high'")
        _checked_image_url(value["url"])
        return dict(value)
    raise ValueError("an 'image_url' block needs {'image_url': {'url': 'https://... or data:...'}}")


def _checked_image_url(url: str) -> str:
    """An http(s) URL or a ``data:image/`` URI, as the published client insists; a file path or
    another scheme would only fail at the server, with a less helpful message."""
    parts = urlsplit(url)
    if (parts.scheme in ("http", "https") and parts.netloc) or url.startswith("data:image/"):
        return url
    raise ValueError(
        f"image URL {url[:60]!r} is neither http(s):// nor data:image/...: for a local file, read it "
        "and pass a data:image/png;base64,... URI (or a LangChain image block with base64 and mime_type)"
    )


def _image_block_url(block: Mapping[str, Any]) -> str:
    """The URL of a LangChain ``image`` block, v1 (``url``/``base64``) or v0 (``source_type``)."""
    source = block.get("source_type")
    url = block.get("url") if source in (None, "url") else None
    if isinstance(url, str):
        return _checked_image_url(url)
    data = block.get("base64") if source is None else block.get("data")
    mime = block.get("mime_type")
    if isinstance(data, str) and isinstance(mime, str):
        return f"data:{mime};base64,{data}"
    if isinstance(data, str):
        raise ValueError("an 'image' block with base64 data needs 'mime_type', e.g. 'image/png'")
    raise ValueError(
        "an 'image' block needs 'url', or 'base64' with 'mime_type' (file ids are not supported)"
    )


_ASSET_ID = re.compile(r"data:image/[^;]+;asset_id,([^\"'\s]+)")


def asset_references(messages: Iterable[Mapping[str, Any]]) -> list[str]:
    """Ids of NVCF assets the wire messages refer to, in order: ``image_url`` parts and ``<img>``
    tags in text whose URL is ``data:image/<type>;asset_id,<id>``."""
    found: list[str] = []
    for message in messages:
        content = message.get("content")
        parts = [content] if isinstance(content, str) else content if isinstance(content, list) else []
        for part in parts:
            if isinstance(part, str):
                found += _ASSET_ID.findall(part)
            elif isinstance(part, Mapping):
                text = part.get("text")
                image = part.get("image_url")
                url = image.get("url") if isinstance(image, Mapping) else image
                for value in (text, url):
                    if isinstance(value, str):
                        found += _ASSET_ID.findall(value)
    return found


def to_nv_vlm(messages: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The NVIDIA vision layout (``nv-vlm`` models): ``image_url`` is the URL itself, not ``{url}``."""
    converted = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, list):
            content = [
                {**part, "image_url": part["image_url"]["url"]}
                if isinstance(part, Mapping) and isinstance(part.get("image_url"), Mapping)
                else part
                for part in content
            ]
        converted.append({**message, "content": content})
    return converted


def parse_tool_calls(raw_calls: Any) -> tuple[list[ToolCall], list[InvalidToolCall]]:
    """Split wire ``tool_calls`` into valid calls and ones whose arguments are not a JSON object."""
    calls: list[ToolCall] = []
    invalid: list[InvalidToolCall] = []
    for raw in raw_calls or []:
        function = raw.get("function") or {}
        name = function.get("name")
        arguments = function.get("arguments")
        call_id = raw.get("id")
        if isinstance(arguments, dict):
            calls.append(tool_call(name=name or "", args=arguments, id=call_id))
            continue
        try:
            args = json.loads(arguments) if arguments else {}
        except (json.JSONDecodeError, TypeError) as exc:
            invalid.append(
                invalid_tool_call(name=name, args=arguments, id=call_id, error=f"invalid JSON: {exc}")
            )
            continue
        if isinstance(args, dict) and isinstance(name, str):
            calls.append(tool_call(name=name, args=args, id=call_id))
        else:
            invalid.append(
                invalid_tool_call(
                    name=name, args=arguments, id=call_id, error="arguments are not a JSON object"
                )
            )
    return calls, invalid


def reasoning_of(message: Mapping[str, Any]) -> tuple[str | None, str]:
    """``(reasoning, content)`` of a wire message: the reasoning field wins, else a ``<think>`` block."""
    content = message.get("content") or ""
    reasoning = message.get("reasoning_content") or message.get("reasoning")
    thought, content = split_answer(content)
    if thought and not reasoning:
        reasoning = thought
    elif thought:
        reasoning = f"{reasoning}{thought}"
    return (reasoning if isinstance(reasoning, str) and reasoning else None), content


def from_wire(message: Mapping[str, Any]) -> BaseMessage:
    """Convert one wire message dict to the LangChain message of its role."""
    role = message.get("role", "assistant")
    name = message.get("name")
    if role == "assistant":
        reasoning, content = reasoning_of(message)
        raw_calls = message.get("tool_calls")
        calls, invalid = parse_tool_calls(raw_calls)
        extra: dict[str, Any] = {"reasoning_content": reasoning} if reasoning else {}
        if raw_calls:  # the wire form too, where ChatOpenAI and the published client put it
            extra["tool_calls"] = list(raw_calls)
        # ``role`` is not an AIMessage field; the published client sets it (a pre-0.2 ChatMessage
        # leftover that code still reads as ``message.role``), and messages take extra attributes.
        return AIMessage(
            content=content,
            tool_calls=calls,
            invalid_tool_calls=invalid,
            additional_kwargs=extra,
            name=name,
            role="assistant",
        )
    raw_content = message.get("content")
    content = "" if raw_content is None else raw_content
    if role == "user":
        return HumanMessage(content=content, name=name)
    if role == "system":
        return SystemMessage(content=content, name=name)
    if role == "tool":
        return ToolMessage(content=content, tool_call_id=message.get("tool_call_id", ""), name=name)
    return ChatMessage(role=role, content=content, name=name)
