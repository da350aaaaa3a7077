"""The README's RAG example runs as written: its files, its one command, offline against the mock."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from plugin_runs import LEAN

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "### 5. A RAG app, tested offline"


def readme_files() -> dict[str, str]:
    """The files the section's bash block writes with ``cat > NAME <<'EOF'``, and their text."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index(SECTION) :]
    block = section[section.index("```bash\n") + len("```bash\n") :]
    block = block[: block.index("\n```\n")]
    files = dict(re.findall(r"cat > (\S+) <<'EOF'\n(.*?)\nEOF\n", block, flags=re.S))
    assert block.rstrip().endswith(".venv/bin/pytest test_rag.py"), "the block's one command changed"
    return {name: body + "\n" for name, body in files.items()}


def test_the_block_writes_the_app_and_its_test() -> None:
    files = readme_files()
    assert sorted(files) == ["rag.py", "test_rag.py"]
    assert "InMemoryVectorStore(embedding=embedder)" in files["rag.py"]
    assert "compress_documents" in files["rag.py"]


def test_the_rag_example_passes_offline(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    for name, body in readme_files().items():
        (pytester.path / name).write_text(body, encoding="utf-8")
    # The README's command, in a fresh process (its `rag` module must not leak into this one),
    # with the mode pinned on the command line so a NIM_MODE in the shell cannot change it.
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *LEAN, "--nim-mode=mock", "test_rag.py")
    result.assert_outcomes(passed=1)
