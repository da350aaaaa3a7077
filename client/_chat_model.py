"""``ChatNVIDIA``: LangChain's chat model for NVIDIA NIM, on one pooled httpx code path.

This module is the thin part: fields, the four I/O shells (``_generate``/``_agenerate`` post one
JSON request, ``_stream``/``_astream`` read one SSE stream) and the ``bind_tools`` /
``with_structured_output`` / ``with_thinking_mode`` wrappers. The work happens in pure modules
shared by sync and async: ``_payload`` builds the body, ``_chunks`` and ``_response`` read the
answer, ``_http`` sends it with retries, polling and typed errors.

Every client is pooled and built once per model; ``batch``/``abatch`` (from ``BaseChatModel``)
run their calls through the same pools. Pass ``http_client=``/``http_async_client=`` (for
instance built on ``httpx.MockTransport``) to put any transport underneath, with nothing patched.
No telemetry is collected or sent.

Code written for the published ``langchain_nvidia_ai_endpoints.ChatNVIDIA`` runs unchanged: its
constructor arguments are accepted (``nvidia_base_url``, ``verify_ssl``, ``stream_options``,
``usage_telemetry_enabled``, a string ``stop``, and unknown parameters moved to ``model_kwargs``),
``get_available_models`` works on the class, and models are resolved, routed and reported as it
does. README.md's compatibility table lists where we differ on purpose, and why.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import aclosing, closing
from typing import Any, ClassVar, Literal, cast

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LangSmithParams, LanguageModelInput, ModelProfile
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from pydantic import Field, field_validator, model_validator

from ._catalogue import profile_of, thinking_control
from ._chunks import aiter_chunks, iter_chunks
from ._http import (
    arequest_json,
    astream_events,
    request_json,
    stream_events,
)
from ._listing import AsyncModelListing, ModelListing
from ._models import Model, parse_listing
from ._payload import build, merge_params
from ._pool import NIMConnection
from ._response import combine_llm_outputs, parse_response
from ._routing import PreparedCall, call_headers, no_thinking_switch, route_for
from ._settings import is_hosted, resolve_arguments
from ._structured import (
    METHODS,
    Method,
    parser_for,
    request_kwargs,
    schema_for_trace,
    tool_for,
    with_parser,
)
from ._tools import ToolChoice, ToolLike, format_tools, to_wire_choice, tool_names, with_strict
from ._warnings import warn_user

logger = logging.getLogger("nim_harness")

_OWN_PARAMS = ("temperature", "top_p", "max_tokens", "seed", "stop", "n", "logprobs", "top_logprobs")


class ChatNVIDIA(NIMConnection, BaseChatModel):
    """Chat model for NVIDIA NIM and the hosted NVIDIA API catalogue.

    >>> llm = ChatNVIDIA(model="meta/llama-3.1-8b-instruct", base_url="http://localhost:8000/v1")

    ``api_key`` comes from ``NVIDIA_API_KEY`` and ``base_url`` from ``NVIDIA_BASE_URL`` when not
    given (read once, here). An argument that is not a field goes to the server in ``model_kwargs``,
    with a warning naming the closest field (it may be a typo). On the hosted API a missing model
    is the published client's default, and an old alias is replaced by its current id.
    """

    model: str | None = None
    """Model id, e.g. ``meta/llama-3.1-8b-instruct``; optional on a local NIM serving one model."""
    # The ranges the published client checks at construction (pydantic raises a ValueError).
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    top_p: float | None = Field(default=None, ge=0.0, le=1.0)
    max_tokens: int | None = Field(default=None, gt=0, lt=2**31 - 1, alias="max_completion_tokens")
    """Not sent unless set, so the server's limit applies (the published client sends 1024)."""
    seed: int | None = Field(default=None, ge=0)
    stop: list[str] | None = None
    """Stop sequences; a single string is taken as a list of one."""
    n: int | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = None
    model_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Extra body parameters sent as they are (``top_k``, ``chat_template_kwargs``, ``nvext``...)."""
    streaming: bool = False
    """Make ``invoke`` stream under the hood (so callbacks see tokens); ``stream`` always streams."""
    stream_usage: bool = True
    """Ask for token usage while streaming (``stream_options.include_usage``)."""
    stream_options: dict[str, Any] | None = Field(default_factory=lambda: {"include_usage": True})
    """Sent as they are with a streamed request; ``None`` sends none (and asks for no usage)."""
    thinking_mode: bool | None = None
    """Switch reasoning on or off for models the catalogue knows a switch for; ``None`` leaves it."""
    structured_output_style: Literal["response_format", "guided_json"] = "response_format"
    """How ``json_schema`` structured output is requested: OpenAI ``response_format``, or
    ``guided_json``/``guided_choice`` for NIMs that only know guided decoding."""

    @model_validator(mode="before")
    @classmethod
    def _resolve_arguments(cls, values: Any) -> Any:
        if not isinstance(values, dict):
            return values
        aliases = {f.alias for f in cls.model_fields.values() if f.alias}
        return resolve_arguments(values, set(cls.model_fields), aliases, os.environ, owner="ChatNVIDIA")

    @field_validator("stop", mode="before")
    @classmethod
    def _stop_as_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    def model_post_init(self, context: Any, /) -> None:
        super().model_post_init(context)
        if self.thinking_mode is not None and self.model and thinking_control(self.model) is None:
            warn_user(no_thinking_switch(self.model))

    def _resolve_model_profile(self) -> ModelProfile | None:
        """LangChain's profile for the model (context size, modalities, tool calling), where known."""
        return cast(ModelProfile | None, profile_of(self.model))

    # -- serialisation (langchain-core dumpd/load) -----------------------------------------------

    @classmethod
    def is_lc_serializable(cls) -> bool:
        """True: ``dumpd(llm)`` writes the settings, the key only as a reference to ``NVIDIA_API_KEY``.

        Restore with ``load(data, valid_namespaces=["nim_harness"], allowed_objects=[ChatNVIDIA],
        secrets_map={"NVIDIA_API_KEY": key})`` (or ``secrets_from_env=True``). Injected
        ``http_client``/``http_async_client`` are never written: the loaded model builds its own.
        Values in ``default_headers`` and ``model_kwargs`` are written as they are, so keep
        credentials out of them.
        """
        return True

    @classmethod
    def get_lc_namespace(cls) -> list[str]:
        """``["nim_harness"]``: the public package ``load`` imports ChatNVIDIA from."""
        return ["nim_harness"]

    @property
    def lc_secrets(self) -> dict[str, str]:
        return {"api_key": "NVIDIA_API_KEY"}

    # -- identity -------------------------------------------------------------------------------

    @property
    def _llm_type(self) -> str:
        return "chat-nvidia"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model": self.model, "base_url": self.base_url, **self._default_params}

    @property
    def _default_params(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _OWN_PARAMS if getattr(self, name) is not None}

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        model = kwargs.get("model") or self.model or self._served_model or ""
        params = LangSmithParams(ls_provider="nvidia", ls_model_name=model, ls_model_type="chat")
        if self.temperature is not None:
            params["ls_temperature"] = self.temperature
        if self.max_tokens is not None:
            params["ls_max_tokens"] = self.max_tokens
        if stop or self.stop:
            params["ls_stop"] = stop or self.stop
        return params

    # -- request building (pure) ----------------------------------------------------------------

    def _prepare(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None,
        kwargs: Mapping[str, Any],
        *,
        model: str,
        stream: bool,
    ) -> PreparedCall:
        call = dict(kwargs)
        call.pop("model", None)  # already resolved by the caller (see _model_name)
        call.pop("stream_usage", None)  # read through _stream_options
        enabled = call.pop("thinking_mode", self.thinking_mode)
        route = route_for(model, hosted=is_hosted(self.base_url))
        if enabled is not None and route.thinking is None and model != self.model:
            # a model picked from the server or named per call: not checked at construction
            warn_user(no_thinking_switch(model))
        thinking = (route.thinking, bool(enabled)) if enabled is not None and route.thinking else None
        if stop is not None:
            call["stop"] = stop
        params = merge_params(self._default_params, self.model_kwargs, call)
        if stream and int(params.get("n", 1)) > 1:
            raise ValueError(
                f"n={params['n']} asks for several answers, but a stream carries one; "
                "use invoke()/generate() for n > 1, or stream with n=1"
            )
        options = self._stream_options(kwargs) if route.takes_stream_options else None
        payload = build(
            messages,
            model=model,
            params=params,
            stream=stream,
            stream_options=options,
            thinking=thinking,
            nv_vlm=route.nv_vlm,
        )
        headers = call_headers(payload["messages"], self.default_headers)
        return PreparedCall(route.path, payload, headers, bool((options or {}).get("include_usage")))

    def _stream_options(self, kwargs: Mapping[str, Any]) -> dict[str, Any] | None:
        """``stream_options`` for a streamed call; ``stream(..., stream_usage=False)`` (or the field)
        leaves usage out, ``stream_options=None`` sends nothing."""
        options = dict(self.stream_options or {})
        if not kwargs.get("stream_usage", self.stream_usage):
            options.pop("include_usage", None)
        return options or None

    # -- model resolution (a local NIM may be asked which model it serves) ------------------------

    def _known_model(self, kwargs: Mapping[str, Any]) -> str | None:
        """The call's ``model=`` override or the configured model, if either is set (on the hosted
        API one always is: construction fills in the default)."""
        name = kwargs.get("model") or self.model or self._served_model
        return str(name) if name else None

    def _model_name(self, kwargs: Mapping[str, Any]) -> str:
        """The known model, or else the one model a local NIM serves."""
        known = self._known_model(kwargs)
        if known is not None:
            return known
        return self._pick_served(request_json(self._http(), self._settings, "GET", "models"))

    async def _amodel_name(self, kwargs: Mapping[str, Any]) -> str:
        known = self._known_model(kwargs)
        if known is not None:
            return known
        return self._pick_served(await arequest_json(self._ahttp(), self._settings, "GET", "models"))

    # -- I/O shells -----------------------------------------------------------------------------

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        call = self._prepare(messages, stop, kwargs, model=self._model_name(kwargs), stream=False)
        answer = request_json(self._http(), self._settings, "POST", call.path, call.payload, call.headers)
        return parse_response(answer)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        call = self._prepare(messages, stop, kwargs, model=await self._amodel_name(kwargs), stream=False)
        answer = await arequest_json(
            self._ahttp(), self._settings, "POST", call.path, call.payload, call.headers
        )
        return parse_response(answer)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        call = self._prepare(messages, stop, kwargs, model=self._model_name(kwargs), stream=True)
        events = stream_events(self._http(), self._settings, call.path, call.payload, call.headers)
        # closing(): a consumer that stops early hands the pooled connection back at once.
        with closing(events), closing(iter_chunks(events, call.include_usage)) as chunks:
            if run_manager is None or not run_manager.handlers:  # stream() passes none
                yield from chunks
                return
            for chunk in chunks:
                run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                yield chunk

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        call = self._prepare(messages, stop, kwargs, model=await self._amodel_name(kwargs), stream=True)
        events = astream_events(self._ahttp(), self._settings, call.path, call.payload, call.headers)
        # Async generators are finalised by the event loop later, not when dropped: close them here.
        async with aclosing(events), aclosing(aiter_chunks(events, call.include_usage)) as chunks:
            listener = run_manager if run_manager is not None and run_manager.handlers else None
            async for chunk in chunks:
                if listener is not None:
                    await listener.on_llm_new_token(chunk.text, chunk=chunk)
                yield chunk

    # -- model listing --------------------------------------------------------------------------

    get_available_models: ClassVar[ModelListing] = ModelListing()
    aget_available_models: ClassVar[AsyncModelListing] = AsyncModelListing()

    def _list_models(self) -> list[Model]:
        body = request_json(self._http(), self._settings, "GET", "models")
        return parse_listing(body, hosted=is_hosted(self.base_url))

    async def _alist_models(self) -> list[Model]:
        body = await arequest_json(self._ahttp(), self._settings, "GET", "models")
        return parse_listing(body, hosted=is_hosted(self.base_url))

    @property
    def available_models(self) -> list[Model]:
        """This model's listing (``get_available_models()`` on the instance)."""
        return self._list_models()

    def _combine_llm_outputs(self, llm_outputs: list[dict[str, Any] | None]) -> dict[str, Any]:
        return combine_llm_outputs(llm_outputs)

    # -- tools, structured output, thinking -----------------------------------------------------

    def bind_tools(
        self,
        tools: Sequence[ToolLike],
        *,
        tool_choice: ToolChoice = None,
        parallel_tool_calls: bool | None = None,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Offer ``tools`` to the model.

        ``tool_choice``: auto, none, required/any/True, a tool name, or an OpenAI dict.
        """
        formatted = [with_strict(tool, strict) for tool in format_tools(tools)]
        choice = to_wire_choice(tool_choice, tool_names(formatted))
        extra = {"tool_choice": choice, "parallel_tool_calls": parallel_tool_calls}
        return self.bind(tools=formatted, **{k: v for k, v in extra.items() if v is not None}, **kwargs)

    def with_structured_output(
        self,
        schema: Mapping[str, Any] | type,
        *,
        method: Method = "json_schema",
        include_raw: bool = False,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, Any]:
        """Answers parsed into ``schema`` (Pydantic model, TypedDict, JSON-schema dict or Enum).

        One request per call. ``method`` picks what is sent (see ``_structured``);
        ``include_raw=True`` returns ``{"raw", "parsed", "parsing_error"}`` instead of raising
        when the answer does not parse.
        """
        if method not in METHODS:
            raise ValueError(f"method={method!r} is not supported; use one of {list(METHODS)}")
        if kwargs:
            raise TypeError(f"with_structured_output got unexpected arguments {sorted(kwargs)}")
        trace = {"kwargs": {"method": method, "strict": strict}, "schema": schema_for_trace(schema)}
        if method == "function_calling":
            tool = tool_for(schema, strict)
            name = tool["function"]["name"]
            bound = self.bind_tools([tool], tool_choice=name, ls_structured_output_format=trace)
        else:
            bound = self.bind(
                **request_kwargs(schema, method, self.structured_output_style, strict),
                ls_structured_output_format=trace,
            )
        return with_parser(bound, parser_for(schema, method), include_raw)

    def with_thinking_mode(
        self, enabled: bool = True, **kwargs: Any
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """This model with reasoning switched on or off, the way the catalogue says the model takes it.

        For a model without a known switch this warns and changes nothing, as the published client
        does; ``kwargs`` are bound along (``with_thinking_mode(True, temperature=0.6)``).
        """
        if self.model and thinking_control(self.model) is None:
            warn_user(no_thinking_switch(self.model))
        return self.bind(thinking_mode=enabled, **kwargs)
