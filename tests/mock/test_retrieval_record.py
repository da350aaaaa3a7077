"""``nim-mock record`` forwards embeddings and ranking and its cassettes replay them byte for byte.

The upstream is the mock's own stand-in on a real socket (a NIM-shaped retrieval server nobody has
to start); the published clients talk to it through the recording proxy, then to a replaying mock
serving only what was recorded, and must get the very same vectors and rankings.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from langchain_core.documents import Document
from langchain_nvidia_ai_endpoints import NVIDIAEmbeddings, NVIDIARerank

from nim_mock import RunningServer, create_app, load_cassettes, serve_in_thread
from nim_mock.cassettes.check import check_folders
from nim_mock.record.proxy import create_recording_app
from nim_mock.record.writer import CassetteWriter

E5 = "nvidia/nv-embedqa-e5-v5"
RERANK = "nvidia/llama-3.2-nv-rerankqa-1b-v2"
DOCUMENTS = [Document(page_content=t) for t in ("GPU memory bandwidth", "Paris in spring", "GPU prices")]


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    server = RunningServer(create_app([], on_miss="synthesize"))
    yield server.start()
    server.stop()


def test_recorded_retrieval_replays_for_the_published_clients(upstream: str, tmp_path: Path) -> None:
    lines: list[str] = []
    writer = CassetteWriter(tmp_path, upstream + "/v1", lines.append)
    with serve_in_thread(create_recording_app(upstream, writer)) as proxy:
        embedder = NVIDIAEmbeddings(base_url=proxy + "/v1", model=E5)
        live_vectors = embedder.embed_documents(["first text", "second text"])
        ranker = NVIDIARerank(base_url=proxy + "/v1", model=RERANK)
        live_ranked = ranker.compress_documents(DOCUMENTS, "GPU memory")
        hosted_body = {"model": RERANK, "query": {"text": "q"}, "passages": [{"text": "q"}]}
        hosted = httpx.post(proxy + "/v1/retrieval/nvidia/reranking", json=hosted_body, timeout=10)
    assert writer.failed == []
    names = sorted(path.name for path in writer.written)
    assert names == [
        "0001-post-v1-embeddings-nvidia-nv-embedqa-e5-v5.json",
        "0002-post-v1-ranking-nvidia-llama-3.2-nv-rerankqa-1b-v2.json",
        "0003-post-v1-retrieval-nvidia-reranking-nvidia-llama-3.2-nv-rerankqa-1b-v2.json",
    ]
    assert check_folders([tmp_path]) == (3, [])
    with serve_in_thread(create_app(load_cassettes([tmp_path]))) as mock:
        assert NVIDIAEmbeddings(base_url=mock + "/v1", model=E5).embed_documents(
            ["first text", "second text"]
        ) == (live_vectors)
        replayed = NVIDIARerank(base_url=mock + "/v1", model=RERANK).compress_documents(
            DOCUMENTS, "GPU memory"
        )
        assert replayed == live_ranked
        again = httpx.post(mock + "/v1/retrieval/nvidia/reranking", json=hosted_body, timeout=10)
        assert again.content == hosted.content
        assert "x-nim-mock-synthesized" in again.headers  # recorded from the stand-in, header and all
