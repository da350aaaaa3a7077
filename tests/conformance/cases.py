"""The battery's requests: one named case per row, valid and invalid, built for one model id.

Every case is sent unchanged to both servers, so the table is the whole specification of the
battery: what a client may send to an OpenAI-compatible NIM (chat, completions, streams, tools,
structured output, every sampling field at, inside and outside its range) and what it may get
wrong (wrong types, missing fields, an unknown model, a context longer than ``max_model_len``
2048, bodies that are not JSON, wrong paths and methods).

Rules the rows keep, because the battery compares answers and replays recordings of them:

* every request is distinct (method, path, body and content type), so a recording of the battery
  answers each case with its own exchange;
* every request carries a ``seed`` (``seed.*`` rows vary it): an engine samples at temperature 1
  unless told otherwise, and a seed makes two runs against one engine draw the same tokens;
* every body can be stored in a cassette and told apart from the others there: no body that is
  not UTF-8 (format v1 stores request bodies as text) and no ``null`` body (a recording keeps
  no body for it, the same as for an empty one);
* structured output uses bounded schemas (enums, booleans, ``maxLength``) and small ``max_tokens``,
  so the tiny test model finishes with ``stop`` (or a predictable ``length``) rather than
  generating until the context is full.

Paths are relative to the base URL (``chat/completions`` under ``http://host:port/v1``); a path
starting with ``/`` is taken from the server's root (``/health``), as in a URL reference.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["DEFAULT_MODEL", "Case", "cases"]

DEFAULT_MODEL = "meta/llama-3.1-8b-instruct"

JSON = "application/json"
PROMPT = "Say hello."
SEED = 7
CONTEXT_LIMIT = 2048
TOO_LONG = "word " * 2500
"""About 2500 tokens for the test model's tokenizer: more than ``max_model_len`` (2048) on its own."""

Json = Any
"""A value ``json.loads`` can return."""


@dataclass(frozen=True, slots=True)
class Case:
    """One request of the battery. ``body`` is sent as JSON; ``raw`` (bytes) is sent as is instead."""

    name: str
    method: str
    path: str
    body: Json = None
    raw: bytes | None = None
    content_type: str | None = JSON

    @property
    def group(self) -> str:
        """The part of the name before the first dot (``chat``, ``stream``, ``tools``...)."""
        return self.name.split(".", 1)[0]


WEATHER_TOOL: Json = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "maxLength": 12}},
            "required": ["city"],
        },
    },
}
TIME_TOOL: Json = {
    "type": "function",
    "function": {
        "name": "get_time",
        "description": "Current time in a time zone.",
        "parameters": {
            "type": "object",
            "properties": {"zone": {"enum": ["UTC", "CET"]}},
            "required": ["zone"],
        },
    },
}
NAMED_WEATHER: Json = {"type": "function", "function": {"name": "get_weather"}}
VERDICT_SCHEMA: Json = {
    "type": "object",
    "properties": {"ok": {"type": "boolean"}, "mood": {"enum": ["calm", "busy"]}},
    "required": ["ok", "mood"],
    "additionalProperties": False,
}
LABEL_SCHEMA: Json = {
    "type": "object",
    "properties": {"label": {"type": "string", "maxLength": 8}},
    "required": ["label"],
    "additionalProperties": False,
}
TOOL_TURN: Json = [
    {"role": "user", "content": "What is the weather in Paris?"},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "chatcmpl-tool-0123456789abcdef",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
            }
        ],
    },
    {"role": "tool", "tool_call_id": "chatcmpl-tool-0123456789abcdef", "content": "done"},
]


_DROP = object()
"""Marks a field the case leaves out of the request body altogether (``model.missing``)."""


def _named(function: str) -> Json:
    return {"type": "function", "function": {"name": function}}


def _user(text: str) -> list[Json]:
    return [{"role": "user", "content": text}]


def _json_schema(schema: Json, name: str = "verdict") -> Json:
    return {"type": "json_schema", "json_schema": {"name": name, "schema": schema}}


def _rows(model: str) -> list[Case]:
    rows: list[Case] = []

    def chat(name: str, prompt: str = PROMPT, **fields: Json) -> None:
        body = {"model": model, "messages": _user(prompt), "seed": SEED, **fields}
        rows.append(Case(name, "POST", "chat/completions", {k: v for k, v in body.items() if v is not _DROP}))

    def stream(name: str, prompt: str = PROMPT, **fields: Json) -> None:
        chat(name, prompt, **{"stream": True, **fields})

    def completion(name: str, prompt: Json = "Hello", **fields: Json) -> None:
        body = {"model": model, "prompt": prompt, "max_tokens": 8, "seed": SEED, **fields}
        rows.append(Case(name, "POST", "completions", {k: v for k, v in body.items() if v is not _DROP}))

    def raw(
        name: str, data: bytes, *, path: str = "chat/completions", content_type: str | None = JSON
    ) -> None:
        rows.append(Case(name, "POST", path, raw=data, content_type=content_type))

    def sampled(**fields: Json) -> dict[str, Json]:
        """A request that asks for sampling on purpose: short, so its random text stays cheap."""
        return {"max_tokens": 12, **fields}

    # -- server state, paths and methods -----------------------------------------------------------
    for name, method, path in (
        ("models.list", "GET", "models"),
        ("models.retrieve", "GET", f"models/{model}"),
        ("models.post", "POST", "models"),
        ("server.health", "GET", "/health"),
        ("server.nim_health_ready", "GET", "health/ready"),
        ("server.version", "GET", "/version"),
        ("server.metrics", "GET", "/metrics"),
        ("path.unknown", "GET", "nonexistent"),
        ("path.typo", "POST", "chat/completion"),
        ("path.no_version", "POST", "/chat/completions"),
        ("method.get_chat", "GET", "chat/completions"),
        ("method.put_chat", "PUT", "chat/completions"),
        ("method.delete_completions", "DELETE", "completions"),
        ("method.get_completions", "GET", "completions"),
    ):
        rows.append(Case(name, method, path, content_type=None))

    # -- plain chat --------------------------------------------------------------------------------
    chat("chat.plain")
    chat("chat.system_then_user", messages=[{"role": "system", "content": "Be brief."}, *_user(PROMPT)])
    chat(
        "chat.multi_turn",
        messages=[
            *_user("Hi there."),
            {"role": "assistant", "content": "Hello from the tiny test model."},
            *_user("And again?"),
        ],
    )
    chat("chat.content_parts", messages=[{"role": "user", "content": [{"type": "text", "text": PROMPT}]}])
    chat("chat.developer_role", messages=[{"role": "developer", "content": "Be brief."}, *_user(PROMPT)])
    chat("chat.name_on_message", messages=[{"role": "user", "content": PROMPT, "name": "ada"}])
    chat("chat.unknown_field_ignored", prompt="Say hello, please.", colour="blue")
    chat("chat.user_field", user="user-1234")
    chat("chat.empty_user_content", prompt="")

    # -- max_tokens / max_completion_tokens --------------------------------------------------------
    chat("max_tokens.one", max_tokens=1)
    chat("max_tokens.three", max_tokens=3)
    chat("max_tokens.context_limit", max_tokens=CONTEXT_LIMIT)
    chat("max_tokens.over_context", max_tokens=CONTEXT_LIMIT + 1)
    chat("max_tokens.zero", max_tokens=0)
    chat("max_tokens.negative", max_tokens=-1)
    chat("max_tokens.float", max_tokens=2.5)
    chat("max_tokens.numeric_string", max_tokens="4")
    chat("max_tokens.word", max_tokens="many")
    chat("max_tokens.null", max_tokens=None)
    chat("max_completion_tokens.two", max_completion_tokens=2)
    chat("max_completion_tokens.zero", max_completion_tokens=0)

    # -- temperature -------------------------------------------------------------------------------
    chat("temperature.zero", temperature=0)
    chat("temperature.inside", **sampled(temperature=0.7))
    chat("temperature.one", **sampled(temperature=1))
    chat("temperature.max", **sampled(temperature=2))
    chat("temperature.over", temperature=2.5)
    chat("temperature.negative", temperature=-0.1)
    chat("temperature.string", temperature="hot")
    chat("temperature.null", temperature=None)
    chat("temperature.bool", temperature=True)

    # -- top_p -------------------------------------------------------------------------------------
    chat("top_p.one", top_p=1)
    chat("top_p.inside", **sampled(top_p=0.5))
    chat("top_p.tiny", **sampled(top_p=0.01))
    chat("top_p.zero", top_p=0)
    chat("top_p.over", top_p=1.5)
    chat("top_p.negative", top_p=-0.5)
    chat("top_p.string", top_p="most")

    # -- n -----------------------------------------------------------------------------------------
    chat("n.one", n=1)
    chat("n.two", **sampled(n=2))
    chat("n.three_with_max_tokens", **sampled(n=3, max_tokens=4))
    chat("n.two_greedy", n=2, temperature=0)
    chat("n.zero", n=0)
    chat("n.negative", n=-1)
    chat("n.float", n=1.5)
    chat("n.over_max", n=20000)

    # -- logprobs / top_logprobs -------------------------------------------------------------------
    chat("logprobs.on", logprobs=True)
    chat("logprobs.off", logprobs=False)
    chat("logprobs.top_zero", logprobs=True, top_logprobs=0)
    chat("logprobs.top_two", logprobs=True, top_logprobs=2)
    chat("logprobs.top_max", logprobs=True, top_logprobs=20, max_tokens=3)
    chat("logprobs.top_over", logprobs=True, top_logprobs=21)
    chat("logprobs.top_negative", logprobs=True, top_logprobs=-1)
    chat("logprobs.top_without_logprobs", top_logprobs=2)
    chat("logprobs.top_with_logprobs_off", logprobs=False, top_logprobs=2)
    chat("logprobs.string", logprobs="yes")

    # -- seed --------------------------------------------------------------------------------------
    chat("seed.absent", seed=_DROP, max_tokens=1)
    chat("seed.zero", **sampled(seed=0))
    chat("seed.large", **sampled(seed=2**31))
    chat("seed.negative", **sampled(seed=-5))
    chat("seed.over_int64", seed=2**64)
    chat("seed.float", seed=1.5)
    chat("seed.string", seed="seven")

    # -- stop --------------------------------------------------------------------------------------
    chat("stop.string", stop="tiny")
    chat("stop.list", stop=["test", "model"])
    chat("stop.unmatched", stop=["zebra"])
    chat("stop.five_strings", stop=["a1", "b2", "c3", "d4", "e5"])
    chat("stop.empty_list", stop=[])
    chat("stop.empty_string", stop="")
    chat("stop.number", stop=5)
    chat("stop.token_ids", stop_token_ids=[5])

    # -- penalties and other sampling fields -------------------------------------------------------
    for field in ("presence_penalty", "frequency_penalty"):
        levels: dict[str, Json] = {
            "min": -2,
            "inside": 0.5,
            "max": 2,
            "over": 2.5,
            "under": -2.5,
            "string": "high",
        }
        for level, value in levels.items():
            chat(f"{field}.{level}", PROMPT, **{field: value})
    chat("repetition_penalty.inside", repetition_penalty=1.1)
    chat("repetition_penalty.zero", repetition_penalty=0)
    chat("top_k.one", top_k=1)
    chat("top_k.disabled", top_k=-1)
    chat("top_k.under", top_k=-2)
    chat("min_p.inside", **sampled(min_p=0.1))
    chat("min_p.over", min_p=1.5)
    chat("logit_bias.valid", logit_bias={"5": -100})
    chat("logit_bias.not_a_map", logit_bias=[1, 2])

    # -- model -------------------------------------------------------------------------------------
    chat("model.unknown", model="nobody/no-such-model")
    chat("model.missing", prompt="Say hello without a model.", model=_DROP)
    chat("model.number", model=42)
    chat("model.null", model=None)
    chat("model.empty", model="")

    # -- messages ----------------------------------------------------------------------------------
    chat("messages.missing", messages=_DROP)
    chat("messages.empty", messages=[])
    chat("messages.string", messages="Say hello.")
    chat("messages.no_role", messages=[{"content": PROMPT}])
    chat("messages.unknown_role", messages=[{"role": "wizard", "content": PROMPT}])
    chat("messages.content_number", messages=[{"role": "user", "content": 5}])
    chat("messages.not_objects", messages=["Say hello."])
    chat(
        "messages.image_part",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is this?"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
                ],
            }
        ],
    )
    chat("context.too_long", prompt=TOO_LONG)
    chat("context.too_long_with_max_tokens", prompt=TOO_LONG, max_tokens=10)
    chat("context.prompt_plus_max_tokens_over", prompt="Say hello at length.", max_tokens=CONTEXT_LIMIT - 10)

    # -- streams -----------------------------------------------------------------------------------
    stream("stream.plain")
    stream("stream.usage", stream_options={"include_usage": True})
    stream("stream.usage_off", stream_options={"include_usage": False})
    stream("stream.continuous_usage", stream_options={"include_usage": True, "continuous_usage_stats": True})
    stream("stream.max_tokens_one", max_tokens=1)
    stream("stream.length_with_usage", max_tokens=3, stream_options={"include_usage": True})
    stream("stream.n_two", **sampled(n=2, stream_options={"include_usage": True}))
    stream("stream.logprobs", logprobs=True, top_logprobs=2, max_tokens=4)
    stream("stream.stop", stop=["tiny"])
    stream("stream.false_explicit", prompt="Say hello once.", stream=False)
    stream("stream.options_without_stream", stream=False, stream_options={"include_usage": True})
    stream("stream.bad_temperature", temperature=-1)
    stream("stream.unknown_model", model="nobody/no-such-model")
    stream("stream.too_long", prompt=TOO_LONG)
    stream("stream.string_flag", prompt="Say hello, streamed.", stream="yes")

    # -- tools -------------------------------------------------------------------------------------
    weather = "What is the weather in Paris?"
    chat("tools.auto", weather, tools=[WEATHER_TOOL])
    chat("tools.auto_explicit", weather, tools=[WEATHER_TOOL], tool_choice="auto")
    chat("tools.required", weather, tools=[WEATHER_TOOL], tool_choice="required")
    chat("tools.named", weather, tools=[WEATHER_TOOL], tool_choice=NAMED_WEATHER)
    chat("tools.none", weather, tools=[WEATHER_TOOL], tool_choice="none")
    chat("tools.two_tools_auto", weather, tools=[WEATHER_TOOL, TIME_TOOL])
    chat("tools.named_second", weather, tools=[WEATHER_TOOL, TIME_TOOL], tool_choice=_named("get_time"))
    chat("tools.parallel_off", weather, tools=[WEATHER_TOOL], parallel_tool_calls=False)
    chat("tools.result_turn", messages=TOOL_TURN, tools=[WEATHER_TOOL])
    chat("tools.result_turn_without_tools", messages=TOOL_TURN)
    chat("tools.choice_without_tools", weather, tool_choice="required")
    chat("tools.named_without_tools", weather, tool_choice=NAMED_WEATHER)
    chat("tools.named_unknown", weather, tools=[WEATHER_TOOL], tool_choice=_named("get_price"))
    chat("tools.choice_bad_string", weather, tools=[WEATHER_TOOL], tool_choice="sometimes")
    chat("tools.not_a_list", weather, tools=WEATHER_TOOL)
    chat("tools.missing_function", weather, tools=[{"type": "function"}])
    chat("tools.empty_list", weather, tools=[])
    stream("tools.stream_auto", weather, tools=[WEATHER_TOOL])
    stream("tools.stream_required", weather, tools=[WEATHER_TOOL], tool_choice="required")
    stream("tools.stream_named", weather, tools=[WEATHER_TOOL], tool_choice=NAMED_WEATHER)
    stream(
        "tools.stream_named_usage",
        weather,
        tools=[WEATHER_TOOL],
        tool_choice=NAMED_WEATHER,
        stream_options={"include_usage": True},
    )
    stream("tools.stream_result_turn", messages=TOOL_TURN, tools=[WEATHER_TOOL])

    # -- structured output -------------------------------------------------------------------------
    judge = "Judge the weather."
    chat("structured.json_schema", judge, response_format=_json_schema(VERDICT_SCHEMA))
    chat("structured.json_schema_max_length", judge, response_format=_json_schema(LABEL_SCHEMA, "label"))
    chat(
        "structured.json_schema_strict",
        judge,
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "verdict", "schema": VERDICT_SCHEMA, "strict": True},
        },
    )
    chat("structured.json_object", judge, response_format={"type": "json_object"}, max_tokens=16)
    chat("structured.text", judge, response_format={"type": "text"})
    chat("structured.unknown_type", judge, response_format={"type": "xml"})
    chat("structured.json_schema_missing", judge, response_format={"type": "json_schema"})
    chat("structured.schema_not_object", judge, response_format=_json_schema("not a schema"))
    chat("structured.choice", judge, structured_outputs={"choice": ["yes", "no"]})
    chat("structured.regex", judge, structured_outputs={"regex": "(sun|rain)"})
    chat("structured.empty_choice", judge, structured_outputs={"choice": []})
    chat("structured.guided_json_ignored", judge, guided_json=VERDICT_SCHEMA, max_tokens=6)
    stream("structured.stream_json_schema", judge, response_format=_json_schema(VERDICT_SCHEMA))

    # -- completions -------------------------------------------------------------------------------
    completion("completions.plain")
    completion("completions.one_token", max_tokens=1)
    completion("completions.stop", stop=["tiny"])
    completion("completions.echo", echo=True, max_tokens=3)
    completion("completions.logprobs", logprobs=2, max_tokens=4)
    completion("completions.logprobs_zero", logprobs=0, max_tokens=4)
    completion("completions.logprobs_over", logprobs=21)
    completion("completions.logprobs_negative", logprobs=-2)
    completion("completions.n_two", **sampled(n=2, max_tokens=4))
    completion("completions.prompt_list", prompt=["Hello", "Hi"], max_tokens=4)
    completion("completions.token_ids", prompt=[5, 6, 7], max_tokens=4)
    completion("completions.prompt_missing", prompt=_DROP)
    completion("completions.prompt_number", prompt=3.5)
    completion("completions.temperature_over", temperature=3)
    completion("completions.top_p_zero", top_p=0)
    completion("completions.max_tokens_zero", max_tokens=0)
    completion("completions.unknown_model", model="nobody/no-such-model")
    completion("completions.too_long", prompt=TOO_LONG)
    completion("completions.stream", stream=True)
    completion("completions.stream_usage", stream=True, stream_options={"include_usage": True}, max_tokens=3)
    completion("completions.messages_instead", prompt=_DROP, messages=_user(PROMPT))

    # -- bodies that are not a JSON object -----------------------------------------------------------
    body = f'{{"model": "{model}", "messages": [{{"role": "user", "content": "Say hello."}}]}}'
    raw("body.truncated", b'{"model": ')
    raw("body.trailing_comma", body[:-1].encode() + b",}")
    raw("body.single_quotes", body.replace('"', "'").encode())
    raw("body.empty", b"")
    raw("body.array", b"[]")
    raw("body.string", b'"Say hello."')
    raw("body.number", b"42")
    raw("body.completions_truncated", b'{"prompt": "Hel', path="completions")
    raw("body.text_plain", body.encode(), content_type="text/plain")
    raw("body.no_content_type", body.replace("hello", "hello there").encode(), content_type=None)
    raw("body.form_encoded", b"model=x&prompt=y", content_type="application/x-www-form-urlencoded")
    return rows


def cases(model: str = DEFAULT_MODEL) -> tuple[Case, ...]:
    """The battery for a server that serves ``model``, in sending order; names are unique."""
    rows = _rows(model)
    names = [row.name for row in rows]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"battery case names must be unique; repeated: {', '.join(duplicates)}")
    return tuple(rows)
