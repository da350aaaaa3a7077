"""Tools for ``bind_tools``: LangChain tools to OpenAI function dicts, and ``tool_choice`` to the wire.

NIM (vLLM) accepts ``tool_choice`` as ``"none"``, ``"auto"``, ``"required"`` or
``{"type": "function", "function": {"name": ...}}``. LangChain code also says ``"any"`` or
``True`` for "some tool" and a bare tool name for "this tool"; they are mapped here, and a name
that is not among the bound tools is refused before anything is sent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool

ToolLike = Mapping[str, Any] | type | Callable[..., Any] | BaseTool
ToolChoice = str | bool | Mapping[str, Any] | None

_KEYWORDS = MappingProxyType({"auto": "auto", "none": "none", "required": "required", "any": "required"})


def format_tools(tools: Sequence[ToolLike]) -> list[dict[str, Any]]:
    """Every tool as ``{"type": "function", "function": {...}}``; raises ``ValueError`` naming a bad one."""
    formatted = []
    for tool in tools:
        try:
            formatted.append(convert_to_openai_tool(tool))
        except (ValueError, TypeError) as exc:
            raise ValueError(
                f"cannot use {tool!r} as a tool ({exc}); pass a @tool function, a BaseTool, "
                "a Pydantic model, a TypedDict or an OpenAI function dict"
            ) from exc
    return formatted


def tool_names(tools: Sequence[Mapping[str, Any]]) -> list[str]:
    return [str(tool["function"]["name"]) for tool in tools if "function" in tool]


def to_wire_choice(choice: ToolChoice, names: Sequence[str]) -> str | dict[str, Any] | None:
    """Map a LangChain ``tool_choice`` to NIM's; ``None`` means "leave it to the server"."""
    if choice is None:
        return None
    if choice is True:
        return "required"
    if choice is False:
        return "none"
    if isinstance(choice, str):
        if choice in _KEYWORDS:
            return _KEYWORDS[choice]
        return _named(choice, names)
    if isinstance(choice, Mapping):
        # {"function": {"name": ...}} without "type" is a function choice, as the published client reads it
        function = choice.get("function")
        if (
            choice.get("type", "function") == "function"
            and isinstance(function, Mapping)
            and function.get("name")
        ):
            return _named(str(function["name"]), names)
    raise ValueError(
        f"tool_choice {choice!r} is not understood; use 'auto', 'none', 'required', 'any', True, "
        "a tool name, or {'type': 'function', 'function': {'name': ...}}"
    )


def _named(name: str, names: Sequence[str]) -> dict[str, Any]:
    if name not in names:
        # "not found in the tools list" is the published client's wording, which callers match on
        raise ValueError(
            f"tool_choice {name!r} not found in the tools list {list(names)}: bind it, or name one of those"
        )
    return {"type": "function", "function": {"name": name}}


def with_strict(tool: dict[str, Any], strict: bool | None) -> dict[str, Any]:
    """``tool`` with ``function.strict`` set, or unchanged when ``strict`` is None (the server's default)."""
    if strict is None:
        return tool
    return {**tool, "function": {**tool["function"], "strict": strict}}
