"""What we know about models without asking a server: capabilities and how to switch thinking.

``GET /v1/models`` only says which ids exist. Whether a model can call tools, follow a JSON
schema, see images, or how its reasoning is switched on is not in that answer, so the client
carries a small table of facts about well-known NVIDIA catalogue models. Listing merges the two
(see ``_models``); ``with_thinking_mode`` reads the thinking control from here.

The table is immutable (tuples and a read-only mapping): it is data, not state.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Any


class ThinkingStyle(StrEnum):
    """How a model is told to think or not."""

    #: ``chat_template_kwargs`` (or another request parameter) carries the switch.
    PARAM = "param"
    #: A system-prompt text such as ``detailed thinking on`` or ``/think`` carries the switch.
    PREFIX = "prefix"


@dataclass(frozen=True)
class ThinkingControl:
    """The two settings that switch one model's reasoning on and off."""

    style: ThinkingStyle
    on: Any
    off: Any


@dataclass(frozen=True)
class ModelCapabilities:
    """Facts about one model id that a listing cannot tell us."""

    id: str
    supports_tools: bool = False
    supports_structured_output: bool = False
    supports_vision: bool = False
    thinking: ThinkingControl | None = None

    @property
    def supports_thinking(self) -> bool:
        return self.thinking is not None


def _param(key: str, on: Any = True, off: Any = False) -> ThinkingControl:
    return ThinkingControl(
        ThinkingStyle.PARAM, {"chat_template_kwargs": {key: on}}, {"chat_template_kwargs": {key: off}}
    )


_DETAILED = ThinkingControl(ThinkingStyle.PREFIX, "detailed thinking on", "detailed thinking off")
_SLASH = ThinkingControl(ThinkingStyle.PREFIX, "/think", "/no_think")
_ENABLE = _param("enable_thinking")
_THINKING = _param("thinking")


def _chat(model_id: str, *, tools: bool = True, structured: bool = True, **rest: Any) -> ModelCapabilities:
    return ModelCapabilities(model_id, supports_tools=tools, supports_structured_output=structured, **rest)


def _vlm(model_id: str, *, tools: bool = False, structured: bool = False, **rest: Any) -> ModelCapabilities:
    return ModelCapabilities(
        model_id, supports_tools=tools, supports_structured_output=structured, supports_vision=True, **rest
    )


# Capabilities as published for the hosted catalogue (build.nvidia.com model cards).
_TABLE: tuple[ModelCapabilities, ...] = (
    _chat("meta/llama-3.1-8b-instruct"),
    _chat("meta/llama-3.1-70b-instruct"),
    _chat("meta/llama-3.1-405b-instruct"),
    _chat("meta/llama-3.2-1b-instruct"),
    _chat("meta/llama-3.2-3b-instruct"),
    _chat("meta/llama-3.3-70b-instruct"),
    _chat("mistralai/mistral-nemotron", structured=False),
    _chat("mistralai/codestral-22b-instruct-v0.1", tools=False),
    _chat("microsoft/phi-4-mini-instruct", structured=False),
    _chat("moonshotai/kimi-k2-instruct"),
    _chat("moonshotai/kimi-k2-instruct-0905"),
    _chat("openai/gpt-oss-20b"),
    _chat("openai/gpt-oss-120b"),
    _chat("qwen/qwen3-next-80b-a3b-instruct"),
    _chat("nvidia/llama-3.1-nemoguard-8b-content-safety", tools=False),
    _chat("nvidia/llama-3.1-nemotron-nano-8b-v1", tools=False, structured=False, thinking=_DETAILED),
    _chat("nvidia/llama-3.3-nemotron-super-49b-v1", thinking=_DETAILED),
    _chat("nvidia/llama-3.3-nemotron-super-49b-v1.5", thinking=_SLASH),
    _chat("nvidia/nvidia-nemotron-nano-9b-v2", thinking=_SLASH),
    _chat("nvidia/nemotron-3-nano-30b-a3b", thinking=_ENABLE),
    _chat("nvidia/nemotron-3-super-120b-a12b", thinking=_ENABLE),
    _chat("deepseek-ai/deepseek-v3.1-terminus", thinking=_ENABLE),
    _chat("deepseek-ai/deepseek-v3.2", thinking=_ENABLE),
    _chat("deepseek-ai/deepseek-v4-flash", thinking=_THINKING),
    _chat("google/gemma-4-31b-it", structured=False, thinking=_ENABLE),
    _chat("z-ai/glm-5.1", structured=False, thinking=_ENABLE),
    _vlm("meta/llama-3.2-11b-vision-instruct"),
    _vlm("meta/llama-3.2-90b-vision-instruct"),
    _vlm("meta/llama-4-maverick-17b-128e-instruct"),
    _vlm("microsoft/phi-4-multimodal-instruct"),
    _vlm("nvidia/llama-3.1-nemotron-nano-vl-8b-v1"),
    _vlm("nvidia/nemotron-nano-12b-v2-vl", thinking=_SLASH),
    _vlm("nvidia/nemotron-3.5-super-vl-120b-a12b", tools=True, structured=True, thinking=_ENABLE),
    _vlm("qwen/qwen3.5-122b-a10b", tools=True, thinking=_ENABLE),
    _vlm("moonshotai/kimi-k2.6", tools=True, thinking=_THINKING),
)

CATALOGUE: MappingProxyType[str, ModelCapabilities] = MappingProxyType({entry.id: entry for entry in _TABLE})


def lookup(model_id: str | None) -> ModelCapabilities | None:
    """The catalogue entry for ``model_id``, or ``None`` for a model we know nothing about."""
    if model_id is None:
        return None
    return CATALOGUE.get(model_id)


def thinking_control(model: str | None) -> ThinkingControl:
    """How ``model`` takes its reasoning switch; a clear error for a model the catalogue has none for."""
    entry = lookup(model)
    if entry is None or entry.thinking is None:
        known = sorted(m for m, caps in CATALOGUE.items() if caps.thinking is not None)
        raise ValueError(
            f"no known thinking switch for model {model!r}; models with one: {', '.join(known)}. "
            "For another model, send its switch yourself through model_kwargs"
        )
    return entry.thinking
