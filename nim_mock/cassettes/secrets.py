"""Spotting credentials: the one place that knows what a secret looks like and where one hides.

Cassettes are committed to git and shared, so a key that slips into one is a key leaked. The loader
refuses a cassette holding one, ``save_cassette`` refuses to write one, and redaction
(``record.redact``) reuses the very same definitions, so "what counts as a secret" is this module:

- keys of a known shape, secrets wherever they appear (``SECRET_PATTERN``: ``nvapi-``, ``sk-``,
  ``Bearer <token>``, JWT-shaped tokens);
- names that say credential: ``is_credential_header`` for headers (and for JSON members named like
  one), ``is_credential_field`` for query parameters and request body fields;
- values known to be credentials because of where a client put them (``KnownSecrets``), found in
  every encoding they can take on the way back: as written, percent-encoded, JSON-escaped, base64.

The check is deliberately one-sided: a false alarm costs a rename, a miss costs a key rotation. Still,
placeholders that people write on purpose (``REDACTED``, ``***``, ``<redacted>``, ``Bearer ***``) pass.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from functools import lru_cache
from typing import Final

__all__ = [
    "SECRET_PATTERN",
    "KnownSecrets",
    "find_secret",
    "is_credential_field",
    "is_credential_header",
    "is_redacted",
    "secret_in_text",
]

SECRET_PATTERN: Final = re.compile(
    r"(?P<nvapi>nvapi-[A-Za-z0-9_-]{8,})"
    r"|(?P<openai>(?<![A-Za-z0-9_-])sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,})"
    r"|(?P<jwt>(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*)"
    r"|(?P<bearer>\bBearer[ \t]+(?P<token>[A-Za-z0-9._~+/=-]+))",
    re.IGNORECASE,
)
"""Credentials that are secrets wherever they appear: NVIDIA ``nvapi-`` keys, OpenAI ``sk-`` keys,
JWT-shaped tokens (``eyJ...`` header, payload and signature) and ``Bearer <token>`` strings. Named
groups give the kind; redaction replaces whole matches."""

_KINDS: Final = {
    "nvapi": "nvapi- API key",
    "openai": "OpenAI sk- API key",
    "jwt": "JWT-shaped token",
    "bearer": "Bearer token",
}

_CREDENTIAL_HEADERS: Final = frozenset({"authorization", "auth", "apikey", "cookie", "set-cookie"})
_CHALLENGE_HEADERS: Final = frozenset({"www-authenticate", "proxy-authenticate"})
_CREDENTIAL_ENDINGS: Final = ("key", "token", "secret", "password", "passwd", "credential", "credentials")


@lru_cache(maxsize=1024)
def is_credential_header(name: str) -> bool:
    """Whether a header called ``name`` carries a credential.

    ``Authorization``, ``Cookie``, ``Set-Cookie``, and every dash-separated name whose last word ends
    in key, token, secret, password or credential(s), or that has a word starting with ``auth``:
    ``x-api-key``, ``api-key``, ``x-auth-token``, ``x-client-secret``, ``proxy-authorization``. The
    challenges ``WWW-Authenticate`` and ``Proxy-Authenticate`` say what a server wants, not what anyone
    sent, and are not credentials. A bare ``token`` or ``key`` is not a header name in this sense: as a
    member of an answer's JSON it is a logprobs token or a schema key, not a secret.
    """
    lowered = name.strip().lower()
    if lowered in _CREDENTIAL_HEADERS:
        return True
    words = lowered.split("-")
    if len(words) < 2 or lowered in _CHALLENGE_HEADERS:
        return False
    return words[-1].endswith(_CREDENTIAL_ENDINGS) or any(word.startswith("auth") for word in words)


_WORDS: Final = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_LAST_WORDS: Final = frozenset(
    {"key", "apikey", "token", "secret", "password", "passwd", "passphrase", "credential", "credentials"}
    | {"cookie", "auth", "authorization"}
)
_ANY_WORDS: Final = frozenset({"password", "passwd", "passphrase", "secret", "authorization"})


@lru_cache(maxsize=1024)
def is_credential_field(name: str) -> bool:
    """Whether a query parameter or request body field called ``name`` carries a credential.

    The name is split into words (at ``_``, ``-``, ``.`` and camelCase); it is a credential when its
    last word is one of key, token, secret, password, credential(s), auth, authorization, cookie, or any
    word is password or secret: ``api_key``, ``nvidia_api_key``, ``key``, ``token``, ``access_token``,
    ``apiKey``, ``client_secret``, ``password``. ``max_tokens`` and ``key_id`` are not. Every
    credential header name counts too.
    """
    words = [word.lower() for word in _WORDS.findall(name)]
    if is_credential_header(name):
        return True
    return bool(words) and (words[-1] in _LAST_WORDS or not _ANY_WORDS.isdisjoint(words))


_PLACEHOLDER: Final = re.compile(
    # optional scheme, then: nothing, ***/xxx/..., <key>, [REDACTED], {key}, *redacted*, none, $ENV_VAR
    r"\s*(?:(?:bearer|basic|token)\s+)?"
    r"(?:|[*x•.…#-]+|<[^<>]*>|\[[^\[\]]*]|\{[^{}]*}|\S*redacted\S*|none|null|\$\{?[A-Z_][A-Z0-9_]*\}?)\s*",
    re.IGNORECASE,
)


def is_redacted(value: str) -> bool:
    """Whether a header value is an obvious placeholder (``REDACTED``, ``***``, ``Bearer <key>``, empty)."""
    return _PLACEHOLDER.fullmatch(value) is not None


def _bearer_token_is_real(token: str) -> bool:
    # Prose says "Bearer token" or "Bearer authentication"; real tokens are long and mix letters and
    # digits (JWTs, opaque keys). Placeholders such as "Bearer ***" or "Bearer $NVIDIA_API_KEY" pass.
    if is_redacted(token):
        return False
    has_digit = any(ch.isdigit() for ch in token)
    has_alpha = any(ch.isalpha() for ch in token)
    return len(token) >= 12 and has_digit and has_alpha


def _is_placeholder_key(key: str) -> bool:
    # "nvapi-REDACTED" and "nvapi-xxxxxxxxxxxx" are what people write in docs and redacted captures.
    body = key.split("-", 1)[1].lower() if "-" in key else key.lower()
    return "redacted" in body or set(body) <= {"x", "-", "_", "."}


def secret_in_text(text: str) -> str | None:
    """The kind of the first credential found in ``text``, or ``None``."""
    for found in SECRET_PATTERN.finditer(text):
        kind = found.lastgroup
        if kind == "token":  # the inner group of a bearer match is reported as the bearer kind
            kind = "bearer"
        if kind == "bearer" and not _bearer_token_is_real(found.group("token")):
            continue
        if kind != "bearer" and _is_placeholder_key(found.group(0)):
            continue
        return _KINDS[kind or "bearer"]
    return None


# -- known values, in every encoding -----------------------------------------------------------------

_MIN_BASE64: Final = 8
"""Base64 is looked for only for values at least this long: the middle of a longer base64 text keeps
fewer characters than the value has bytes, and a handful of base64 letters turn up by chance."""


def _base64_forms(value: str) -> list[str]:
    """What every base64 text holding ``value``'s UTF-8 (standard or URL-safe, padded or not, alone or
    at any byte offset inside longer data) must contain: for each of the three offsets, the
    characters whose six bits all come from the value. So an echo of ``base64(key)`` and one of
    ``base64("user:" + key)`` are both found; a character or two at either end, half made of the
    neighbours' bits, and the padding are left, and say nothing about the value."""
    try:
        data = value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: no UTF-8 text carries it
        return []
    forms: list[str] = []
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        for offset in range(3):
            shifted = encode(bytes(offset) + data).decode("ascii")
            first = -(-8 * offset // 6)  # the first character made only of the value's bits
            forms.append(shifted[first : 8 * (offset + len(data)) // 6])
    return [form for form in forms if len(form) >= _MIN_BASE64]


_Trie = dict[str, "_Trie"]
"""A character trie: each key is the next character; the key ``""`` marks the end of a word."""


def _trie_pattern(words: Iterable[str]) -> str:
    """One regex for many literal words, as a trie: at each position only the branches whose next
    character fits are tried, so the cost grows with the text, not with the number of words. At every
    branch the longer continuation is tried first, so the longest word starting at a position wins."""
    trie: _Trie = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def emit(node: _Trie) -> str:
        branches = []
        for char, child in sorted(node.items()):
            if not char:
                continue
            run = [re.escape(char)]
            while len(child) == 1 and "" not in child:  # a chain of single children: plain literals
                ((char, child),) = child.items()
                run.append(re.escape(char))
            branches.append("".join(run) + emit(child))
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return emit(trie)


_JSON_ESCAPES: Final = re.compile(r"(?:\\u[0-9A-Fa-f]{4})+|\\[\"\\/bfnrt]")
_URL_ESCAPES: Final = re.compile(r"(?:%[0-9A-Fa-f]{2})+|\+")
_SHORT_ESCAPES: Final = {
    '"': '"',
    "\\": "\\",
    "/": "/",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
}


def _unescaped(token: str, start: int, plus_is_space: bool) -> Iterator[tuple[str, int]]:
    """Each character one escape sequence stands for, with the offset where its encoding starts."""
    if token == "+":
        yield (" " if plus_is_space else "+"), start
    elif token.startswith("%"):
        at = start
        for char in bytes.fromhex(token.replace("%", "")).decode("utf-8", "surrogateescape"):
            yield char, at
            at += 3 * len(char.encode("utf-8", "surrogateescape"))
    elif token.startswith("\\u"):
        units = [int(token[i + 2 : i + 6], 16) for i in range(0, len(token), 6)]
        index = 0
        while index < len(units):
            unit, at = units[index], start + 6 * index
            pair = units[index + 1] if index + 1 < len(units) else 0
            if 0xD800 <= unit < 0xDC00 and 0xDC00 <= pair < 0xE000:
                yield chr(0x10000 + ((unit - 0xD800) << 10) + (pair - 0xDC00)), at
                index += 2
            else:
                yield chr(unit), at
                index += 1
    else:
        yield _SHORT_ESCAPES[token[1]], start


def _decoded(
    text: str, offsets: list[int] | None, escapes: re.Pattern[str], plus_is_space: bool = False
) -> tuple[str, list[int]]:
    """``text`` with one level of ``escapes`` decoded, and for each character of the result the offset
    where its encoding starts in the original text (``offsets`` maps ``text`` to it; ``None``: it is
    the original), with the original's length at the end."""
    chars: list[str] = []
    starts: list[int] = []
    done = 0
    for escape in escapes.finditer(text):
        begin, end = escape.span()
        chars.append(text[done:begin])
        starts.extend(range(done, begin))
        for char, at in _unescaped(escape.group(), begin, plus_is_space):
            chars.append(char)
            starts.append(at)
        done = end
    chars.append(text[done:])
    starts.extend(range(done, len(text) + 1))
    return "".join(chars), starts if offsets is None else [offsets[at] for at in starts]


_JSON_DEPTH: Final = 3
"""How many JSON string levels are decoded: an event's JSON holding a JSON-escaped echo is two, and
the final check, which reads the file's decoded strings, must see no deeper than redaction did."""


def _views(text: str) -> Iterator[tuple[str, list[int] | None]]:
    """The readings of ``text`` a secret may hide in, each with the offsets in ``text`` where its
    characters start: as written; JSON-unescaped once, twice, three times; and each of those
    percent-decoded once, a ``+`` kept and a ``+`` read as a space (as HTML forms send it). A JSON
    string may hold a URL; URL-decoding first would turn a literal ``%41`` inside JSON into ``A``."""
    view: str = text
    offsets: list[int] | None = None
    for depth in range(_JSON_DEPTH + 1):
        if depth:
            if "\\" not in view:
                return
            view, offsets = _decoded(view, offsets, _JSON_ESCAPES)
        yield view, offsets
        if "%" in view:
            yield _decoded(view, offsets, _URL_ESCAPES)
        if "+" in view:  # without one, reading + as a space changes nothing
            yield _decoded(view, offsets, _URL_ESCAPES, plus_is_space=True)


@lru_cache(maxsize=16)
def _search_pattern(forms: frozenset[str]) -> re.Pattern[str]:
    """Every start of every form, longest form first. Compiling a big trie costs more than searching
    with it, and the exchanges of one recording carry the same credentials: kept for reuse."""
    return re.compile(f"(?=({_trie_pattern(sorted(forms))}))")


class KnownSecrets:
    """Values known to be credentials, each with where it came from, found in any encoding.

    A value is found as written, percent-encoded (``+`` or ``%20`` for a space, either hex case, all
    of it or only some characters), JSON-escaped (``\\"``, ``\\/``, ``\\u0041``), in a mix of the two,
    and in base64 (standard or URL-safe, padded or not, alone or in the middle of a longer base64
    text). ``origins`` maps each value to a phrase saying where it came from ("sent in the x-api-key
    header"), which error messages use instead of the value.
    """

    __slots__ = ("_origins", "_search")

    def __init__(self, origins: Mapping[str, str] | None = None) -> None:
        forms: dict[str, str] = {}
        for value, origin in (origins or {}).items():
            if not value:
                continue
            encoded = _base64_forms(value) if len(value) >= _MIN_BASE64 else []
            for form in (value, *encoded):
                forms.setdefault(form, origin)
        self._origins = forms
        self._search = _search_pattern(frozenset(forms)) if forms else None

    def __bool__(self) -> bool:
        return self._search is not None

    def _found(self, text: str) -> Iterator[tuple[int, int, str]]:
        """(start, end, origin) in ``text`` for every occurrence, in any reading, overlaps included."""
        if self._search is None:
            return
        for view, offsets in _views(text):
            for match in self._search.finditer(view):
                start, end = match.span(1)
                if offsets is not None:
                    start, end = offsets[start], offsets[end]
                yield start, end, self._origins[match.group(1)]

    def find(self, text: str) -> str | None:
        """Where the first known value found in ``text`` came from, or ``None``."""
        return next((origin for _, _, origin in self._found(text)), None)

    def replace(self, text: str, mask: str) -> str:
        """``text`` with every stretch holding a known value, in whatever encoding, replaced by ``mask``."""
        spans = sorted((start, end) for start, end, _ in self._found(text))
        if not spans:
            return text
        pieces: list[str] = []
        done = 0
        for start, end in spans:
            if end <= done:
                continue  # inside a stretch already replaced
            if start < done:  # overlaps the last stretch: extend it
                start = done
            else:
                pieces.append(text[done:start])
                pieces.append(mask)
            done = end
        pieces.append(text[done:])
        return "".join(pieces)


# -- finding a secret in a document --------------------------------------------------------------------


def _key_path(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _kind(text: str, known: KnownSecrets | None) -> str | None:
    kind = secret_in_text(text)
    if kind is None and known:
        origin = known.find(text)
        if origin is not None:
            kind = f"a credential {origin}"
    return kind


def _walk(value: object, path: str, known: KnownSecrets | None) -> Iterator[tuple[str, str]]:
    """Yield (json-path, kind) for every secret, depth first, in document order."""
    if isinstance(value, str):
        kind = _kind(value, known)
        if kind is not None:
            yield path, kind
    elif isinstance(value, dict):
        for key, item in value.items():
            key_text = str(key)
            item_path = _key_path(path, key_text)
            kind = _kind(key_text, known)
            if kind is not None:
                yield item_path, kind
            if is_credential_header(key_text) and isinstance(item, str) and not is_redacted(item):
                yield item_path, f"{key_text.lower()} header"
            yield from _walk(item, item_path, known)
    elif isinstance(value, list | tuple):
        # Response headers are stored as [name, value] pairs: the name makes the value sensitive.
        if (
            len(value) == 2
            and isinstance(value[0], str)
            and isinstance(value[1], str)
            and is_credential_header(value[0])
            and not is_redacted(value[1])
        ):
            yield f"{path}[1]", f"{value[0].lower()} header"
        for index, item in enumerate(value):
            yield from _walk(item, f"{path}[{index}]", known)


def find_secret(value: object, path: str = "", known: KnownSecrets | None = None) -> tuple[str, str] | None:
    """The JSON path and kind of the first secret in a decoded JSON structure, or ``None``.

    A secret is a key of known shape, a non-placeholder value under a credential header's name, or,
    when ``known`` is given, any of those values in any encoding. Paths use the cassette error
    notation: ``interactions[0].request.headers.authorization``. ``path`` is the prefix for ``value``
    itself (empty for a whole document).
    """
    if not known and not _may_hold_secret(value):
        return None
    return next(_walk(value, path, known), None)


_MARKERS: Final = (
    *("nvapi-", "sk-", "bearer", "eyj", "auth", "apikey", "cookie"),
    *(f'{ending}"' for ending in _CREDENTIAL_ENDINGS),
)
"""Every secret of known shape and every credential header name holds one of these (lower case);
a credential header name ends its JSON string with one of the endings."""


def _may_hold_secret(value: object) -> bool:
    """A cheap screen: no secret without one of the markers, and one C-speed dump finds them all.

    Walking every string of a big cassette through the regex dominated loading 500 cassettes; almost
    none contains a marker, so the walk (which finds the path) only runs for the few that do. JSON
    escaping never touches the markers' letters, dashes and closing quote, so the screen cannot hide one.
    """
    try:
        text = json.dumps(value, ensure_ascii=False).lower()
    except (TypeError, ValueError, RecursionError):
        return True  # not plain JSON: let the walk decide
    return any(marker in text for marker in _MARKERS)
