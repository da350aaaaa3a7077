"""The one place secrets are replaced before a recording is written anywhere.

What is replaced, wherever it appears (request and response headers, the URL path and query, JSON
bodies including their keys, raw bodies, every streamed event):

- the values of credential headers: ``Authorization``, ``Proxy-Authorization``, ``api-key``,
  ``x-api-key``, ``Cookie``, ``Set-Cookie``;
- the values of credential-looking query parameters and JSON fields (``api_key``, ``password``, ...);
- credentials anywhere in any text, as ``secrets`` defines them (``nvapi-`` and ``sk-`` keys,
  ``Bearer <token>``): one definition of a secret for the loader, the writer and this module;
- the credentials the client itself sent (``sent_credentials``): a local server's key has no
  recognisable shape, yet the server may echo it in a body or an error;
- every value the user lists (``--nim-harness-redact``, ``NIM_REDACT``, ini ``nim_harness_redact``)
  and the API key in use, both as written and as they look inside a JSON string.

Redaction builds new frozen objects and never mutates what it was given (vcrpy's rule: redact a
copy, before storing). It is deliberately greedy: a false positive costs a re-record, a false
negative leaks a key. The writer (``_persist.save_cassette``) still checks the result and refuses a
file in which a known secret pattern survived, so this module is not the last line of defence.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final
from urllib.parse import parse_qsl, unquote_plus

from nim_mock.cassette import Cassette, Event, Interaction, RecordedRequest, RecordedResponse
from nim_mock.cassettes.secrets import SECRET_PATTERN, SENSITIVE_HEADERS, is_redacted, secret_in_text

__all__ = ["API_KEY_ENV", "MASK", "REDACT_ENV", "Redactor", "sent_credentials"]

MASK: Final = "REDACTED"
"""What a secret becomes. Plain letters, so it is valid inside JSON strings, URLs and header values."""

REDACT_ENV: Final = "NIM_REDACT"
"""Extra values to redact, comma-separated; ``nim-mock record`` and the pytest plugin both read it."""
API_KEY_ENV: Final = "NVIDIA_API_KEY"
"""The variable ChatNVIDIA (ours and LangChain's) reads the hosted catalogue's key from; whatever
key it holds is redacted from every recording."""

SECRET_FIELDS: Final = frozenset(
    {"api_key", "api-key", "apikey", "authorization", "password", "access_token", "client_secret", "secret"}
)


def _mask(found: re.Match[str]) -> str:
    """The replacement for one pattern match: real credentials go, placeholders and prose stay."""
    text = found.group(0)
    if secret_in_text(text) is None:
        return text
    return f"Bearer {MASK}" if found.lastgroup in ("bearer", "token") else MASK


def _escaped_forms(value: str) -> list[str]:
    """``value`` as written and as it appears inside a JSON string (both escaping styles)."""
    forms = [value, json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]]
    return list(dict.fromkeys(f for f in forms if f))


_MIN_SENT: Final = 8
"""Shorter sent credentials are not scrubbed as literals (replacing "x" everywhere garbles a file);
the header or parameter that carried them is masked by name anyway."""


def _header_credentials(name: str, value: str) -> list[str]:
    """What one header sends as a credential: its value, the token after a ``Bearer``/``Basic``/
    ``Token`` scheme, and for ``Cookie`` each ``name=value`` part's bare value, since a server may
    echo ``XYZ`` from ``Cookie: session=XYZ`` without the name that gave it away."""
    value = value.strip()
    if name.lower() not in SENSITIVE_HEADERS or not value:
        return []
    found = [value]
    scheme, _, token = value.partition(" ")
    if scheme.lower() in ("bearer", "basic", "token") and token.strip():
        found.append(token.strip())
    if name.lower() == "cookie":
        found.extend(part.partition("=")[2].strip() for part in value.split(";"))
    return found


def sent_credentials(interactions: Sequence[Interaction]) -> tuple[str, ...]:
    """The credential values the client sent: credential header values (also without their
    ``Bearer``/``Basic``/``Token`` scheme, and each cookie's value on its own) and credential query
    parameters. Both the plugin's record mode and ``nim-mock record`` scrub exactly these."""
    values: list[str] = []
    for interaction in interactions:
        request = interaction.request
        for name, value in request.headers.items():
            values.extend(_header_credentials(name, value))
        query = request.path.partition("?")[2]
        names = (*SECRET_FIELDS, "key", "token")
        values.extend(v for k, v in parse_qsl(query, keep_blank_values=True) if k.lower() in names)
    return tuple(dict.fromkeys(v for v in values if len(v) >= _MIN_SENT and not is_redacted(v)))


@dataclass(frozen=True, slots=True)
class Redactor:
    """Replaces secrets in recordings. ``values`` are literal strings to scrub besides the known patterns."""

    values: tuple[str, ...] = ()

    def _literals(self) -> list[str]:
        # Longest first, so a value that contains another is replaced whole.
        forms = [form for value in self.values if value for form in _escaped_forms(value)]
        return sorted(dict.fromkeys(forms), key=len, reverse=True)

    def text(self, value: str) -> str:
        """``value`` with every nvapi- key and listed value replaced by ``MASK``."""
        result = SECRET_PATTERN.sub(_mask, value)
        for literal in self._literals():
            result = result.replace(literal, MASK)
        return result

    def data(self, value: bytes) -> bytes:
        """The same for bytes that may not be UTF-8 (bodies, events); other bytes come back unchanged."""
        # surrogateescape maps each undecodable byte to a lone surrogate and back, so the round trip
        # is exact whatever the bytes are.
        return self.text(value.decode("utf-8", "surrogateescape")).encode("utf-8", "surrogateescape")

    def json(self, value: Any) -> Any:
        """A deep copy of a JSON value with secrets replaced, in keys and strings alike."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.json(item) for item in value]
        if isinstance(value, dict):
            return {
                self.text(key): (MASK if key.lower() in SECRET_FIELDS and item else self.json(item))
                for key, item in value.items()
            }
        return value

    def path(self, path: str) -> str:
        """A request path with its query's credential parameters masked and other secrets replaced.

        The query is edited pair by pair, never re-encoded: the mock matches paths as recorded, so
        ``a%20b`` must not come back as ``a+b``.
        """
        base, sep, query = path.partition("?")
        if not sep:
            return self.text(base)
        pairs = []
        for pair in query.split("&"):
            name, equals, _ = pair.partition("=")
            secret = unquote_plus(name).lower() in (*SECRET_FIELDS, "key", "token")
            pairs.append(f"{name}={MASK}" if secret and equals else pair)
        return self.text(base) + "?" + self.text("&".join(pairs))

    def header_value(self, name: str, value: str) -> str:
        return MASK if name.lower() in SENSITIVE_HEADERS else self.text(value)

    def headers(self, headers: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
        return tuple((self.text(name), self.header_value(name, value)) for name, value in headers)

    def request(self, request: RecordedRequest) -> RecordedRequest:
        headers: Mapping[str, str] = dict(self.headers(request.headers.items()))
        return replace(
            request,
            path=self.path(request.path),
            headers=headers,
            body=self.json(request.body) if request.body is not None else None,
            raw_body=self.data(request.raw_body) if request.raw_body is not None else None,
        )

    def response(self, response: RecordedResponse) -> RecordedResponse:
        events = (
            tuple(Event(t_ms=e.t_ms, raw=self.data(e.raw)) for e in response.events)
            if response.events is not None
            else None
        )
        return replace(
            response, headers=self.headers(response.headers), body=self.data(response.body), events=events
        )

    def interaction(self, interaction: Interaction) -> Interaction:
        return Interaction(
            request=self.request(interaction.request), response=self.response(interaction.response)
        )

    def cassette(self, cassette: Cassette) -> Cassette:
        return replace(
            cassette,
            description=self.text(cassette.description),
            interactions=tuple(self.interaction(i) for i in cassette.interactions),
        )
