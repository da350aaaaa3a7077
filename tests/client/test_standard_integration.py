"""LangChain's integration suite for chat models, run against the stand-in (``on_miss="synthesize"``).

``ChatModelIntegrationTests`` is what a chat integration must pass against a live server: invoke,
stream, batch, usage, stop sequences, tool calling and tool choice, agent loops, structured
output, JSON mode, Unicode tool arguments. Here the server is the mock with no cassettes, on a
real uvicorn socket, so every answer is synthesized: the suite checks that the stand-in serves
an agent loop (arguments drawn from the prompt, a final answer after a tool result, JSON shaped as
asked) for the project's ChatNVIDIA and for ChatOpenAI, a second client that knows nothing of NIM.

Left out, each for a reason outside the stand-in: image, PDF and audio inputs (the suite downloads
its images, PDFs and audio from the internet, and the machine running these tests has none),
Anthropic-format inputs (neither client claims them), and ``test_stream_time`` (a benchmark over
VCR cassettes).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx2  # the openai SDK's HTTP client (an openai dependency)
import pytest
from langchain_openai import ChatOpenAI
from langchain_tests.integration_tests import ChatModelIntegrationTests
from nim_harness import ChatNVIDIA
from standard_capabilities import ToolsStructuredUsage

from nim_mock import RunningServer, create_app

MODEL = "meta/llama-3.1-8b-instruct"
OTHER_MODEL = "meta/llama-3.3-70b-instruct"
_stand_in: dict[str, str] = {}


@pytest.fixture(scope="module", autouse=True)
def stand_in() -> Iterator[str]:
    """One stand-in server for the module; the suite's ``model`` fixture reads its URL."""
    server = RunningServer(create_app([], on_miss="synthesize"))
    server.start()
    _stand_in["url"] = server.base_url + "/v1"
    yield _stand_in["url"]
    server.stop()


class _StandInCapabilities(ToolsStructuredUsage, ChatModelIntegrationTests):
    """What the stand-in serves, for either client; the image switches stay off (internet)."""

    @property
    def model_override_value(self) -> str:
        return OTHER_MODEL


class TestChatNVIDIAAgainstTheStandIn(_StandInCapabilities):
    @property
    def chat_model_class(self) -> type[ChatNVIDIA]:
        return ChatNVIDIA

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": MODEL, "base_url": _stand_in["url"], "api_key": "not-a-key", "max_retries": 0}


# langchain-openai shares one cached async client per base URL across event loops, and every async
# test gets a loop of its own: a connection kept alive from one test's loop breaks the next. A client
# that keeps no connection between requests never carries one over.
_ONE_LOOP_PER_CONNECTION = httpx2.Limits(max_keepalive_connections=0)


class TestChatOpenAIAgainstTheStandIn(_StandInCapabilities):
    @property
    def chat_model_class(self) -> type[ChatOpenAI]:
        return ChatOpenAI

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {
            "model": MODEL,
            "base_url": _stand_in["url"],
            "api_key": "not-a-key",
            "max_retries": 0,
            # usage in streams is asked for only against api.openai.com unless switched on
            "stream_usage": True,
            "http_async_client": httpx2.AsyncClient(limits=_ONE_LOOP_PER_CONNECTION, timeout=30),
        }
