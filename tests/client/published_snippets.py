"""Typical user code for the published ChatNVIDIA, as a table: the snippets the drop-in test runs.

Each snippet is code as a user writes it, from the published package's README and the LangChain
ChatNVIDIA integration page, with only the import changed: it sees ``ChatNVIDIA`` (ours or the
published one), ``BASE`` (the mock NIM's API root), ``LORA_BASE`` (a NIM serving one base model
and a LoRA adapter), ``MODEL``, the usual LangChain imports, and what those pages define once at
the top (``get_current_weather``, a ``@tool``; ``Joke``, a Pydantic schema), and stores what it
got in ``result``. Results are plain values (types, booleans, names), so the two clients can be
compared although the mock answers their slightly different requests with different words.

``differs`` names the README compatibility-table row for a snippet whose outcome differs on
purpose; ``published`` and ``ours`` are then the two expected outcomes: ``("ok", result)``, or
``("raises", "<built-in exception class>")``.
"""

from __future__ import annotations

from dataclasses import dataclass
from textwrap import dedent
from typing import Any

from langchain_core.tools import tool
from pydantic import BaseModel, Field


@dataclass(frozen=True)
class Snippet:
    name: str
    source: str
    code: str
    differs: str | None = None
    published: tuple[str, Any] | None = None
    ours: tuple[str, Any] | None = None

    @property
    def text(self) -> str:
        return dedent(self.code).strip()


@tool
def get_current_weather(location: str) -> str:
    """Get the current weather in a location."""
    return f"It is sunny in {location}."


class Joke(BaseModel):
    setup: str = Field(description="The setup of the joke")
    punchline: str = Field(description="The punchline to the joke")


README = "published README"
DOCS = "LangChain ChatNVIDIA page"

SNIPPETS: tuple[Snippet, ...] = (
    Snippet(
        "invoke",
        README,
        """
        llm = ChatNVIDIA(model=MODEL, base_url=BASE)
        result = llm.invoke("Write a ballad about LangChain.").content != ""
        """,
    ),
    Snippet(
        "batch",
        README,
        """
        llm = ChatNVIDIA(model=MODEL, base_url=BASE)
        result = [type(m).__name__ for m in llm.batch(["What's 2*3?", "What's 2*6?"])]
        """,
    ),
    Snippet(
        "abatch",
        README,
        """
        llm = ChatNVIDIA(model=MODEL, base_url=BASE)
        result = len(await llm.abatch(["What's 2*3?", "What's 2*6?"]))
        """,
    ),
    Snippet(
        "stream",
        README,
        """
        llm = ChatNVIDIA(model=MODEL, base_url=BASE)
        text = ""
        for chunk in llm.stream("How far can a seagull fly in one day?"):
            text += chunk.content
        result = bool(text)
        """,
    ),
    Snippet(
        "astream",
        README,
        """
        llm = ChatNVIDIA(model=MODEL, base_url=BASE)
        pieces = [chunk.content async for chunk in llm.astream("How long do monarch butterflies migrate?")]
        result = bool("".join(pieces))
        """,
    ),
    Snippet(
        "available_models",
        README,
        """
        llm = ChatNVIDIA(model=MODEL, base_url=BASE)
        ids = [model.id for model in llm.available_models if model.model_type]
        result = MODEL in ids and all(isinstance(i, str) for i in ids)
        """,
    ),
    Snippet(
        "extra model parameter",
        README,
        """
        super_model = ChatNVIDIA(
            model="nvidia/nemotron-3.5-super-vl-120b-a12b",
            base_url=BASE,
            chat_template_kwargs={"enable_thinking": True},
        )
        result = isinstance(super_model.invoke("Plan a three-step workflow.").content_blocks, list)
        """,
    ),
    Snippet(
        "image block (base64)",
        README,
        """
        image = base64.b64encode(PNG).decode("ascii")
        llm = ChatNVIDIA(model="nvidia/nemotron-3.5-super-vl-120b-a12b", base_url=BASE)
        response = llm.invoke([
            HumanMessage(content=[
                {"type": "text", "text": "Describe this image."},
                {"type": "image", "base64": image, "mime_type": "image/png"},
            ])
        ])
        result = bool(response.content)
        """,
    ),
    Snippet(
        "prompt | model | parser",
        README,
        """
        prompt = ChatPromptTemplate.from_messages(
            [("system", "You are a helpful AI assistant named Fred."), ("user", "{input}")]
        )
        chain = prompt | ChatNVIDIA(model=MODEL, base_url=BASE) | StrOutputParser()
        result = all(isinstance(txt, str) for txt in chain.stream({"input": "What's your name?"}))
        """,
    ),
    Snippet(
        "max_completion_tokens",
        README,
        """
        llm = ChatNVIDIA(model="google/codegemma-7b", base_url=BASE, max_completion_tokens=419)
        chain = llm | StrOutputParser()
        result = isinstance(chain.invoke("How do I solve fizz buzz?"), str)
        """,
    ),
    Snippet(
        "image_url by URL",
        README,
        """
        llm = ChatNVIDIA(model="meta/llama-3.2-11b-vision-instruct", base_url=BASE)
        response = llm.invoke([HumanMessage(content=[
            {"type": "text", "text": "Describe this image:"},
            {"type": "image_url", "image_url": {"url": "https://picsum.photos/seed/kitten/300/200"}},
        ])])
        result = type(response).__name__
        """,
    ),
    Snippet(
        "image_url as data URI",
        README,
        """
        b64_string = base64.b64encode(PNG).decode("utf-8")
        llm = ChatNVIDIA(model="meta/llama-3.2-11b-vision-instruct", base_url=BASE)
        response = llm.invoke([HumanMessage(content=[
            {"type": "text", "text": "Describe this image:"},
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{b64_string}"}},
        ])])
        result = type(response).__name__
        """,
    ),
    Snippet(
        "image in an <img> tag",
        README,
        """
        base64_with_mime_type = "data:image/png;base64," + base64.b64encode(PNG).decode()
        llm = ChatNVIDIA(model="meta/llama-3.2-11b-vision-instruct", base_url=BASE)
        result = bool(llm.invoke(f'What is in this image?\\n<img src="{base64_with_mime_type}" />').content)
        """,
    ),
    Snippet(
        "usage_telemetry_enabled=False",
        README,
        """
        llm = ChatNVIDIA(model=MODEL, base_url=BASE, usage_telemetry_enabled=False)
        result = bool(llm.invoke("Hello").content)
        """,
    ),
    Snippet(
        "deployment root as base_url",
        README,
        """
        llm = ChatNVIDIA(base_url=BASE.removesuffix("/v1"), model=MODEL)
        result = (llm.base_url == BASE, bool(llm.invoke("Hello").content))
        """,
    ),
    Snippet(
        "get_available_models on the class",
        DOCS,
        """
        models = ChatNVIDIA.get_available_models(base_url=BASE)
        result = MODEL in [model.id for model in models]
        """,
    ),
    Snippet(
        "models that support tools",
        DOCS,
        """
        tool_models = [m for m in ChatNVIDIA.get_available_models(base_url=BASE) if m.supports_tools]
        result = "meta/llama-3.3-70b-instruct" in [m.id for m in tool_models]
        """,
    ),
    Snippet(
        "bind_tools with a @tool",
        DOCS,
        """
        llm = ChatNVIDIA(model="meta/llama-3.3-70b-instruct", base_url=BASE).bind_tools([get_current_weather])
        response = llm.invoke("What is the weather in Boston?", tool_choice="required")
        result = [call["name"] for call in response.tool_calls]
        """,
    ),
    Snippet(
        "tool calls in additional_kwargs",
        DOCS,
        """
        llm = ChatNVIDIA(model="meta/llama-3.3-70b-instruct", base_url=BASE)
        response = llm.bind_tools([get_current_weather], tool_choice="get_current_weather").invoke("Boston?")
        result = [c["function"]["name"] for c in response.additional_kwargs["tool_calls"]]
        """,
    ),
    Snippet(
        "tool result round trip",
        DOCS,
        """
        llm = ChatNVIDIA(model="meta/llama-3.3-70b-instruct", base_url=BASE).bind_tools([get_current_weather])
        messages = [HumanMessage("What is the weather in Boston?")]
        ai_msg = llm.invoke(messages, tool_choice="required")
        messages.append(ai_msg)
        for call in ai_msg.tool_calls:
            messages.append(ToolMessage(get_current_weather.invoke(call["args"]), tool_call_id=call["id"]))
        result = type(llm.invoke(messages)).__name__
        """,
    ),
    Snippet(
        "with_structured_output (Pydantic)",
        DOCS,
        """
        llm = ChatNVIDIA(model="meta/llama-3.3-70b-instruct", base_url=BASE)
        structured_llm = llm.with_structured_output(Joke)
        result = type(structured_llm.invoke("Tell me a joke about NVIDIA")).__name__
        """,
    ),
    Snippet(
        "with_structured_output (JSON schema)",
        DOCS,
        """
        json_schema = {
            "title": "joke",
            "type": "object",
            "properties": {"setup": {"type": "string"}, "punchline": {"type": "string"}},
            "required": ["setup", "punchline"],
        }
        llm = ChatNVIDIA(model="meta/llama-3.3-70b-instruct", base_url=BASE)
        result = sorted(llm.with_structured_output(json_schema).invoke("Tell me a joke about NVIDIA"))
        """,
    ),
    Snippet(
        "with_thinking_mode",
        DOCS,
        """
        model = ChatNVIDIA(model="nvidia/nvidia-nemotron-nano-9b-v2", base_url=BASE)
        thinking_model = model.with_thinking_mode(enabled=True)
        no_thinking_model = model.with_thinking_mode(enabled=False)
        result = [type(m.invoke("Hello")).__name__ for m in (thinking_model, no_thinking_model)]
        """,
    ),
    Snippet(
        "with_thinking_mode on a model without a switch",
        DOCS,
        """
        model = ChatNVIDIA(model="someone/new-model", base_url=BASE)
        result = bool(model.with_thinking_mode(enabled=True).invoke("Hello").content)
        """,
    ),
    Snippet(
        "token_usage in response_metadata",
        DOCS,
        """
        response = ChatNVIDIA(model=MODEL, base_url=BASE).invoke("Hello")
        usage = response.response_metadata["token_usage"]
        result = (usage["total_tokens"] > 0, response.response_metadata["role"])
        """,
    ),
    Snippet(
        "usage_metadata and model_name",
        DOCS,
        """
        response = ChatNVIDIA(model=MODEL, base_url=BASE).invoke("Hello")
        result = (response.usage_metadata["total_tokens"] > 0, response.response_metadata["model_name"])
        """,
    ),
    Snippet(
        "sampling parameters",
        DOCS,
        """
        llm = ChatNVIDIA(
            model=MODEL, base_url=BASE, temperature=0.1, max_completion_tokens=100, top_p=1.0, seed=42
        )
        result = bool(llm.invoke("Hello").content)
        """,
    ),
    Snippet(
        "stop as a string",
        DOCS,
        """
        llm = ChatNVIDIA(model=MODEL, base_url=BASE, stop="\\n")
        result = bool(llm.invoke("Hello").content)
        """,
    ),
    Snippet(
        "an OpenAI parameter ChatNVIDIA has no field for",
        DOCS,
        """
        llm = ChatNVIDIA(model=MODEL, base_url=BASE, frequency_penalty=0.1)
        result = (llm.model_kwargs, bool(llm.invoke("Hello").content))
        """,
    ),
    Snippet(
        "nvidia_base_url and verify_ssl",
        DOCS,
        """
        llm = ChatNVIDIA(model=MODEL, nvidia_base_url=BASE, verify_ssl=False)
        result = bool(llm.invoke("Hello").content)
        """,
    ),
    Snippet(
        "stream_options=None",
        DOCS,
        """
        llm = ChatNVIDIA(model=MODEL, base_url=BASE, stream_options=None)
        result = [chunk.usage_metadata for chunk in llm.stream("Hello") if chunk.usage_metadata]
        """,
    ),
    Snippet(
        "temperature out of range",
        DOCS,
        """
        try:
            ChatNVIDIA(model=MODEL, base_url=BASE, temperature=3)
            result = "accepted"
        except ValueError:
            result = "ValueError"
        """,
    ),
    Snippet(
        "matching the error text",
        DOCS,
        """
        llm = ChatNVIDIA(model="meta/llama3-8b", base_url=BASE, temperature=0.2, max_completion_tokens=1024)
        try:
            llm.invoke("Hello, are you there?")
            result = "answered"
        except Exception as error:
            result = str(error).startswith("[404]")
        """,
    ),
    Snippet(
        "a local NIM with a LoRA adapter, no model given",
        DOCS,
        """
        llm = ChatNVIDIA(base_url=LORA_BASE)
        response = llm.invoke("Hello")
        result = (llm.model, response.response_metadata["model_name"])
        """,
        differs="a local NIM without `model=`",
        published=("ok", ("meta/llama-3.1-8b-instruct", "meta/llama-3.1-8b-instruct")),
        ours=("ok", (None, "meta/llama-3.1-8b-instruct")),
    ),
    Snippet(
        "the hosted default model",
        DOCS,
        """
        result = ChatNVIDIA(api_key="nvapi-placeholder").model
        """,
    ),
    Snippet(
        "an old model name on the hosted API",
        DOCS,
        """
        result = ChatNVIDIA(model="ai-mixtral-8x7b-instruct", api_key="nvapi-placeholder").model
        """,
    ),
    Snippet(
        "the default max_tokens",
        DOCS,
        """
        result = ChatNVIDIA(model=MODEL, base_url=BASE).max_tokens
        """,
        differs="default `max_tokens`",
        published=("ok", 1024),
        ours=("ok", None),
    ),
    Snippet(
        "with_structured_output(include_raw=True)",
        DOCS,
        """
        llm = ChatNVIDIA(model="meta/llama-3.3-70b-instruct", base_url=BASE)
        answer = llm.with_structured_output(Joke, include_raw=True).invoke("Tell me a joke about NVIDIA")
        result = sorted(answer)
        """,
        differs="`with_structured_output`",
        published=("raises", "NotImplementedError"),
        ours=("ok", ["parsed", "parsing_error", "raw"]),
    ),
)
