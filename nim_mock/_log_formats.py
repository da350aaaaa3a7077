"""The request log's formats, in a module of their own so ``nim-mock serve --help`` can offer them
without loading the server (``nim_mock.serve.request_log`` writes them and imports asyncio)."""

from __future__ import annotations

__all__ = ["LOG_FORMATS"]

LOG_FORMATS: tuple[str, ...] = ("text", "json")
