"""``with_structured_output``: one bound request plus one parser, for each method and schema kind.

Schemas: a Pydantic model (parsed into an instance), a TypedDict or a JSON-schema dict (parsed
into a dict), or an ``Enum`` (parsed into a member). Methods:

- ``function_calling``: the schema becomes the only tool and ``tool_choice`` forces it.
- ``json_schema``: ``response_format={"type": "json_schema", ...}``; or, for servers that only
  know guided decoding (``structured_output_style="guided_json"``), top-level ``guided_json``
  (``guided_choice`` for an Enum).
- ``json_mode``: ``response_format={"type": "json_object"}``; the prompt must ask for the shape.

Each call makes exactly one request: the method decides what is sent, nothing is retried in
another style behind the caller's back (the published client may POST three times).
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Mapping
from operator import itemgetter
from typing import Any, Literal

from langchain_core.language_models import LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.output_parsers import JsonOutputParser, PydanticOutputParser
from langchain_core.output_parsers.openai_tools import JsonOutputKeyToolsParser, PydanticToolsParser
from langchain_core.runnables import Runnable, RunnableLambda, RunnableMap, RunnablePassthrough
from langchain_core.utils.function_calling import convert_to_json_schema, convert_to_openai_tool
from langchain_core.utils.pydantic import is_basemodel_subclass

Method = Literal["function_calling", "json_schema", "json_mode"]
Style = Literal["response_format", "guided_json"]
METHODS: tuple[str, ...] = ("function_calling", "json_schema", "json_mode")


def _is_enum(schema: Any) -> bool:
    return isinstance(schema, type) and issubclass(schema, enum.Enum)


def schema_name(schema: Any) -> str:
    if isinstance(schema, Mapping):
        function = schema.get("function")
        if isinstance(function, Mapping) and function.get("name"):
            return str(function["name"])
        return str(schema.get("title") or schema.get("name") or "response")
    return str(getattr(schema, "__name__", "response"))


def json_schema_of(schema: Any) -> dict[str, Any]:
    """The plain JSON schema of any supported schema kind."""
    if _is_enum(schema):
        return {"title": schema.__name__, "enum": [member.value for member in schema]}
    if isinstance(schema, Mapping) and isinstance(schema.get("function"), Mapping):
        return dict(schema["function"].get("parameters") or {})
    if isinstance(schema, Mapping) and "parameters" in schema and "name" in schema:
        return dict(schema["parameters"])
    try:
        return convert_to_json_schema(schema)
    except (ValueError, TypeError) as exc:
        raise ValueError(
            f"cannot use {schema!r} as an output schema ({exc}); pass a Pydantic model, a TypedDict, "
            "a JSON-schema dict or an Enum"
        ) from exc


def _enum_tool(schema: type[enum.Enum]) -> dict[str, Any]:
    parameters = {
        "type": "object",
        "properties": {"value": {"enum": [member.value for member in schema]}},
        "required": ["value"],
    }
    description = f"Answer with one {schema.__name__} value."
    return {
        "type": "function",
        "function": {"name": schema.__name__, "description": description, "parameters": parameters},
    }


def _enum_from_text(schema: type[enum.Enum]) -> Callable[[BaseMessage], enum.Enum]:
    def parse(message: BaseMessage) -> enum.Enum:
        text = message.text.strip()
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = text  # guided_choice answers with the bare choice, not JSON
        if isinstance(value, Mapping) and "value" in value:
            value = value["value"]
        try:
            return schema(value)
        except ValueError as exc:
            allowed = [member.value for member in schema]
            raise ValueError(f"the model answered {text!r}, which is not one of {allowed}") from exc

    return parse


def _enum_from_tool(schema: type[enum.Enum]) -> Callable[[BaseMessage], enum.Enum]:
    def parse(message: BaseMessage) -> enum.Enum:
        calls = message.tool_calls if isinstance(message, AIMessage) else []
        if not calls:
            raise ValueError(
                f"the model did not call the {schema.__name__} tool (answered {message.text[:80]!r})"
            )
        return schema(calls[0]["args"].get("value"))

    return parse


def _require_tool_call(name: str) -> Callable[[BaseMessage], BaseMessage]:
    """A forced tool call that did not happen is a parsing error, not a silent ``None``."""

    def check(message: BaseMessage) -> BaseMessage:
        calls = message.tool_calls if isinstance(message, AIMessage) else []
        if not any(call["name"] == name for call in calls):
            raise ValueError(f"the model did not call the {name} tool (answered {message.text[:80]!r})")
        return message

    return check


def tool_for(schema: Any, strict: bool | None) -> dict[str, Any]:
    if _is_enum(schema):
        return _enum_tool(schema)
    return convert_to_openai_tool(schema, strict=strict)


def parser_for(schema: Any, method: Method) -> Runnable[BaseMessage, Any]:
    """The output parser that turns the model's answer into the schema's Python shape."""
    if method == "function_calling":
        if _is_enum(schema):
            return RunnableLambda(_enum_from_tool(schema))
        require = RunnableLambda(_require_tool_call(schema_name(schema)))
        if is_basemodel_subclass(schema):
            return require | PydanticToolsParser(tools=[schema], first_tool_only=True)
        return require | JsonOutputKeyToolsParser(key_name=schema_name(schema), first_tool_only=True)
    if _is_enum(schema):
        return RunnableLambda(_enum_from_text(schema))
    if is_basemodel_subclass(schema):
        return PydanticOutputParser(pydantic_object=schema)
    return JsonOutputParser()


def request_kwargs(schema: Any, method: Method, style: Style, strict: bool | None) -> dict[str, Any]:
    """What ``bind`` adds to the request for the ``json_schema`` and ``json_mode`` methods."""
    if method == "json_mode":
        return {"response_format": {"type": "json_object"}}
    if style == "guided_json":
        if _is_enum(schema):
            return {"guided_choice": [str(member.value) for member in schema]}
        return {"guided_json": json_schema_of(schema)}
    spec: dict[str, Any] = {"name": schema_name(schema), "schema": json_schema_of(schema)}
    if strict is not None:
        spec["strict"] = strict
    return {"response_format": {"type": "json_schema", "json_schema": spec}}


def with_parser(
    llm: Runnable[LanguageModelInput, BaseMessage], parser: Runnable[BaseMessage, Any], include_raw: bool
) -> Runnable[LanguageModelInput, Any]:
    """``llm | parser``, or with ``include_raw`` a dict of raw message, parsed value and parsing error."""
    if not include_raw:
        return llm | parser
    parsed = RunnablePassthrough.assign(parsed=itemgetter("raw") | parser, parsing_error=lambda _: None)
    failed = RunnablePassthrough.assign(parsed=lambda _: None)
    return RunnableMap(raw=llm) | parsed.with_fallbacks([failed], exception_key="parsing_error")


def schema_for_trace(schema: Any) -> Any:
    """The JSON schema LangSmith traces show for ``schema``, or None when it has none."""
    try:
        return json_schema_of(schema)
    except ValueError:
        return None
