"""Structured output, image input and reasoning scenarios (NIM 1.x / vLLM 0.9.2 layout)."""

from __future__ import annotations

import base64
import struct
import zlib
from collections.abc import Callable

from _authoring.wire import (
    Json,
    Stream,
    cassette,
    chat_choice,
    llama_prompt_tokens,
    nim_chat,
    ntok,
    post,
    tokens,
    user,
)

# structured output

PERSON_SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "born": {"type": "integer"},
        "field": {"type": "string"},
    },
    "required": ["name", "born", "field"],
    "additionalProperties": False,
}


def structured_json_schema() -> Json:
    name = "structured/json_schema"
    messages = [user("Who wrote the first published computer program? Reply as JSON.")]
    req: dict[str, Json] = {
        "messages": messages,
        "model": "meta/llama-3.3-70b-instruct",
        "temperature": 0,
        "max_tokens": 1024,
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "response", "schema": PERSON_SCHEMA, "strict": True},
        },
    }
    text = '{"name": "Ada Lovelace", "born": 1815, "field": "mathematics"}'
    inter = nim_chat(
        name, req, [chat_choice(0, text)], llama_prompt_tokens(messages), ntok(text) + 1, per_token=(18, 30)
    )
    return cassette(
        "Structured output with response_format json_schema (the shape ChatNVIDIA.with_structured_output "
        "sends: name response, strict true). NIM 1.x / vLLM 0.9.2 guided decoding: content is the JSON "
        "text, finish_reason stop.",
        [inter],
    )


def structured_guided_json() -> Json:
    name = "structured/guided_json"
    messages = [user("Extract the city and country from: 'I just landed in Lyon, France.'")]
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "country": {"type": "string"}},
        "required": ["city", "country"],
    }
    req: dict[str, Json] = {
        "messages": messages,
        "model": "meta/llama-3.1-8b-instruct",
        "temperature": 0,
        "max_tokens": 256,
        "guided_json": schema,
    }
    text = '{"city": "Lyon", "country": "France"}'
    inter = nim_chat(name, req, [chat_choice(0, text)], llama_prompt_tokens(messages), ntok(text) + 1)
    return cassette(
        "Structured output with top-level guided_json (later NIM 1.x docs; vLLM <= 0.9 extension). "
        "NIM 1.x / vLLM 0.9.2 layout, not streamed.",
        [inter],
    )


def structured_json_mode() -> Json:
    name = "structured/json_mode"
    messages = [
        {"role": "system", "content": "Reply with a JSON object only."},
        user("Give me the RGB values of teal."),
    ]
    req: dict[str, Json] = {
        "messages": messages,
        "model": "meta/llama-3.1-8b-instruct",
        "temperature": 0,
        "max_tokens": 256,
        "response_format": {"type": "json_object"},
    }
    text = '{"color": "teal", "r": 0, "g": 128, "b": 128}'
    inter = nim_chat(name, req, [chat_choice(0, text)], llama_prompt_tokens(messages), ntok(text) + 1)
    return cassette(
        "JSON mode: response_format {type: json_object}. NIM 1.x / vLLM 0.9.2 layout, not streamed.",
        [inter],
    )


# --------------------------------------------------------------------------------------------
# images (meta/llama-3.2-11b-vision-instruct: each image tile adds 1601 encoder tokens to the prompt)


def tiny_png() -> str:
    """A real 8x8 RGB PNG (solid NVIDIA green), built here so the bytes are reviewable."""
    width = height = 8
    raw = b"".join(b"\x00" + bytes([118, 185, 0]) * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )
    return base64.b64encode(png).decode("ascii")


def image_message(question: str, url: str) -> Json:
    return {
        "role": "user",
        "content": [{"type": "text", "text": question}, {"type": "image_url", "image_url": {"url": url}}],
    }


def images_url() -> Json:
    name = "images/url"
    messages = [
        image_message(
            "What animal is in this picture?", "https://upload.wikimedia.org/wikipedia/commons/3/3a/Cat03.jpg"
        )
    ]
    req: dict[str, Json] = {
        "messages": messages,
        "model": "meta/llama-3.2-11b-vision-instruct",
        "temperature": 0.2,
        "max_tokens": 512,
    }
    text = "The picture shows a cat: a tabby with green eyes, looking straight at the camera."
    prompt = llama_prompt_tokens(messages) - 26 + 1 + 4 * 1601  # <|image|> + 4 tiles of encoder tokens
    inter = nim_chat(name, req, [chat_choice(0, text)], prompt, ntok(text) + 1, per_token=(10, 16))
    return cassette(
        "Image input by https URL (content parts text + image_url) to meta/llama-3.2-11b-vision-instruct, "
        "not streamed. NIM 1.x / vLLM 0.9.2 layout; prompt_tokens include 4 tiles x 1601 encoder tokens.",
        [inter],
    )


def images_base64() -> Json:
    name = "images/base64"
    url = "data:image/png;base64," + tiny_png()
    messages = [image_message("What color is this image?", url)]
    req: dict[str, Json] = {
        "messages": messages,
        "model": "meta/llama-3.2-11b-vision-instruct",
        "temperature": 0.2,
        "max_tokens": 512,
    }
    text = "The image is a solid, bright green square with no other details."
    prompt = llama_prompt_tokens(messages) - 26 + 1 + 1601  # a tiny image is a single tile
    inter = nim_chat(name, req, [chat_choice(0, text)], prompt, ntok(text) + 1, per_token=(10, 16))
    return cassette(
        "Image input as a base64 data URI (a real 8x8 PNG) to meta/llama-3.2-11b-vision-instruct, not "
        "streamed. NIM 1.x / vLLM 0.9.2 layout; prompt_tokens include one 1601-token tile.",
        [inter],
    )


# --------------------------------------------------------------------------------------------
# reasoning (deepseek-ai/deepseek-r1 behind vLLM's deepseek_r1 reasoning parser)

R1_REASONING = (
    "Okay, the user wants to know which number is larger: 9.11 or 9.9. Let me compare the decimal parts. "
    "9.9 is the same as 9.90, and 90 hundredths is more than 11 hundredths. So 9.9 is larger.\n"
)
R1_ANSWER = "\n\n**9.9 is larger.** Written with two decimals it is 9.90, and 0.90 > 0.11."


def r1_prompt(messages: list[Json]) -> int:
    # <｜begin▁of▁sentence｜><｜User｜>...<｜Assistant｜><think>\n
    return 1 + sum(1 + ntok(m["content"]) for m in messages) + 3


def reasoning_nonstream() -> Json:
    name = "reasoning/nonstream"
    messages = [user("Which is larger, 9.11 or 9.9?")]
    req: dict[str, Json] = {
        "messages": messages,
        "model": "deepseek-ai/deepseek-r1",
        "temperature": 0.6,
        "top_p": 0.95,
        "max_tokens": 4096,
    }
    completion = ntok(R1_REASONING) + 1 + ntok(R1_ANSWER) + 1  # + </think> + EOS
    choice = chat_choice(0, R1_ANSWER, reasoning=R1_REASONING)
    inter = nim_chat(name, req, [choice], r1_prompt(messages), completion, per_token=(28, 45))
    return cassette(
        "Reasoning model deepseek-ai/deepseek-r1, not streamed: the thinking is in "
        "message.reasoning_content, the answer (starting with the newlines after </think>) in content. "
        "NIM 1.x / vLLM 0.9.2 layout (reasoning_content before content).",
        [inter],
    )


def reasoning_stream() -> Json:
    name = "reasoning/stream"
    messages = [user("Is 2027 a prime number?")]
    req: dict[str, Json] = {
        "messages": messages,
        "model": "deepseek-ai/deepseek-r1",
        "temperature": 0.6,
        "top_p": 0.95,
        "max_tokens": 4096,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    thinking = (
        "Okay, I need to check whether 2027 is prime. Its square root is about 45, so I test primes "
        "up to 43. It is odd, digit sum 11 so not divisible by 3, and it does not end in 0 or 5. "
        "2027 / 7 = 289.57, "
        "/ 11 = 184.27, / 13 = 155.92, / 17 = 119.24, / 19 = 106.68, / 23 = 88.13, / 29 = 69.9, "
        "/ 31 = 65.39, / 37 = 54.78, / 41 = 49.44, / 43 = 47.14. None divide evenly, so it is prime.\n"
    )
    answer = "\n\nYes. 2027 is a prime number: no prime up to its square root (about 45) divides it."
    s = Stream(name, req["model"], per_token=(28, 45), ttft=(250, 420))
    s.role()
    s.text(thinking, key="reasoning_content")
    pieces = tokens(answer)
    # </think> alone gives no chunk (the parser returns None), but it is a generated token
    s.delta({"content": pieces[0]}, hidden_before=1)
    for piece in pieces[1:]:
        s.delta({"content": piece})
    s.finish({"content": ""}, "stop")
    inter = {
        "request": post("/v1/chat/completions", req, stream=True),
        "response": s.end(r1_prompt(messages)),
    }
    return cassette(
        "Reasoning model deepseek-ai/deepseek-r1, streamed with include_usage: reasoning_content "
        "deltas, then content deltas (the </think> token itself sends no chunk but counts in usage). "
        "NIM 1.x / vLLM 0.9.2 layout; slower first token and per-token gaps.",
        [inter],
    )


SCENARIOS: dict[str, Callable[[], Json]] = {
    "structured/json_schema": structured_json_schema,
    "structured/guided_json": structured_guided_json,
    "structured/json_mode": structured_json_mode,
    "images/url": images_url,
    "images/base64": images_base64,
    "reasoning/nonstream": reasoning_nonstream,
    "reasoning/stream": reasoning_stream,
}
