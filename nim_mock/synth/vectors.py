"""Stand-in embedding vectors: signed feature hashing of a text's character trigrams and words.

A test of a retrieval path needs vectors that behave like embeddings, not random noise: the same
text must always give the same vector (a cache or a vector store keyed by it stays consistent), and
a near-duplicate must land closer to its original than an unrelated text does (so a retriever built
on them finds the right document). The scheme, cheap and fully determined by the text:

1. The text is case-folded and its runs of whitespace become one space; the features are its
   character trigrams (of the text padded with a space on each side, so a one-character text has
   one) and its words (``\\w+`` runs), each counted as often as it occurs.
2. Each feature's UTF-8 bytes are hashed with CRC-32 twice (two different start values): the first
   picks one of the ``dimension`` coordinates, the second's low bit whether the feature adds +1 or
   -1 to it (signed hashing keeps unrelated texts near-orthogonal instead of all positive).
3. The vector is divided by its length (unit norm, as NIM's embedding models return), then each
   coordinate is rounded to float32, the precision a NIM computes and ``base64`` carries.

Texts that share most features (a typo, a changed word) share most coordinates, so their cosine
similarity is high; texts without common features meet only where hashes collide, near 0. A text
with no features at all (the empty string) and the rare text whose ±1s cancel exactly embed as the
first basis vector, so every vector has unit length. The vectors are sparse (a text touches about
as many coordinates as it has characters), where a real model's are dense; cosine similarity,
which is all a retriever reads, does not care.
"""

from __future__ import annotations

import base64
import math
import re
import struct
import zlib

__all__ = ["embed_text", "float32_base64"]

_SPACES = re.compile(r"\s+")
_WORD = re.compile(r"\w+")
_SIGN_SEED = 0x9E3779B9
"""The second CRC-32's start value: any constant other than 0 gives a hash independent of the first."""


def _features(text: str) -> list[str]:
    normal = _SPACES.sub(" ", text.casefold()).strip()
    if not normal:
        return []
    padded = f" {normal} "
    trigrams = [padded[i : i + 3] for i in range(len(padded) - 2)]
    return trigrams + _WORD.findall(normal)


def embed_text(text: str, dimension: int) -> list[float]:
    """The unit-norm, float32-rounded stand-in embedding of ``text`` with ``dimension`` coordinates."""
    sums: dict[int, float] = {}
    crc32 = zlib.crc32
    for feature in _features(text):
        data = feature.encode("utf-8", "surrogatepass")
        index = crc32(data) % dimension
        sums[index] = sums.get(index, 0.0) + (1.0 if crc32(data, _SIGN_SEED) & 1 else -1.0)
    norm = math.sqrt(math.fsum(value * value for value in sums.values()))
    vector = [0.0] * dimension
    if norm == 0.0:
        vector[0] = 1.0
        return vector
    for index, value in sums.items():
        vector[index] = value / norm
    return list(struct.unpack(f"<{dimension}f", struct.pack(f"<{dimension}f", *vector)))


def float32_base64(vector: list[float]) -> str:
    """``vector`` as NIM and OpenAI send ``encoding_format: base64``: little-endian float32 bytes, base64."""
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")
