"""The same user code against both clients: ours and the published ChatNVIDIA, through the mock.

Each snippet of ``published_snippets.SNIPPETS`` runs twice, unchanged but for which ``ChatNVIDIA``
it sees, against the mock NIM on real uvicorn in stand-in mode (bundled cassettes, synthesized
answers for the rest). The outcome (the snippet's ``result``, or the kind of error it raised)
must be the same for both, except in the rows marked ``differs``, which must come out as the
README's compatibility table says. Warnings are not outcomes: the clients word theirs differently.
"""

from __future__ import annotations

import asyncio
import base64
import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from textwrap import indent
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from nim_harness import ChatNVIDIA
from published_snippets import SNIPPETS, Joke, Snippet, get_current_weather

from nim_mock import (
    Cassette,
    Interaction,
    RecordedRequest,
    RecordedResponse,
    SynthConfig,
    bundled_cassettes_dir,
    create_app,
    load_cassettes,
    serve_in_thread,
)
from nim_mock.cassette import compact_json

published = pytest.importorskip(
    "langchain_nvidia_ai_endpoints",
    reason="langchain-nvidia-ai-endpoints is not installed (pip install -e '.[test]'): nothing to compare",
)

MODEL = "meta/llama-3.1-8b-instruct"
CASSETTES = Path(__file__).resolve().parents[2] / "cassettes"
_IMAGE_URL = json.loads((CASSETTES / "images" / "base64.json").read_text(encoding="utf-8"))["interactions"][
    0
]["request"]["json"]["messages"][0]["content"][1]["image_url"]["url"]
PNG = base64.b64decode(_IMAGE_URL.split(",", 1)[1])
CLIENTS = {"published": published.ChatNVIDIA, "ours": ChatNVIDIA}


def stand_in() -> Iterator[str]:
    """The mock NIM in stand-in mode (bundled cassettes, synthesized answers): its API root."""
    app = create_app(load_cassettes([bundled_cassettes_dir()]), speed=0, on_miss="synthesize")
    with serve_in_thread(app) as url:
        yield f"{url}/v1"


def lora_nim() -> Iterator[str]:
    """A NIM serving one base model and one LoRA adapter on it (vLLM listing layout)."""
    listing = {
        "object": "list",
        "data": [
            {"id": MODEL, "object": "model", "owned_by": "system", "root": MODEL, "parent": None},
            {
                "id": "math-lora",
                "object": "model",
                "owned_by": "system",
                "root": "/loras/math",
                "parent": MODEL,
            },
        ],
    }
    response = RecordedResponse(200, (("content-type", "application/json"),), body=compact_json(listing))
    cassette = Cassette("local/lora", (Interaction(RecordedRequest("GET", "/v1/models"), response),))
    app = create_app([cassette], speed=0, on_miss="synthesize", synth=SynthConfig(models=(MODEL,)))
    with serve_in_thread(app) as url:
        yield f"{url}/v1"


base = pytest.fixture(scope="module", name="base")(stand_in)
lora_base = pytest.fixture(scope="module", name="lora_base")(lora_nim)


@pytest.fixture(autouse=True)
def no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both clients read these at construction; the snippets name everything themselves."""
    for name in ("NVIDIA_API_KEY", "NVIDIA_BASE_URL", "NVIDIA_USAGE_TELEMETRY_ENABLED"):
        monkeypatch.delenv(name, raising=False)


def outcome(snippet: Snippet, client: type, base: str, lora_base: str) -> tuple[str, Any]:
    """``("ok", result)`` or ``("raises", "<nearest built-in exception class>")``; the message of an
    unexpected error is kept in ``__notes__`` for the assertion's report."""
    namespace: dict[str, Any] = {
        "ChatNVIDIA": client,
        "BASE": base,
        "LORA_BASE": lora_base,
        "MODEL": MODEL,
        "PNG": PNG,
        "base64": base64,
        "AIMessage": AIMessage,
        "HumanMessage": HumanMessage,
        "ToolMessage": ToolMessage,
        "ChatPromptTemplate": ChatPromptTemplate,
        "StrOutputParser": StrOutputParser,
        "get_current_weather": get_current_weather,
        "Joke": Joke,
    }
    # A coroutine body, so snippets may await; sync calls inside it run as in any script.
    source = f"async def snippet():\n{indent(snippet.text, '    ')}\n    return result\n"
    exec(compile(source, f"<snippet {snippet.name!r}>", "exec"), namespace)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return "ok", asyncio.run(namespace["snippet"]())
        except Exception as error:
            family = next(cls for cls in type(error).__mro__ if cls.__module__ == "builtins")
            return "raises", family.__name__ + (f" ({str(error).splitlines()[0]})" if str(error) else "")


@pytest.mark.parametrize("snippet", SNIPPETS, ids=[s.name for s in SNIPPETS])
def test_the_snippet_comes_out_the_same_for_both_clients(snippet: Snippet, base: str, lora_base: str) -> None:
    theirs = outcome(snippet, CLIENTS["published"], base, lora_base)
    ours = outcome(snippet, CLIENTS["ours"], base, lora_base)
    if snippet.differs is None:
        assert theirs[0] == "ok", f"the published client fails this snippet: {theirs}"
        assert ours == theirs
    else:
        assert (kind(theirs), kind(ours)) == (snippet.published, snippet.ours), snippet.differs


def kind(result: tuple[str, Any]) -> tuple[str, Any]:
    """An outcome as a table row states it: for an error, only its class."""
    return (result[0], result[1].split(" (", 1)[0]) if result[0] == "raises" else result


def test_every_difference_is_a_row_of_the_readme_table() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    table = readme.split("### Coming from langchain-nvidia-ai-endpoints", 1)[1].split("\n## ", 1)[0]
    for snippet in SNIPPETS:
        if snippet.differs is not None:
            assert f"| {snippet.differs} |" in table, snippet.name
