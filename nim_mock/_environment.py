"""The environment variables recording reads, named once for ``nim-mock record`` and the plugin.

Top level and import-free, because both faces need the names before anything heavy
loads: ``nim-mock --help`` prints them, and the plugin reads them at start-up.
"""

from __future__ import annotations

from typing import Final

__all__ = ["API_KEY_ENV", "REDACT_ENV"]

REDACT_ENV: Final = "NIM_REDACT"
"""Extra values to redact, comma-separated; ``nim-mock record`` and the pytest plugin both read it."""
API_KEY_ENV: Final = "NVIDIA_API_KEY"
"""The variable ChatNVIDIA (ours and LangChain's) reads the hosted catalogue's key from; whatever
key it holds is redacted from every recording."""
