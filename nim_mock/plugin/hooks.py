"""Configuration from ``conftest.py``: the ``nim_config`` fixture, recording hooks, filters and matchers.

pytest-recording users configure vcrpy with a ``vcr_config`` fixture; nim-harness reads a
``nim_config`` fixture the same way (override it in a ``conftest.py``, a module or a class), and
the keys mean what vcrpy's mean:

- ``record_mode``, ``allow_playback_repeats``, ``ignore``: as the ``nim`` marker's arguments; a
  marker beats ``nim_config``, and ``--nim-record-mode`` on the command line beats both;
- ``filter_headers``, ``filter_query_parameters``, ``filter_post_data_parameters``: names
  (case-insensitive for headers) removed from what is written, or ``(name, replacement)`` pairs
  that keep the name with another value: headers of the request and the response, parameters of
  the request's query string, top-level fields of its JSON body;
- ``before_record_request(request) -> request | None`` and ``before_record_response(response) ->
  response | None``: called on each exchange (``nim_mock.cassette.RecordedRequest`` /
  ``RecordedResponse``, frozen: return ``dataclasses.replace(...)``) after the filters and before
  redaction; returning ``None`` leaves the exchange out of the cassette;
- ``match_on``: extra matchers, ``matcher(recorded, sent) -> bool`` over two ``RecordedRequest``:
  in mock mode an interaction answers only if method, path and body match (the mock's own rule)
  *and* every extra matcher agrees.

Filters and hooks apply to what record modes write; redaction of credentials still runs after
them, with the credentials found in the exchanges as they were sent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import parse_qsl, urlencode

from nim_mock.plugin.marker import MarkerError, check_record_mode
from nim_mock.plugin.options import RecordMode

if TYPE_CHECKING:  # loaded with the plugin in every run; the cassette types only when recording
    from nim_mock.cassette import Interaction, RecordedRequest, RecordedResponse

__all__ = ["CONFIG_KEYS", "ConfigError", "Filter", "NimConfig", "apply_recording_hooks", "parse_nim_config"]

Filter = tuple[str, str | None]
"""A name to filter and its replacement (``None``: removed)."""
RequestMatcher = Callable[["RecordedRequest", "RecordedRequest"], bool]

CONFIG_KEYS: Final = (
    "record_mode",
    "allow_playback_repeats",
    "ignore",
    "filter_headers",
    "filter_query_parameters",
    "filter_post_data_parameters",
    "before_record_request",
    "before_record_response",
    "match_on",
)


class ConfigError(ValueError):
    """``nim_config`` returned something the plugin cannot use; the message says what to return."""


@dataclass(frozen=True)
class NimConfig:
    """``nim_config``'s settings, checked."""

    record_mode: RecordMode | None = None
    allow_playback_repeats: bool | None = None
    ignore: tuple[str, ...] = ()
    filter_headers: tuple[Filter, ...] = ()
    filter_query_parameters: tuple[Filter, ...] = ()
    filter_post_data_parameters: tuple[Filter, ...] = ()
    before_record_request: Callable[[RecordedRequest], RecordedRequest | None] | None = None
    before_record_response: Callable[[RecordedResponse], RecordedResponse | None] | None = None
    match_on: tuple[RequestMatcher, ...] = ()

    @property
    def changes_recordings(self) -> bool:
        return bool(
            self.filter_headers
            or self.filter_query_parameters
            or self.filter_post_data_parameters
            or self.before_record_request
            or self.before_record_response
        )


def _filters(key: str, value: object) -> tuple[Filter, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ConfigError(f"nim_config[{key!r}] must be a list of names or (name, replacement) pairs")
    found: list[Filter] = []
    for item in value:
        if isinstance(item, str) and item:
            found.append((item, None))
        elif (
            isinstance(item, tuple | list)
            and len(item) == 2
            and isinstance(item[0], str)
            and item[0]
            and (item[1] is None or isinstance(item[1], str))
        ):
            found.append((item[0], item[1]))
        else:
            raise ConfigError(
                f"nim_config[{key!r}] has {item!r}; give a name such as 'authorization' or a pair "
                "such as ('authorization', 'XXX')"
            )
    return tuple(found)


def _callable(key: str, value: object) -> Any:
    if value is not None and not callable(value):
        raise ConfigError(f"nim_config[{key!r}] must be a function, got {type(value).__name__}")
    return value


def parse_nim_config(value: object) -> NimConfig:
    """Check what ``nim_config`` returned (a mapping of the keys in ``CONFIG_KEYS``)."""
    if not isinstance(value, Mapping):
        raise ConfigError(f"the nim_config fixture must return a dict, got {type(value).__name__}")
    unknown = sorted(str(key) for key in value if key not in CONFIG_KEYS)
    if unknown:
        raise ConfigError(
            f"nim_config has unknown key(s) {', '.join(unknown)}; it takes: {', '.join(CONFIG_KEYS)}"
        )
    try:
        record_mode = check_record_mode(value.get("record_mode"), "nim_config['record_mode']")
    except MarkerError as error:
        raise ConfigError(str(error)) from None
    repeats = value.get("allow_playback_repeats")
    if repeats is not None and not isinstance(repeats, bool):
        raise ConfigError(f"nim_config['allow_playback_repeats'] must be True or False, got {repeats!r}")
    ignore = value.get("ignore", ())
    if isinstance(ignore, str):
        ignore = (ignore,)
    if not isinstance(ignore, list | tuple) or not all(isinstance(p, str) and p for p in ignore):
        raise ConfigError(
            f"nim_config['ignore'] must be a list of body paths such as ['seed'], got {ignore!r}"
        )
    matchers = value.get("match_on", ())
    if callable(matchers):
        matchers = (matchers,)
    if not isinstance(matchers, list | tuple) or not all(callable(m) for m in matchers):
        raise ConfigError(
            "nim_config['match_on'] must be a list of functions matcher(recorded, sent) -> bool over "
            "two nim_mock.cassette.RecordedRequest"
        )
    return NimConfig(
        record_mode=record_mode,
        allow_playback_repeats=repeats,
        ignore=tuple(ignore),
        filter_headers=_filters("filter_headers", value.get("filter_headers", ())),
        filter_query_parameters=_filters("filter_query_parameters", value.get("filter_query_parameters", ())),
        filter_post_data_parameters=_filters(
            "filter_post_data_parameters", value.get("filter_post_data_parameters", ())
        ),
        before_record_request=_callable("before_record_request", value.get("before_record_request")),
        before_record_response=_callable("before_record_response", value.get("before_record_response")),
        match_on=tuple(matchers),
    )


def _filtered_pairs(
    pairs: Sequence[tuple[str, str]], filters: Sequence[Filter], *, fold: bool
) -> list[tuple[str, str]]:
    wanted = {(name.lower() if fold else name): replacement for name, replacement in filters}
    kept = []
    for name, value in pairs:
        key = name.lower() if fold else name
        if key not in wanted:
            kept.append((name, value))
        elif wanted[key] is not None:
            kept.append((name, str(wanted[key])))
    return kept


def _filtered_path(path: str, filters: Sequence[Filter]) -> str:
    route, question, query = path.partition("?")
    if not question or not filters:
        return path
    pairs = _filtered_pairs(parse_qsl(query, keep_blank_values=True), filters, fold=False)
    return f"{route}?{urlencode(pairs)}" if pairs else route


def _filtered_request(request: RecordedRequest, config: NimConfig) -> RecordedRequest:
    headers = dict(_filtered_pairs(list(request.headers.items()), config.filter_headers, fold=True))
    body = request.body
    if isinstance(body, dict) and config.filter_post_data_parameters:
        body = dict(_filtered_pairs(list(body.items()), config.filter_post_data_parameters, fold=False))
    return replace(
        request, path=_filtered_path(request.path, config.filter_query_parameters), headers=headers, body=body
    )


def apply_recording_hooks(interactions: Iterable[Interaction], config: NimConfig) -> tuple[Interaction, ...]:
    """The interactions as ``config`` has them written: filtered, then through the hooks (``None`` drops)."""
    from nim_mock.cassette import Interaction

    kept = []
    for interaction in interactions:
        request: RecordedRequest | None = _filtered_request(interaction.request, config)
        response: RecordedResponse | None = replace(
            interaction.response,
            headers=tuple(_filtered_pairs(interaction.response.headers, config.filter_headers, fold=True)),
        )
        if request is not None and config.before_record_request is not None:
            request = config.before_record_request(request)
        if response is not None and config.before_record_response is not None:
            response = config.before_record_response(response)
        if request is not None and response is not None:
            kept.append(Interaction(request, response))
    return tuple(kept)
