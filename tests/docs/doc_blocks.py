"""The fenced code blocks of README.md and docs/*.md, with what each one is for.

A block's purpose is its language, or a marker on the line just above its opening fence:

    <!-- docs-test: skip: REASON -->   shell commands, terminal output, log lines: shown, not run;
                                       the reason is visible to anyone reading the Markdown source
    <!-- docs-test: pytest -->         a test module: run as one, every test must pass
    <!-- docs-test: conftest -->       a conftest.py: run beside a mocked test, which must pass
    <!-- docs-test: fault-headers -->  x-nim-mock-fault header lines: each must parse
    <!-- docs-test: fault-rules -->    a faults rules file (JSON): it must load
    <!-- docs-test: fault-error -->    an error nim-mock prints for a bad rules file: it must be what
                                       the mock says for the file the block describes

A ``python`` block without a marker runs as a script; a ``json`` block must parse. Any other block
without a marker is an error: the collector says which file and line to mark.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Block", "doc_blocks", "doc_files"]

ROOT = Path(__file__).resolve().parents[2]
_MARKER = re.compile(r"<!--\s*docs-test:\s*(?P<kind>[a-z-]+)(?::\s*(?P<reason>.*?))?\s*-->")
_FENCE = re.compile(r"^(?P<fence>```+)(?P<language>[\w-]*)\s*$")


@dataclass(frozen=True)
class Block:
    """One fenced block: where it starts, its language, its marker (if any) and its text."""

    path: Path
    line: int
    language: str
    marker: str | None
    reason: str
    text: str

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"

    @property
    def purpose(self) -> str:
        """The marker, else what the language implies (``script``, ``json``), else ``unmarked``."""
        if self.marker is not None:
            return self.marker
        return {"python": "script", "json": "json"}.get(self.language, "unmarked")


def doc_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def doc_blocks(path: Path) -> list[Block]:
    """Every fenced block of ``path`` (nested fences are not used in these docs)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks = []
    index = 0
    while index < len(lines):
        opened = _FENCE.match(lines[index])
        if opened is None:
            index += 1
            continue
        above = lines[index - 1] if index else ""
        marker = _MARKER.search(above)
        end = index + 1
        while end < len(lines) and lines[end].strip() != opened.group("fence"):
            end += 1
        blocks.append(
            Block(
                path=path,
                line=index + 1,
                language=opened.group("language"),
                marker=marker.group("kind") if marker else None,
                reason=(marker.group("reason") or "") if marker else "",
                text="\n".join(lines[index + 1 : end]) + "\n",
            )
        )
        index = end + 1
    return blocks
