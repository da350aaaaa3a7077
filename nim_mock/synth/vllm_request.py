"""Checking a chat or completions request the way vLLM 0.32's OpenAI server does, in its words.

What a ``nim2`` stand-in answers a bad request with: the status, ``type``, ``param`` and message
vLLM gives (measured with the conformance battery against ``../shared/live-target-vllm``), in
vLLM's order of checks:

1. the request model (pydantic): every field of the wrong type, collected in field order, as one
   ``"Bad Request"`` (:mod:`~nim_mock.synth.pydantic_errors`); lax coercion as pydantic does it,
   so ``"4"`` is a valid ``max_tokens`` and ``"yes"`` a valid ``stream``;
2. the model's validators (``stream_options`` without ``stream``, ``top_logprobs`` without
   ``logprobs``, ``tool_choice`` against ``tools``, ``response_format``, ``structured_outputs``),
   each a ``BadRequestError`` naming its parameter;
3. the model: 404 ``The model `x` does not exist.`` for one the server does not serve;
4. the chat template (an empty conversation, an image for a text model) and the context
   (``max_model_len``);
5. the sampling parameters (``SamplingParams._verify_args``).

:func:`check_request` returns the body with its scalars coerced (what the server goes on to
read) or the :class:`~nim_mock.wire.errors.Problem`. Pure.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Final

from nim_mock.synth.pydantic_errors import FieldError, as_bool, as_float, as_int, validation_problem
from nim_mock.wire.errors import Problem

__all__ = ["MAX_LOGPROBS", "MAX_N", "check_request", "unknown_model"]

MAX_LOGPROBS: Final = 20
MAX_N: Final = 16384
"""vLLM's default ``VLLM_MAX_N_SEQUENCES``."""
_INT64: Final = 2**63

_FLOATS: Final = (
    "frequency_penalty",
    "presence_penalty",
    "temperature",
    "top_p",
    "min_p",
    "repetition_penalty",
    "length_penalty",
)
_CHAT_INTS: Final = ("top_logprobs", "max_tokens", "max_completion_tokens", "n", "top_k", "min_tokens")
_COMPLETION_INTS: Final = ("logprobs", "max_tokens", "n", "top_k", "min_tokens")
_BOOLS: Final = ("stream", "echo", "ignore_eos", "skip_special_tokens", "parallel_tool_calls")

_MESSAGE_KINDS: Final = (
    # (class name, role literal, fields in declaration order: (name, kind))
    ("ChatCompletionDeveloperMessageParam", "developer", (("content", "parts"), ("role", "role"))),
    ("ChatCompletionSystemMessageParam", "system", (("content", "parts"), ("role", "role"))),
    ("ChatCompletionUserMessageParam", "user", (("content", "parts"), ("role", "role"))),
    ("ChatCompletionAssistantMessageParam", "assistant", (("role", "role"), ("content", "parts?"))),
    (
        "ChatCompletionToolMessageParam",
        "tool",
        (("content", "parts"), ("role", "role"), ("tool_call_id", "str")),
    ),
    (
        "ChatCompletionFunctionMessageParam",
        "function",
        (("content", "str?"), ("name", "str"), ("role", "role")),
    ),
    ("CustomChatCompletionMessageParam", None, (("role", "str"), ("content", "list?"))),
)


def unknown_model(model: str, served: Sequence[str]) -> Problem:
    """vLLM's 404 for a model it does not serve, listing those it does."""
    return Problem(
        404,
        "NotFoundError",
        f"The model `{model}` does not exist. Valid aliases: {', '.join(served)}.",
        param="model",
    )


def _refusal(message: str, param: str | None = None, value: Any = None) -> Problem:
    """A ``BadRequestError`` as vLLM words one naming its parameter (and the value, when given)."""
    if param is not None:
        shown = "" if value is None else f", value={value}"
        message = f"{message} (parameter={param}{shown})"
    return Problem(400, "BadRequestError", message, param=param)


def check_request(
    body: dict[str, Any],
    *,
    chat: bool,
    served: Sequence[str],
    max_model_len: int,
    prompt_tokens: Callable[[dict[str, Any]], int],
    vocab_size: int,
) -> dict[str, Any] | Problem:
    """``body`` with its scalars coerced, or vLLM's answer to the first thing wrong with it.

    ``prompt_tokens`` counts the prompt of a body that passed the earlier checks (it is called at
    most once, only when the context has to be checked). ``vocab_size`` is what ``top_logprobs: -1``
    ("every token") asks for.
    """
    coerced = dict(body)
    errors = _field_errors(coerced, chat=chat)
    if errors:
        return validation_problem(errors)
    problem = _validators(coerced, chat=chat)
    if problem is not None:
        return problem
    model = coerced.get("model")
    if model not in (None, "") and model not in served:
        return unknown_model(str(model), served)
    problem = _template(coerced, chat=chat, model=str(model or served[0]))
    if problem is None:
        problem = _context(coerced, max_model_len, prompt_tokens)
    return problem or _sampling(coerced, chat=chat, vocab_size=vocab_size) or coerced


# -- 1. the request model --------------------------------------------------------------------


def _field_errors(body: dict[str, Any], *, chat: bool) -> list[FieldError]:
    errors: list[FieldError] = []
    if chat:
        if "messages" not in body:
            errors.append(FieldError("missing", ("body", "messages"), "Field required", body))
        else:
            errors.extend(_messages(body["messages"]))
    if body.get("model") is not None and not isinstance(body["model"], str):
        errors.append(
            FieldError("string_type", ("body", "model"), "Input should be a valid string", body["model"])
        )
    if not chat and body.get("prompt") is not None:
        errors.extend(_prompt(body["prompt"]))
    coercions: list[tuple[str, Callable[[Any, tuple[str | int, ...]], Any]]] = [
        *((name, as_float) for name in _FLOATS),
        *((name, as_int) for name in (_CHAT_INTS if chat else _COMPLETION_INTS)),
        *((name, as_bool) for name in (*_BOOLS, *(("logprobs",) if chat else ()))),
    ]
    for name, read in coercions:
        if body.get(name) is None:
            continue
        value = read(body[name], ("body", name))
        if isinstance(value, FieldError):
            errors.append(value)
        else:
            body[name] = value
    errors.extend(_seed(body))
    errors.extend(_stop(body.get("stop")))
    if body.get("logit_bias") is not None and not isinstance(body["logit_bias"], dict):
        errors.append(
            FieldError(
                "dict_type", ("body", "logit_bias"), "Input should be a valid dictionary", body["logit_bias"]
            )
        )
    if chat:
        errors.extend(_tools(body.get("tools")))
        errors.extend(_response_format(body.get("response_format")))
    return errors


def _messages(messages: Any) -> list[FieldError]:
    if not isinstance(messages, list):
        return [FieldError("list_type", ("body", "messages"), "Input should be a valid list", messages)]
    errors: list[FieldError] = []
    for index, message in enumerate(messages):
        found = _message(message, ("body", "messages", index))
        if found:
            errors.extend(found)
    return errors


def _message(message: Any, loc: tuple[str | int, ...]) -> list[FieldError]:
    """Errors of one message against every member of vLLM's message union; none when one accepts it."""
    if not isinstance(message, dict):
        errors = [
            FieldError("dict_type", (*loc, name), "Input should be a valid dictionary", message)
            for name, _, _ in _MESSAGE_KINDS
        ]
        errors.append(
            FieldError(
                "model_attributes_type",
                (*loc, "Message"),
                "Input should be a valid dictionary or object to extract fields from",
                message,
            )
        )
        return errors
    errors = []
    for name, role, fields in _MESSAGE_KINDS:
        found = _member(message, (*loc, name), role, fields)
        if not found:
            return []
        errors.extend(found)
    # openai-harmony's Message, the union's last member: an author and a list of contents.
    errors.append(FieldError("missing", (*loc, "Message", "author"), "Field required", message))
    content = message.get("content")
    if isinstance(content, list):
        pass
    elif "content" not in message:
        errors.append(FieldError("missing", (*loc, "Message", "content"), "Field required", message))
    else:
        errors.append(
            FieldError("list_type", (*loc, "Message", "content"), "Input should be a valid list", content)
        )
    return errors


def _member(
    message: dict[str, Any], loc: tuple[str | int, ...], role: str | None, fields: tuple[tuple[str, str], ...]
) -> list[FieldError]:
    errors: list[FieldError] = []
    for field, kind in fields:
        where = (*loc, field)
        if field not in message:
            if not kind.endswith("?"):
                errors.append(FieldError("missing", where, "Field required", message))
            continue
        value = message[field]
        if kind == "role":
            if value != role:
                errors.append(
                    FieldError(
                        "literal_error", where, f"Input should be '{role}'", value, {"expected": f"'{role}'"}
                    )
                )
        elif kind.startswith("parts"):
            if value is None and kind.endswith("?"):
                continue
            if not isinstance(value, str | list):
                errors.append(FieldError("string_type", where, "Input should be a valid string", value))
                errors.append(FieldError("iterable_type", where, "Input should be iterable", value))
        elif kind.startswith("list"):
            if value is not None and not isinstance(value, str | list):
                errors.append(FieldError("string_type", where, "Input should be a valid string", value))
                errors.append(FieldError("list_type", where, "Input should be a valid list", value))
        elif not isinstance(value, str) and not (value is None and kind.endswith("?")):
            errors.append(FieldError("string_type", where, "Input should be a valid string", value))
    return errors


def _prompt(prompt: Any) -> list[FieldError]:
    if isinstance(prompt, str):
        return []
    if isinstance(prompt, list) and (
        all(isinstance(p, str) for p in prompt)
        or all(isinstance(p, int) and not isinstance(p, bool) for p in prompt)
    ):
        return []
    loc = ("body", "prompt")
    return [
        FieldError("list_type", loc, "Input should be a valid list", prompt),
        FieldError("list_type", loc, "Input should be a valid list", prompt),
        FieldError("string_type", loc, "Input should be a valid string", prompt),
        FieldError("list_type", loc, "Input should be a valid list", prompt),
    ]


def _seed(body: dict[str, Any]) -> list[FieldError]:
    if body.get("seed") is None:
        return []
    seed = as_int(body["seed"], ("body", "seed"))
    if isinstance(seed, FieldError):
        return [seed]
    if seed >= _INT64:
        limit = _INT64 - 1
        return [
            FieldError(
                "less_than_equal",
                ("body", "seed"),
                f"Input should be less than or equal to {limit}",
                seed,
                {"le": limit},
            )
        ]
    if seed < -_INT64:
        return [
            FieldError(
                "greater_than_equal",
                ("body", "seed"),
                f"Input should be greater than or equal to {-_INT64}",
                seed,
                {"ge": -_INT64},
            )
        ]
    body["seed"] = seed
    return []


def _stop(stop: Any) -> list[FieldError]:
    loc = ("body", "stop")
    if stop is None or isinstance(stop, str):
        return []
    if not isinstance(stop, list):
        return [
            FieldError("string_type", loc, "Input should be a valid string", stop),
            FieldError("list_type", loc, "Input should be a valid list", stop),
        ]
    bad = [
        FieldError("string_type", (*loc, index), "Input should be a valid string", item)
        for index, item in enumerate(stop)
        if not isinstance(item, str)
    ]
    if bad:
        return [FieldError("string_type", loc, "Input should be a valid string", stop), *bad]
    if len(stop) > 4:
        return [
            FieldError("string_type", loc, "Input should be a valid string", stop),
            FieldError(
                "too_long",
                loc,
                f"List should have at most 4 items after validation, not {len(stop)}",
                stop,
                {"field_type": "List", "max_length": 4, "actual_length": len(stop)},
            ),
        ]
    return []


def _tools(tools: Any) -> list[FieldError]:
    if tools is None:
        return []
    if not isinstance(tools, list):
        return [FieldError("list_type", ("body", "tools"), "Input should be a valid list", tools)]
    errors = []
    for index, tool in enumerate(tools):
        loc = ("body", "tools", index)
        if not isinstance(tool, dict):
            errors.append(
                FieldError(
                    "model_type",
                    loc,
                    "Input should be a valid dictionary or instance of ChatCompletionToolsParam",
                    tool,
                )
            )
        elif "function" not in tool:
            errors.append(FieldError("missing", (*loc, "function"), "Field required", tool))
        elif not isinstance(tool["function"], dict):
            errors.append(
                FieldError(
                    "model_type",
                    (*loc, "function"),
                    "Input should be a valid dictionary or instance of FunctionDefinition",
                    tool["function"],
                )
            )
        elif "name" not in tool["function"]:
            errors.append(
                FieldError("missing", (*loc, "function", "name"), "Field required", tool["function"])
            )
    return errors


def _response_format(value: Any) -> list[FieldError]:
    """Errors against the union of vLLM's response formats (plain, structural tag, legacy structural tag)."""
    if value is None:
        return []
    loc = ("body", "response_format")
    if not isinstance(value, dict):
        return [FieldError("model_type", loc, "Input should be a valid dictionary", value)]
    kind = value.get("type")
    plain: list[FieldError] = []
    if kind not in ("text", "json_object", "json_schema"):
        expected = "'text', 'json_object' or 'json_schema'"
        plain.append(
            FieldError(
                "literal_error", (*loc, "type"), f"Input should be {expected}", kind, {"expected": expected}
            )
        )
    else:
        spec = value.get("json_schema")
        if isinstance(spec, dict) and "schema" in spec and not isinstance(spec["schema"], dict | type(None)):
            where = (*loc, "json_schema", "schema")
            plain.append(FieldError("dict_type", where, "Input should be a valid dictionary", spec["schema"]))
        if not plain:
            return []
    if kind == "structural_tag":
        return []
    tag = FieldError(
        "literal_error",
        (*loc, "type"),
        "Input should be 'structural_tag'",
        kind,
        {"expected": "'structural_tag'"},
    )
    return [
        *plain,
        tag,
        FieldError("missing", (*loc, "format"), "Field required", value),
        tag,
        FieldError("missing", (*loc, "structures"), "Field required", value),
        FieldError("missing", (*loc, "triggers"), "Field required", value),
    ]


# -- 2. the model's validators ---------------------------------------------------------------


def _validators(body: dict[str, Any], *, chat: bool) -> Problem | None:
    if body.get("stream_options") is not None and not body.get("stream"):
        return _refusal("Stream options can only be defined when `stream=True`.", "stream_options")
    if chat:
        if body.get("top_logprobs") is not None and not body.get("logprobs"):
            return _refusal("when using `top_logprobs`, `logprobs` must be set to true.", "top_logprobs")
        problem = _tool_choice(body)
        if problem is not None:
            return problem
        rf = body.get("response_format")
        if isinstance(rf, dict) and rf.get("type") == "json_schema" and rf.get("json_schema") is None:
            return _refusal(
                "When response_format type is 'json_schema', the 'json_schema' field must be provided.",
                "response_format",
            )
    else:
        if body.get("prompt") in (None, "", []):
            return _refusal("Either prompt or prompt_embeds must be provided and non-empty.", "prompt")
        logprobs = body.get("logprobs")
        if logprobs is not None and logprobs < 0 and logprobs != -1:
            return _refusal("`logprobs` must be a positive value or -1.", "logprobs", logprobs)
    structured = body.get("structured_outputs")
    if isinstance(structured, dict) and structured.get("choice") == []:
        return _refusal("Choice '[]' cannot be an empty list")
    return None


def _tool_choice(body: dict[str, Any]) -> Problem | None:
    tools = body.get("tools")
    if tools == []:
        return _refusal(
            "`tools` must not be an empty array. Either provide at least one tool or omit the field "
            "entirely.",
            "tools",
        )
    choice = body.get("tool_choice")
    if choice is None or choice == "none":
        return None
    if tools is None:
        return _refusal("When using `tool_choice`, `tools` must be set.", "tool_choice")
    if choice not in ("auto", "required") and not isinstance(choice, dict):
        return _refusal(
            f'Invalid value for `tool_choice`: {choice}! Only named tools, "none", "auto" or "required" are '
            "supported.",
            "tool_choice",
        )
    if isinstance(choice, dict):
        function = choice.get("function")
        name = function.get("name") if isinstance(function, dict) else None
        names = [
            t["function"].get("name")
            for t in tools
            if isinstance(t, dict) and isinstance(t.get("function"), dict)
        ]
        if name not in names:
            return _refusal(
                "The tool specified in `tool_choice` does not match any of the specified `tools`",
                "tool_choice",
            )
    return None


# -- 4. the template and the context -----------------------------------------------------------


def _template(body: dict[str, Any], *, chat: bool, model: str) -> Problem | None:
    if not chat:
        return None
    messages = body["messages"]
    if not messages:
        return _refusal("Cannot apply chat template to an empty conversation. Provide at least one message.")
    for message in messages:
        content = message.get("content")
        if isinstance(content, list) and any(
            isinstance(part, dict) and part.get("type") in ("image_url", "input_image", "image")
            for part in content
        ):
            return _refusal(f"{model} is not a multimodal model")
    return None


def _context(
    body: dict[str, Any], max_model_len: int, prompt_tokens: Callable[[dict[str, Any]], int]
) -> Problem | None:
    if prompt_tokens(body) > max_model_len:
        least = max_model_len + 1
        return _refusal(
            f"This model's maximum context length is {max_model_len} tokens. However, your prompt contains "
            f"at least {least} input tokens, which exceeds this limit even without any output tokens. Please "
            "reduce the length of the input prompt.",
            "input_tokens",
            least,
        )
    max_tokens = body.get("max_completion_tokens")
    if max_tokens is None:
        max_tokens = body.get("max_tokens")
    if max_tokens is not None and max_tokens > max_model_len:
        return _refusal(
            f"max_tokens={max_tokens} cannot be greater than max_model_len={max_model_len}. Please request "
            "fewer output tokens.",
            "max_tokens",
            max_tokens,
        )
    return None


# -- 5. the sampling parameters ------------------------------------------------------------------


def _sampling(body: dict[str, Any], *, chat: bool, vocab_size: int) -> Problem | None:
    n = body.get("n")
    if n is not None:
        if n < 1:
            return _refusal(f"n must be at least 1, got {n}.")
        if n > MAX_N:
            return _refusal(
                f"n must be at most {MAX_N}, got {n}. To increase this limit, set the VLLM_MAX_N_SEQUENCES "
                "environment variable."
            )
    for name in ("presence_penalty", "frequency_penalty"):
        value = body.get(name)
        if value is not None and not -2.0 <= value <= 2.0:
            return _refusal(f"{name} must be in [-2, 2], got {value}.")
    repetition = body.get("repetition_penalty")
    if repetition is not None and repetition <= 0.0:
        return _refusal(f"repetition_penalty must be greater than zero, got {repetition}.")
    temperature = body.get("temperature")
    if temperature is not None:
        if temperature < 0.0:
            return _refusal(
                f"temperature must be non-negative, got {temperature}.", "temperature", temperature
            )
        if temperature > 2.0:
            return _refusal(f"temperature must be in [0, 2], got {temperature}.", "temperature", temperature)
    top_p = body.get("top_p")
    if top_p is not None and not 0.0 < top_p <= 1.0:
        return _refusal(f"top_p must be in (0, 1], got {top_p}.", "top_p", top_p)
    top_k = body.get("top_k")
    if top_k is not None and top_k < -1:
        return _refusal(f"top_k must be 0 (disable), or at least 1, got {top_k}.")
    min_p = body.get("min_p")
    if min_p is not None and not 0.0 <= min_p <= 1.0:
        return _refusal(f"min_p must be in [0, 1], got {min_p}.")
    max_tokens = body.get("max_completion_tokens")
    if max_tokens is None:
        max_tokens = body.get("max_tokens")
    if max_tokens is not None and max_tokens < 1:
        return _refusal(f"max_tokens must be at least 1, got {max_tokens}.", "max_tokens", max_tokens)
    stop = body.get("stop")
    if stop == "" or (isinstance(stop, list) and "" in stop):
        return _refusal("stop cannot contain an empty string.")
    requested = body.get("top_logprobs") if chat else body.get("logprobs")
    if requested is not None:
        wanted = vocab_size if requested == -1 else requested
        if wanted > MAX_LOGPROBS:
            return _refusal(
                f"Requested sample logprobs of {wanted}, which is greater than max allowed: {MAX_LOGPROBS}",
                "logprobs",
                wanted,
            )
    if n is not None and n > 1 and temperature is not None and temperature == 0.0:
        return _refusal(f"n must be 1 when using greedy sampling, got {n}.")
    return None
