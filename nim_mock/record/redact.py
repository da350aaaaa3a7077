"""The one place secrets are replaced before a recording is written anywhere.

A credential is recognised by where the client put it, whatever it looks like:

- a header whose name says credential (``secrets.is_credential_header``: ``Authorization``,
  ``Cookie``, ``x-api-key``, any ``*-key``, ``*-token``, ``*-secret``, ``*-auth*``): its value, the
  token after a scheme word (``Bearer``, ``Token``, ...), the decoded ``user:password`` of Basic
  credentials and each half, each cookie's value;
- a query parameter or JSON body field whose name says credential (``secrets.is_credential_field``:
  ``api_key``, ``nvidia_api_key``, ``key``, ``token``, ``access_token``, ``password``, ...), and the
  same names in an HTML form body;
- what the server hands out under a credential name (a ``Set-Cookie`` value, a ``"cookie"`` member of
  an answer's JSON);
- every value the user lists (``--redact``, ``--nim-harness-redact``, ``NIM_REDACT``, the API key in use),
  and every key of known shape (``nvapi-``, ``sk-``, ``Bearer``, JWT) anywhere in the request.

Each is masked where it was put and replaced wherever it reappears, in the request and the answer
(path, headers, bodies, every streamed event), in every encoding ``secrets.KnownSecrets`` knows.
Keys of known shape are replaced anywhere. Text that is only conversation (a message's content) is
the user's content, not a credential, and is left as it is unless it holds one of the above.

Redaction builds new frozen objects and never mutates what it was given (vcrpy's rule: redact a
copy, before storing). It is deliberately greedy: a false positive costs a re-record, a false
negative leaks a key. ``RedactedRecording.save`` hands the known values to ``save_cassette``, whose
final check refuses, naming the place, a file in which any of them or a key of known shape survived:
so redaction keeps every exchange it can clean, and the check is not the only line of defence.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final
from urllib.parse import unquote, unquote_plus

from nim_mock.cassette import Cassette, Event, Interaction, RecordedRequest, RecordedResponse
from nim_mock.cassettes.persist import save_cassette
from nim_mock.cassettes.secrets import (
    SECRET_PATTERN,
    KnownSecrets,
    is_credential_field,
    is_credential_header,
    is_redacted,
    secret_in_text,
)

__all__ = [
    "LISTED",
    "MASK",
    "RedactedRecording",
    "Redactor",
    "recorded_credentials",
    "redact_recording",
]

MASK: Final = "REDACTED"
"""What a secret becomes. Plain letters, so it is valid inside JSON strings, URLs and header values."""

LISTED: Final = "listed to be redacted"
"""Where a value the user listed came from, as error messages say it."""

_MIN_LITERAL: Final = 8
"""Shorter credentials are not replaced wherever they reappear (replacing "en" everywhere garbles a
file); the header, parameter or field that carried them is still masked by name."""


def _mask(found: re.Match[str]) -> str:
    """The replacement for one pattern match: real credentials go, placeholders and prose stay."""
    text = found.group(0)
    if secret_in_text(text) is None:
        return text
    return f"Bearer {MASK}" if found.lastgroup in ("bearer", "token") else MASK


_JSON_STRING: Final = r'"((?:[^"\\]|\\.)*)"'
_JSON_MEMBER: Final = re.compile(_JSON_STRING + r"\s*:\s*" + _JSON_STRING)
_JSON_PAIR: Final = re.compile(r"\[\s*" + _JSON_STRING + r"\s*,\s*" + _JSON_STRING + r"\s*\]")


def _json_string(escaped: str) -> str:
    try:
        decoded = json.loads(f'"{escaped}"')
    except ValueError:
        return escaped
    return decoded if isinstance(decoded, str) else escaped


def _credential_members(text: str) -> Iterator[tuple[str, re.Match[str]]]:
    """JSON members (``"cookie": "..."``) and ``["name", "value"]`` pairs in ``text`` whose name is a
    credential header's and whose string value is not a placeholder: what the final check reports
    in a JSON body or event, found in the text so the rest of it stays byte for byte as it was."""
    for pattern in (_JSON_MEMBER, _JSON_PAIR):
        for found in pattern.finditer(text):
            name = _json_string(found.group(1))
            if is_credential_header(name) and not is_redacted(_json_string(found.group(2))):
                yield name, found


# -- what counts as a credential in one exchange ---------------------------------------------------------


def _basic_halves(token: str) -> list[str]:
    """The decoded ``user:password`` of Basic credentials and each half (standard or URL-safe base64)."""
    padded = token + "=" * (-len(token) % 4)
    for altchars in (None, b"-_"):
        try:
            pair = base64.b64decode(padded, altchars=altchars, validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            continue
        user, colon, password = pair.partition(":")
        return [pair, user, password] if colon else [pair]
    return []


def _parts(value: str) -> list[str]:
    """A credential as sent and what hides inside: the token after a scheme word (``Bearer``,
    ``Token``, ``ApiKey``, ...) and, for ``Basic``, the decoded pair and its halves."""
    value = value.strip()
    found = [value]
    scheme, space, token = value.partition(" ")
    token = token.strip()
    if space and token and scheme.isalpha():
        found.append(token)
        if scheme.lower() == "basic":
            found.extend(_basic_halves(token))
    return found


def _cookie_values(header: str) -> list[str]:
    """Each ``name=value`` of a ``Cookie`` header and its bare value, quoted or not: a server may echo
    ``XYZ`` from ``Cookie: session=XYZ`` without the name that gave it away."""
    found: list[str] = []
    for crumb in header.split(";"):
        _, equals, value = crumb.strip().partition("=")
        if equals:
            found.extend((crumb.strip(), value.strip(), value.strip().strip('"')))
    return found


def _form_credentials(query: str) -> Iterator[tuple[str, str]]:
    """(name, value) of each credential parameter of a query or form body, decoded both ways a server
    may decode it (``+`` as a space, as forms do, and as a plus sign)."""
    for pair in query.split("&"):
        raw_name, equals, raw_value = pair.partition("=")
        name = unquote_plus(raw_name)
        if equals and is_credential_field(name):
            yield name, unquote_plus(raw_value)
            yield name, unquote(raw_value)


def _body_credentials(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(field path, value) of each scalar under a credential field name, anywhere in a JSON body."""
    if isinstance(value, dict):
        for key, item in value.items():
            item_path = f"{path}.{key}" if path else str(key)
            if is_credential_field(str(key)):
                yield from ((item_path, scalar) for scalar in _scalars(item))
            yield from _body_credentials(item, item_path)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _body_credentials(item, f"{path}[{index}]")


def _scalars(value: Any) -> list[str]:
    """A credential field's value as text: strings and numbers, and those of a list."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return [str(value)]
    if isinstance(value, list):
        return [text for item in value for text in _scalars(item)]
    return []


def _strings(value: Any) -> Iterator[str]:
    """Every string in a JSON value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)


def _shaped_keys(text: str) -> Iterator[tuple[str, str]]:
    """(kind, key) for each key of known shape in ``text``, and a Bearer token on its own."""
    for found in SECRET_PATTERN.finditer(text):
        kind = secret_in_text(found.group(0))
        if kind is not None:
            yield kind, found.group(0)
            if found.group("token"):
                yield kind, found.group("token")


def _is_form(request: RecordedRequest) -> bool:
    content_type = next((v for k, v in request.headers.items() if k.lower() == "content-type"), "")
    return content_type.lower().startswith("application/x-www-form-urlencoded")


def _request_credentials(request: RecordedRequest) -> Iterator[tuple[str, str]]:
    """(origin, value) of every credential a request carries."""
    for name, value in request.headers.items():
        if is_credential_header(name):
            where = f"sent in the {name.lower()} header"
            # A header sent twice is stored with its values joined by commas: each is a credential.
            pieces = [value, *value.split(",")] if "," in value else [value]
            parts = [part for piece in pieces for part in _parts(piece)]
            if name.lower() == "cookie":
                parts.extend(_cookie_values(value))
            yield from ((where, part) for part in parts)
    for name, value in _form_credentials(request.path.partition("?")[2]):
        yield from ((f"sent as query parameter {name}", part) for part in _parts(value))
    for path, value in _body_credentials(request.body):
        yield from ((f"sent in request body field {path}", part) for part in _parts(value))
    text = request.raw_body.decode("utf-8", "surrogateescape") if request.raw_body else ""
    if _is_form(request):
        for name, value in _form_credentials(text):
            yield from ((f"sent in form field {name}", part) for part in _parts(value))
    texts = [request.path, *request.headers.keys(), *request.headers.values(), text, *_strings(request.body)]
    for kind, key in (found for piece in texts for found in _shaped_keys(piece)):
        yield f"sent in the request ({kind})", key


def _response_credentials(response: RecordedResponse) -> Iterator[tuple[str, str]]:
    """(origin, value) of every credential an answer hands out under a credential name."""
    for name, value in response.headers:
        if is_credential_header(name):
            where = f"handed out in the {name.lower()} response header"
            crumb = value.split(";", 1)[0] if name.lower() == "set-cookie" else value
            yield from ((where, part) for part in (*_parts(crumb), *_cookie_values(crumb)))
    bodies = [response.body, *(event.raw for event in response.events or ())]
    for body in bodies:
        for name, found in _credential_members(body.decode("utf-8", "surrogateescape")):
            value = _json_string(found.group(2))
            values = _cookie_values(value) if "cookie" in name.lower() else []
            yield from ((f"handed out in answer field {name}", part) for part in (*_parts(value), *values))


def recorded_credentials(interactions: Sequence[Interaction]) -> dict[str, str]:
    """Every credential value these exchanges carry, with where it came from (first place wins).

    Values shorter than eight characters and placeholders (``REDACTED``, ``$NVIDIA_API_KEY``) are left
    out: the place that carried them is masked by name, and replacing them everywhere would garble
    the file.
    """
    found: dict[str, str] = {}
    for interaction in interactions:
        pairs = (*_request_credentials(interaction.request), *_response_credentials(interaction.response))
        for origin, value in pairs:
            if len(value) >= _MIN_LITERAL and not is_redacted(value):
                found.setdefault(value, origin)
    return found


# -- replacing them ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Redactor:
    """Replaces secrets in recordings: keys of known shape, values under credential names, and every
    value ``known`` holds, in any encoding."""

    known: KnownSecrets = field(default_factory=KnownSecrets)

    @classmethod
    def listing(cls, values: Iterable[str]) -> Redactor:
        """A redactor for the values a user listed (and keys of known shape) only."""
        return cls(KnownSecrets(_listed(values)))

    def text(self, value: str) -> str:
        """``value`` with every known value and every key of known shape replaced by ``MASK``."""
        return SECRET_PATTERN.sub(_mask, self.known.replace(value, MASK))

    def data(self, value: bytes) -> bytes:
        """The same for bytes that may not be UTF-8 (bodies, events); other bytes come back unchanged.

        JSON members named like a credential header (``"cookie": "..."``) get their string masked in
        place, so a JSON answer stays byte for byte what the server sent everywhere else.
        """
        # surrogateescape maps each undecodable byte to a lone surrogate and back, so the round trip
        # is exact whatever the bytes are.
        text = self.text(value.decode("utf-8", "surrogateescape"))
        pieces: list[str] = []
        done = 0
        for _, found in sorted(_credential_members(text), key=lambda member: member[1].start(2)):
            start, end = found.span(2)
            if start >= done:
                pieces.extend((text[done:start], MASK))
                done = end
        pieces.append(text[done:])
        return "".join(pieces).encode("utf-8", "surrogateescape")

    def json(self, value: Any) -> Any:
        """A deep copy of a JSON value with secrets replaced, in keys and strings alike, and every
        scalar under a credential field name (``api_key``, ``password``, ...) masked."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.json(item) for item in value]
        if isinstance(value, dict):
            return {
                self.text(key): self._credential(item) if is_credential_field(key) else self.json(item)
                for key, item in value.items()
            }
        return value

    def _credential(self, value: Any) -> Any:
        if isinstance(value, str):
            return MASK if value else value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return MASK
        if isinstance(value, list):
            return [self._credential(item) for item in value]
        return self.json(value)  # an object (say a JSON schema property named "password"): look inside

    def path(self, path: str) -> str:
        """A request path with its query's credential parameters masked and other secrets replaced.

        The query is edited pair by pair, never re-encoded: the mock matches paths as recorded, so
        ``a%20b`` must not come back as ``a+b``.
        """
        base, sep, query = path.partition("?")
        return self.text(base) + "?" + self.form(query) if sep else self.text(base)

    def form(self, query: str) -> str:
        """A query string or form body with its credential parameters masked, pair by pair."""
        pairs = []
        for pair in query.split("&"):
            name, equals, _ = pair.partition("=")
            secret = is_credential_field(unquote_plus(name))
            pairs.append(f"{name}={MASK}" if secret and equals else pair)
        return self.text("&".join(pairs))

    def header_value(self, name: str, value: str) -> str:
        return MASK if is_credential_header(name) else self.text(value)

    def headers(self, headers: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
        return tuple((self.text(name), self.header_value(name, value)) for name, value in headers)

    def request(self, request: RecordedRequest) -> RecordedRequest:
        headers: Mapping[str, str] = dict(self.headers(request.headers.items()))
        raw_body = request.raw_body
        if raw_body is not None and _is_form(request):
            raw_body = self.form(raw_body.decode("utf-8", "surrogateescape")).encode(
                "utf-8", "surrogateescape"
            )
        elif raw_body is not None:
            raw_body = self.data(raw_body)
        return replace(
            request,
            path=self.path(request.path),
            headers=headers,
            body=self.json(request.body) if request.body is not None else None,
            raw_body=raw_body,
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


def _listed(values: Iterable[str]) -> dict[str, str]:
    # A value inside the mask itself ("ACTED") would be found again in every replacement.
    return {value: LISTED for value in values if value.strip() and value not in MASK}


@dataclass(frozen=True, slots=True)
class RedactedRecording:
    """A recording with its secrets replaced, and the values that were, for the final check."""

    cassette: Cassette
    known: KnownSecrets

    def save(self, path: Path) -> None:
        """Write the cassette to ``path`` atomically (its ``name`` is not part of the file).

        Raises ``CassetteError`` naming the place, and writes nothing, if a known value or a key of
        known shape would still be in the file.
        """
        save_cassette(self.cassette, path, known=self.known)


def redact_recording(cassette: Cassette, listed: Iterable[str] = ()) -> RedactedRecording:
    """``cassette`` as ``nim-mock record`` and the plugin's record mode both store it: every credential
    its exchanges carry (``recorded_credentials``) and every ``listed`` value replaced by ``MASK``."""
    credentials = _listed(listed)
    for value, origin in recorded_credentials(cassette.interactions).items():
        credentials.setdefault(value, origin)
    known = KnownSecrets(credentials)
    return RedactedRecording(Redactor(known).cassette(cassette), known)
