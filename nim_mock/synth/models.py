"""Real model ids a stand-in NIM lists, so clients that look a model up before calling find it.

Taken from NVIDIA's API catalogue (the ids ``build.nvidia.com`` and NIM containers serve). Listed
after the cassettes' own models by ``GET /v1/models`` when the mock synthesizes on a miss; the
first entry is the model a request without ``model`` is answered as.
"""

from __future__ import annotations

__all__ = ["CATALOGUE"]

CATALOGUE: tuple[str, ...] = (
    "meta/llama-3.1-8b-instruct",
    "meta/llama-3.1-70b-instruct",
    "meta/llama-3.1-405b-instruct",
    "meta/llama-3.2-1b-instruct",
    "meta/llama-3.2-3b-instruct",
    "meta/llama-3.3-70b-instruct",
    "mistralai/mistral-nemotron",
    "mistralai/mixtral-8x7b-instruct-v0.1",
    "microsoft/phi-4-mini-instruct",
    "nvidia/llama-3.1-nemotron-nano-8b-v1",
    "nvidia/llama-3.3-nemotron-super-49b-v1",
    "nvidia/llama-3.3-nemotron-super-49b-v1.5",
    "nvidia/nvidia-nemotron-nano-9b-v2",
    "deepseek-ai/deepseek-r1",
    "qwen/qwen2.5-coder-32b-instruct",
    "google/gemma-2-9b-it",
    "openai/gpt-oss-20b",
    "openai/gpt-oss-120b",
)
