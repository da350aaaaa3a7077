"""Tool-calling scenarios as vLLM 0.9.2 answers them: auto (parser), required and named (guided
decoding), parallel calls, streamed argument fragments, and the turn after a tool result.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from _authoring.wire import (
    EOM_ID,
    Json,
    Stream,
    cassette,
    chat_choice,
    hex32,
    llama_prompt_tokens,
    nim_chat,
    ntok,
    post,
    tool_call,
    user,
)

GET_WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "City name, e.g. Paris"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city"],
        },
    },
}
GET_TIME = {
    "type": "function",
    "function": {
        "name": "get_local_time",
        "description": "Get the current local time in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "description": "City name"}},
            "required": ["city"],
        },
    },
}


# tools


def tools_auto() -> Json:
    name = "tools/auto"
    messages = [user("What's the weather like in Paris right now?")]
    req: dict[str, Json] = {
        "messages": messages,
        "model": "meta/llama-3.3-70b-instruct",
        "temperature": 0.2,
        "max_tokens": 1024,
        "tools": [GET_WEATHER],
        "tool_choice": "auto",
    }
    args = '{"city": "Paris"}'
    call = tool_call(f"chatcmpl-tool-{hex32(name, 'call0')}", "get_weather", args)
    choice = chat_choice(0, None, tool_calls=[call], finish="tool_calls", stop_reason=EOM_ID)
    completion = ntok('{"name": "get_weather", "parameters": ') + ntok(args) + 2
    inter = nim_chat(
        name, req, [choice], llama_prompt_tokens(messages, [GET_WEATHER]), completion, per_token=(18, 30)
    )
    return cassette(
        "Tool call with tool_choice auto, not streamed, meta/llama-3.3-70b-instruct (llama3_json parser). "
        "NIM 1.x / vLLM 0.9.2: content null, tool_calls[].id chatcmpl-tool-<32hex>, arguments a JSON "
        "string with json.dumps spacing, finish_reason tool_calls, stop_reason 128008 (<|eom_id|>).",
        [inter],
    )


def tools_required() -> Json:
    name = "tools/required"
    messages = [user("I'm flying to Tokyo tomorrow. How warm will it be?")]
    req: dict[str, Json] = {
        "messages": messages,
        "model": "meta/llama-3.1-8b-instruct",
        "temperature": 0.2,
        "max_tokens": 1024,
        "tools": [GET_WEATHER],
        "tool_choice": "required",
    }
    generated = '[{"name": "get_weather", "parameters": {"city": "Tokyo", "unit": "celsius"}}]'
    args = json.dumps({"city": "Tokyo", "unit": "celsius"}, ensure_ascii=False)
    call = tool_call(f"chatcmpl-tool-{hex32(name, 'call0')}", "get_weather", args)
    choice = chat_choice(0, "", tool_calls=[call], finish="stop")
    inter = nim_chat(name, req, [choice], llama_prompt_tokens(messages, [GET_WEATHER]), ntok(generated) + 1)
    return cassette(
        'tool_choice "required", not streamed. vLLM 0.9.2 decodes a JSON list of calls with guided '
        'decoding, so content is "" and finish_reason stays "stop"; arguments re-serialised with '
        "json.dumps spacing. NIM 1.x layout.",
        [inter],
    )


def tools_named() -> Json:
    name = "tools/named"
    messages = [user("Check the weather in Berlin for me, in fahrenheit.")]
    req: dict[str, Json] = {
        "messages": messages,
        "model": "meta/llama-3.1-8b-instruct",
        "temperature": 0.2,
        "max_tokens": 1024,
        "tools": [GET_WEATHER],
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
    }
    args = '{"city": "Berlin", "unit": "fahrenheit"}'
    call = tool_call(f"chatcmpl-tool-{hex32(name, 'call0')}", "get_weather", args)
    choice = chat_choice(0, "", tool_calls=[call], finish="stop")
    inter = nim_chat(name, req, [choice], llama_prompt_tokens(messages, [GET_WEATHER]), ntok(args) + 1)
    return cassette(
        "Named tool_choice {type: function, function: {name: get_weather}}, not streamed. vLLM 0.9.2 "
        'guided decoding: the generated text is the arguments object, content "", finish_reason '
        '"stop" (not tool_calls). NIM 1.x layout.',
        [inter],
    )


def tools_parallel() -> Json:
    name = "tools/parallel"
    messages = [
        {"role": "system", "content": "/no_think"},
        user("What's the weather and the local time in Madrid?"),
    ]
    req: dict[str, Json] = {
        "messages": messages,
        "model": "nvidia/llama-3.3-nemotron-super-49b-v1.5",
        "temperature": 0.6,
        "top_p": 0.95,
        "max_tokens": 1024,
        "tools": [GET_WEATHER, GET_TIME],
        "tool_choice": "auto",
        "parallel_tool_calls": True,
    }
    weather = tool_call(f"chatcmpl-tool-{hex32(name, 'call0')}", "get_weather", '{"city": "Madrid"}')
    clock = tool_call(f"chatcmpl-tool-{hex32(name, 'call1')}", "get_local_time", '{"city": "Madrid"}')
    choice = chat_choice(0, None, tool_calls=[weather, clock], finish="tool_calls")
    generated = (
        '<TOOLCALL>[{"name": "get_weather", "arguments": {"city": "Madrid"}}, '
        '{"name": "get_local_time", "arguments": {"city": "Madrid"}}]</TOOLCALL>'
    )
    prompt = llama_prompt_tokens(messages, [GET_WEATHER, GET_TIME])
    inter = nim_chat(name, req, [choice], prompt, ntok(generated) + 1, per_token=(14, 24))
    return cassette(
        "Two tool calls in one answer (parallel_tool_calls) from nvidia/llama-3.3-nemotron-super-49b-v1.5 "
        "with thinking off (/no_think), not streamed. NIM 1.x / vLLM 0.9.2: two tool_calls, each with "
        "its own chatcmpl-tool-<32hex> id, content null, finish_reason tool_calls.",
        [inter],
    )


def tools_stream() -> Json:
    name = "tools/stream_auto"
    messages = [user("Do I need an umbrella in London today?")]
    req: dict[str, Json] = {
        "messages": messages,
        "model": "meta/llama-3.1-8b-instruct",
        "temperature": 0.2,
        "max_tokens": 1024,
        "top_p": 0.7,
        "tools": [GET_WEATHER],
        "tool_choice": "auto",
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    s = Stream(name, req["model"])
    s.role()
    call_id = f"chatcmpl-tool-{hex32(name, 'call0')}"
    # The model writes {"name": "get_weather", "parameters": {"city": "London", "unit": "celsius"}}
    # in 23 tokens. vLLM 0.9.2's llama3_json parser re-parses the partial JSON on every token: the
    # name leaves once its string is closed (token 7), and each argument fragment is the common
    # prefix of the last two json.dumps renderings, so it trails the model by a token or more.
    head = {"id": call_id, "type": "function", "index": 0, "function": {"name": "get_weather"}}
    s.delta({"tool_calls": [head]}, hidden_before=6)  # {" name ": " get _weather | ",
    fragments = [  # (tokens generated without a chunk, the fragment sent with the next token)
        (7, '{"city": "'),  # " parameters ": {" city ": " | London
        (4, "London"),  # ", " unit ": | "
        (0, '", "unit": "'),  # c
        (0, "c"),  # elsius
        (0, 'elsius"}'),  # "}} completes the JSON: the rest of the arguments goes out
    ]
    for hidden, fragment in fragments:
        s.delta({"tool_calls": [{"index": 0, "function": {"arguments": fragment}}]}, hidden_before=hidden)
    s.finish({"tool_calls": [{"index": 0, "function": {"arguments": ""}}]}, "tool_calls", EOM_ID)
    inter = {
        "request": post("/v1/chat/completions", req, stream=True),
        "response": s.end(llama_prompt_tokens(messages, [GET_WEATHER])),
    }
    return cassette(
        "Streamed tool call (tool_choice auto, llama3_json parser), meta/llama-3.1-8b-instruct. NIM 1.x / "
        "vLLM 0.9.2: a name chunk {id, type, index, function: {name}} without arguments, then "
        "argument fragments {index, function: {arguments}}, then a finish chunk flushing an empty "
        "fragment with finish_reason tool_calls; tokens the parser held back count in usage.",
        [inter],
    )


def tools_after_result() -> Json:
    name = "tools/after_result"
    call_id = "chatcmpl-tool-" + hex32("tools/after_result", "earlier-call")
    messages = [
        user("What's the weather in Rome?"),
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": call_id,
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Rome"}'},
                }
            ],
        },
        {
            "role": "tool",
            "content": '{"temperature_c": 24, "condition": "sunny", "humidity": 41}',
            "tool_call_id": call_id,
        },
    ]
    req: dict[str, Json] = {
        "messages": messages,
        "model": "meta/llama-3.1-8b-instruct",
        "temperature": 0.2,
        "max_tokens": 1024,
        "top_p": 0.7,
        "tools": [GET_WEATHER],
    }
    text = "It's sunny in Rome right now, with a temperature of 24 °C and 41% humidity."
    prompt = llama_prompt_tokens(messages, [GET_WEATHER])
    inter = nim_chat(name, req, [chat_choice(0, text)], prompt, ntok(text) + 1)
    return cassette(
        "The turn after a tool result: the request replays the assistant tool_calls message (content "
        "null, as the hosted API requires) and a role tool message (tool_call_id), the model answers "
        "in text. NIM 1.x / vLLM 0.9.2 layout, not streamed.",
        [inter],
    )


SCENARIOS: dict[str, Callable[[], Json]] = {
    "tools/auto": tools_auto,
    "tools/required": tools_required,
    "tools/named": tools_named,
    "tools/parallel": tools_parallel,
    "tools/stream_auto": tools_stream,
    "tools/after_result": tools_after_result,
}
