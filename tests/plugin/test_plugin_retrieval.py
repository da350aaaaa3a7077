"""The plugin's record mode records embeddings and ranking, and its mock mode replays them.

The endpoint recorded from is the mock's stand-in on a real socket, so the recorded answers are
NIM-shaped; the replay run has no endpoint at all.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from plugin_runs import run

from nim_mock import create_app
from nim_mock.serve.runner import RunningServer

RETRIEVAL_TEST = """
import pytest

EMBED = {"model": "nvidia/nv-embedqa-e5-v5", "input": ["a text"], "input_type": "passage"}
RANK = {"model": "nvidia/llama-3.2-nv-rerankqa-1b-v2", "query": {"text": "text"},
        "passages": [{"text": "no match"}, {"text": "a text"}]}

@pytest.mark.nim(cassette="rag/retrieval")
def test_retrieval(nim_harness_http_client):
    vector = nim_harness_http_client.post("embeddings", json=EMBED).json()["data"][0]["embedding"]
    assert len(vector) == 1024
    rankings = nim_harness_http_client.post("ranking", json=RANK).json()["rankings"]
    assert [r["index"] for r in rankings] == [1, 0]
"""


@pytest.fixture(scope="module")
def standin() -> Iterator[str]:
    server = RunningServer(create_app([], on_miss="synthesize"))
    yield server.start()
    server.stop()


def test_retrieval_records_then_replays(project: pytest.Pytester, standin: str) -> None:
    project.makepyfile(test_inner_retrieval=RETRIEVAL_TEST)
    run(project, f"--nim-harness-endpoint={standin}/v1", mode="record").assert_outcomes(passed=1)
    document = json.loads((project.path / "cassettes" / "rag" / "retrieval.json").read_text("utf-8"))
    paths = [interaction["request"]["path"] for interaction in document["interactions"]]
    assert paths == ["/v1/embeddings", "/v1/ranking"]
    run(project).assert_outcomes(passed=1)
