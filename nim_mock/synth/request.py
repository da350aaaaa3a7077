"""Reading a chat or completions request for synthesis: the fields that shape the answer, checked.

The endpoint has already refused what every NIM refuses (content type, JSON syntax, a missing
``messages``) and what the mock cannot carry (deep nesting, lone surrogates); this reads the rest
the way vLLM's request model does and answers a field of the wrong shape with a 400 naming it, so
a bad request never gets a made-up 200. A schema (``guided_json``, ``response_format``, a tool's
``parameters``) is checked keyword by keyword when an answer is made from it (``keywords``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from nim_mock.cassettes.canonical import MAX_JSON_DEPTH, json_depth, lone_surrogate_at
from nim_mock.wire.errors import Problem, bad_request

__all__ = ["Structured", "SynthRequest", "Tool", "ToolResult", "read_request"]

_COMPLETIONS_DEFAULT_MAX_TOKENS = 16
"""vLLM's (and OpenAI's) default ``max_tokens`` for the legacy completions endpoint."""
_MAX_N = 128


@dataclass(frozen=True, slots=True)
class Tool:
    name: str
    parameters: Any


@dataclass(frozen=True, slots=True)
class ToolResult:
    """One tool message after the model's last call: the tool's name (from that call) and its text."""

    name: str
    text: str


@dataclass(frozen=True, slots=True)
class Structured:
    """What the content must be: ``schema`` (a JSON schema), ``object`` (JSON mode), a choice or regex."""

    kind: str
    value: Any = None


@dataclass(frozen=True, slots=True)
class SynthRequest:
    chat: bool
    model: str
    prompt_text: str
    """The last user message (chat) or the last prompt string (completions): what rules match."""
    last_role: str
    messages: tuple[Any, ...]
    prompt: str
    n: int
    max_tokens: int | None
    stop: tuple[str, ...]
    stream: bool
    include_usage: bool
    tools: tuple[Tool, ...]
    tool_choice: str | None
    """``None`` (no tools offered), ``"none"``, ``"auto"``, ``"required"`` or ``"named"``."""
    named_tool: str | None
    structured: Structured | None
    parallel_tool_calls: bool = True
    """OpenAI's and vLLM's default: the model may answer with several calls at once."""
    instructions: str = ""
    """The system (and developer) messages' text, where prompts put switches, schemas and examples."""
    thinking_param: bool | None = None
    """A request parameter's reasoning switch (``chat_template_kwargs``, ``reasoning_effort``):
    ``True`` on, ``False`` off, ``None`` when the request sets none."""
    tool_results: tuple[ToolResult, ...] = ()
    """The tool messages that end the conversation (empty unless the last message is a tool's)."""


class _Refused(Exception):
    def __init__(self, problem: Problem) -> None:
        self.problem = problem


def read_request(body: dict[str, Any], *, chat: bool, default_model: str) -> SynthRequest | Problem:
    """The request's answer-shaping fields, or the 400 a NIM gives for the first bad one."""
    try:
        return _read(body, chat=chat, default_model=default_model)
    except _Refused as refused:
        return refused.problem


def _refuse(message: str) -> _Refused:
    return _Refused(bad_request(message))


def _read(body: dict[str, Any], *, chat: bool, default_model: str) -> SynthRequest:
    model = body.get("model", default_model)
    if not isinstance(model, str) or not model:
        raise _refuse("'model' must be a non-empty string naming the model, e.g. meta/llama-3.1-8b-instruct.")
    stream = _optional(body, "stream", bool, False)
    options = body.get("stream_options")
    include_usage = False
    if options is not None:
        if not stream:
            raise _refuse("Stream options can only be defined when `stream=True`.")
        if not isinstance(options, dict):
            raise _refuse("'stream_options' must be an object like {\"include_usage\": true}.")
        include_usage = _optional(options, "include_usage", bool, False)
    n = _optional(body, "n", int, 1)
    if not 1 <= n <= _MAX_N:
        raise _refuse(f"'n' must be between 1 and {_MAX_N}, got {n}.")
    default_max = None if chat else _COMPLETIONS_DEFAULT_MAX_TOKENS
    max_tokens = _optional(body, "max_completion_tokens", int, None)
    if max_tokens is None:
        max_tokens = _optional(body, "max_tokens", int, default_max)
    if max_tokens is not None and max_tokens < 1:
        raise _refuse(f"max_tokens must be at least 1, got {max_tokens}.")
    stop = _stop(body.get("stop"))
    if chat:
        messages = tuple(_messages(body["messages"]))
        last_user = next((m for m in reversed(messages) if m.get("role") == "user"), None)
        prompt_text = _text(last_user.get("content")) if last_user is not None else ""
        last_role = str(messages[-1].get("role"))
        prompt = ""
        instructions = "\n".join(
            _text(m.get("content")) for m in messages if m.get("role") in ("system", "developer")
        )
    else:
        messages, last_role, instructions = (), "user", ""
        prompt = _prompt(body.get("prompt"))
        prompt_text = prompt
    tools = _tools(body.get("tools")) if chat else ()
    tool_choice, named = _tool_choice(body.get("tool_choice"), tools)
    return SynthRequest(
        chat=chat,
        model=model,
        prompt_text=prompt_text,
        last_role=last_role,
        messages=messages,
        prompt=prompt,
        n=n,
        max_tokens=max_tokens,
        stop=stop,
        stream=stream,
        include_usage=include_usage,
        tools=tools,
        tool_choice=tool_choice,
        named_tool=named,
        structured=_structured(body),
        parallel_tool_calls=_optional(body, "parallel_tool_calls", bool, True),
        instructions=instructions,
        thinking_param=_thinking_param(body),
        tool_results=_tool_results(messages),
    )


def _optional(body: dict[str, Any], key: str, kind: type, default: Any) -> Any:
    value = body.get(key)
    if value is None:
        return default
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise _refuse(f"'{key}' must be an integer, got {json.dumps(value)}.")
    if not isinstance(value, kind):
        raise _refuse(
            f"'{key}' must be a {kind.__name__.replace('bool', 'boolean')}, got {json.dumps(value)}."
        )
    return value


def _stop(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,) if value else ()
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(v for v in value if v)
    raise _refuse("'stop' must be a string or a list of strings.")


def _messages(value: list[Any]) -> list[dict[str, Any]]:
    for index, message in enumerate(value):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise _refuse(f"messages[{index}] must be an object with a 'role' string.")
    return value


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            part["text"] for part in content if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
    return ""


def _thinking_param(body: dict[str, Any]) -> bool | None:
    """The reasoning switch a request parameter carries, in the spellings NIM chat templates read:
    ``chat_template_kwargs`` ``enable_thinking``/``thinking`` (booleans) or ``thinking_mode``
    (``enabled``/``disabled``), and ``reasoning_effort`` (any level is on)."""
    kwargs = body.get("chat_template_kwargs")
    if isinstance(kwargs, dict):
        for key in ("enable_thinking", "thinking"):
            if isinstance(kwargs.get(key), bool):
                return bool(kwargs[key])
        mode = kwargs.get("thinking_mode")
        if mode in ("enabled", "disabled"):
            return bool(mode == "enabled")
    effort = body.get("reasoning_effort")
    if isinstance(effort, str):
        return effort not in ("none", "")
    return None


def _tool_results(messages: tuple[dict[str, Any], ...]) -> tuple[ToolResult, ...]:
    """The trailing tool messages, each named after the call it answers (its ``tool_call_id``)."""
    trailing: list[dict[str, Any]] = []
    for message in reversed(messages):
        if message.get("role") != "tool":
            break
        trailing.append(message)
    if not trailing:
        return ()
    names: dict[str, str] = {}
    for message in messages:
        calls = message.get("tool_calls") if message.get("role") == "assistant" else None
        for call in calls if isinstance(calls, list) else ():
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict) and isinstance(function.get("name"), str):
                names[str(call.get("id"))] = function["name"]
    return tuple(
        ToolResult(
            names.get(str(message.get("tool_call_id")), str(message.get("name") or "the tool")),
            _text(message.get("content")),
        )
        for message in reversed(trailing)
    )


def _prompt(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return str(value[-1])
    if (
        isinstance(value, list)
        and value
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        return " ".join(str(v) for v in value)  # token ids: nothing for rules to read, still counted
    raise _refuse("'prompt' is required: a string, a list of strings or a list of token ids.")


def _tools(value: Any) -> tuple[Tool, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _refuse('\'tools\' must be a list of {"type": "function", "function": {...}} objects.')
    tools = []
    for index, tool in enumerate(value):
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise _refuse(f'tools[{index}] must be {{"type": "function", "function": {{"name": ...}}}}.')
        parameters = function.get("parameters", {"type": "object", "properties": {}})
        if not isinstance(parameters, dict):
            raise _refuse(f"tools[{index}].function.parameters must be a JSON schema object.")
        tools.append(Tool(function["name"], parameters))
    return tuple(tools)


def _tool_choice(value: Any, tools: tuple[Tool, ...]) -> tuple[str | None, str | None]:
    names = [tool.name for tool in tools]
    if value is None:
        return ("auto" if tools else None), None
    if value in ("none", "auto", "required"):
        if value == "required" and not tools:
            raise _refuse("tool_choice 'required' needs at least one tool in 'tools'.")
        return str(value), None
    function = value.get("function") if isinstance(value, dict) else None
    if isinstance(function, dict) and isinstance(function.get("name"), str):
        name = function["name"]
        if name not in names:
            raise _refuse(f"Tool '{name}' named in tool_choice is not among the tools passed in `tools`.")
        return "named", name
    raise _refuse(
        "'tool_choice' must be 'none', 'auto', 'required' or "
        '{"type": "function", "function": {"name": ...}}.'
    )


def _structured(body: dict[str, Any]) -> Structured | None:
    """The output constraint, in vLLM's precedence: guided_* first, then response_format, then nvext."""
    raw_nvext = body.get("nvext")
    nvext: dict[str, Any] = raw_nvext if isinstance(raw_nvext, dict) else {}
    for source in (body, nvext):
        if source.get("guided_json") is not None:
            return Structured("schema", _schema(source["guided_json"], "guided_json"))
        choice = source.get("guided_choice")
        if choice is not None:
            if not isinstance(choice, list) or not choice or not all(isinstance(c, str) for c in choice):
                raise _refuse("'guided_choice' must be a non-empty list of strings.")
            return Structured("choice", choice)
        regex = source.get("guided_regex")
        if regex is not None:
            if not isinstance(regex, str):
                raise _refuse("'guided_regex' must be a string.")
            return Structured("regex", regex)
        if source is body:
            found = _response_format(body.get("response_format"))
            if found is not None:
                return found
    return None


def _response_format(value: Any) -> Structured | None:
    if value is None:
        return None
    kind = value.get("type") if isinstance(value, dict) else None
    if kind == "text":
        return None
    if kind == "json_object":
        return Structured("object")
    if kind == "json_schema":
        spec = value.get("json_schema")
        if not isinstance(spec, dict) or "schema" not in spec:
            raise _refuse(
                'response_format json_schema needs {"json_schema": {"name": ..., "schema": {...}}}.'
            )
        return Structured("schema", _schema(spec["schema"], "response_format.json_schema.schema"))
    raise _refuse("'response_format' type must be 'text', 'json_object' or 'json_schema'.")


def _schema(value: Any, where: str) -> Any:
    if isinstance(value, str):  # guided_json may be sent as a JSON string: read as a body is
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            raise _refuse(f"'{where}' is a string but not JSON; send a JSON schema object.") from None
        if json_depth(value) > MAX_JSON_DEPTH:
            raise _refuse(f"'{where}' nests deeper than the {MAX_JSON_DEPTH} levels the mock reads.")
        surrogate = lone_surrogate_at(value)
        if surrogate is not None:
            raise _refuse(
                f"'{where}' holds a lone surrogate at {surrogate or 'the top'}; UTF-8 cannot carry it."
            )
    if not isinstance(value, dict | bool):
        raise _refuse(f"'{where}' must be a JSON schema object.")
    return value
