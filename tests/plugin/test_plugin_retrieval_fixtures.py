"""nim_harness_embeddings and nim_harness_rerank: which model each asks for, and whole runs in each mode."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from plugin_runs import run

from nim_mock import create_app
from nim_mock.plugin.modes import service_of
from nim_mock.plugin.options import Mode, Settings
from nim_mock.plugin.retrieval import (
    DEFAULT_EMBED_MODEL,
    DEFAULT_RERANK_MODEL,
    choose_service_model,
    missing_model_reason,
)
from nim_mock.serve.runner import RunningServer


@pytest.mark.parametrize(
    ("path", "service"),
    [
        ("/v1/embeddings", "embeddings"),
        ("/v1/retrieval/nvidia/embeddings", "embeddings"),
        ("/v1/ranking", "ranking"),
        ("/v1/retrieval/nvidia/llama-3_2-nv-rerankqa-1b-v2/reranking", "ranking"),
        ("/v1/chat/completions", "chat"),
        ("/v1/models", "chat"),
        ("/v1/embeddings/?x=1", "embeddings"),
    ],
)
def test_each_request_path_belongs_to_one_service(path: str, service: str) -> None:
    assert service_of(path) == service


def test_the_marker_wins_then_the_cassette_then_the_configuration_then_the_default() -> None:
    mock = Settings(mode=Mode.MOCK, embed_model="org/configured")
    assert choose_service_model(mock, "embeddings", "org/marker", ("org/recorded",)) == "org/marker"
    assert choose_service_model(mock, "embeddings", None, ("org/recorded",)) == "org/recorded"
    assert choose_service_model(mock, "embeddings", None, ()) == "org/configured"
    assert choose_service_model(Settings(mode=Mode.MOCK), "embeddings", None, ()) == DEFAULT_EMBED_MODEL
    assert choose_service_model(Settings(mode=Mode.MOCK), "ranking", None, ()) == DEFAULT_RERANK_MODEL


@pytest.mark.parametrize("mode", [Mode.LIVE, Mode.RECORD])
def test_a_real_endpoint_without_a_model_gets_none_and_a_reason_naming_the_variable(mode: Mode) -> None:
    settings = Settings(mode=mode, endpoint="http://localhost:8000/v1", rerank_model="org/ranker")
    assert choose_service_model(settings, "embeddings", None, ()) is None
    assert choose_service_model(settings, "ranking", None, ()) == "org/ranker"
    assert missing_model_reason(settings, "embeddings") == (
        f"--nim-mode={mode.value} needs an embedding model the endpoint serves: set NIM_EMBED_MODEL (or "
        "--nim-harness-embed-model) to one, e.g. nvidia/llama-nemotron-embed-1b-v2"
    )


RAG_TEST = """
import pytest
from langchain_core.documents import Document

@pytest.mark.nim(on_miss="synthesize")
def test_flow(nim_harness_embeddings, nim_harness_rerank, nim_harness_chat):
    embedder, ranker = nim_harness_embeddings(), nim_harness_rerank(top_n=1)
    assert embedder.model == "nvidia/llama-nemotron-embed-1b-v2"
    assert ranker.model == "nvidia/llama-nemotron-rerank-1b-v2"
    assert len(embedder.embed_query("memory bandwidth")) == 2048
    docs = [Document(page_content="cake"), Document(page_content="memory bandwidth of GPUs")]
    assert ranker.compress_documents(docs, "GPU memory bandwidth")[0].page_content == docs[1].page_content
    assert nim_harness_chat().invoke("hi").content
    assert nim_harness_embeddings(model="nvidia/nv-embedqa-e5-v5").model == "nvidia/nv-embedqa-e5-v5"
"""


def test_a_whole_flow_runs_on_the_stand_in(project: pytest.Pytester) -> None:
    project.makepyfile(test_flow=RAG_TEST)
    run(project).assert_outcomes(passed=1)


def test_live_mode_without_models_skips_saying_what_to_set(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_live="""
def test_embed(nim_harness_embeddings):
    nim_harness_embeddings().embed_query("x")

def test_rank(nim_harness_rerank):
    nim_harness_rerank()
"""
    )
    result = run(project, "-rs", "--nim-harness-endpoint=http://127.0.0.1:9/v1", mode="live")
    result.assert_outcomes(skipped=2)
    result.stdout.fnmatch_lines(
        ["*needs an embedding model*NIM_EMBED_MODEL*", "*needs a reranking model*NIM_RERANK_MODEL*"]
    )


RECORDED_FLOW = """
def test_flow(nim_harness_embeddings, nim_harness_rerank, nim_harness_chat):
    vector = nim_harness_embeddings().embed_query("memory bandwidth")
    from langchain_core.documents import Document
    best = nim_harness_rerank(top_n=1).compress_documents([Document(page_content="x")], "memory")
    answer = nim_harness_chat(max_tokens=16).invoke("hi")
    assert vector and best and answer.content
"""


@pytest.fixture(scope="module")
def stand_in() -> Iterator[str]:
    server = RunningServer(create_app([], on_miss="synthesize"))
    yield server.start()
    server.stop()


def test_one_cassette_records_the_flow_and_each_fixture_replays_its_own_model(
    project: pytest.Pytester, stand_in: str
) -> None:
    project.makepyfile(test_flow=RECORDED_FLOW)
    endpoint = f"--nim-harness-endpoint={stand_in}/v1"
    models = (
        "--nim-harness-embed-model=nvidia/nv-embed-v1",
        "--nim-harness-rerank-model=nv-rerank-qa-mistral-4b:1",
    )
    run(project, endpoint, *models, mode="record").assert_outcomes(passed=1)
    recorded = json.loads((project.path / "cassettes" / "test_flow" / "test_flow.json").read_text())
    asked = [(i["request"]["path"], i["request"]["json"]["model"]) for i in recorded["interactions"]]
    assert asked == [
        ("/v1/embeddings", "nvidia/nv-embed-v1"),
        ("/v1/ranking", "nv-rerank-qa-mistral-4b:1"),
        ("/v1/chat/completions", "meta/llama-3.1-8b-instruct"),
    ]
    run(project).assert_outcomes(passed=1)  # mock mode: no model option, each taken from its own requests
