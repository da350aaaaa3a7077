"""Every code block of README.md and docs/*.md runs as a test, or carries a visible reason it cannot.

Blocks and their markers: ``doc_blocks``. Test modules and conftests from the docs run as whole
pytest sessions in a fresh process (``pytester``) in mock mode on the bundled cassettes, so an example
that stops working as written fails here, not in a reader's hands. The files the README's
walk-through reads ship in ``docs/examples/`` and are loaded the way ``nim-mock serve`` loads them.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import httpx
import pytest
from doc_blocks import ROOT, Block, doc_blocks, doc_files

from nim_mock import create_app, serve_in_thread
from nim_mock.cli import main as nim_mock_main
from nim_mock.faults.rules import load_fault_rules, parse_fault_rules, parse_header
from nim_mock.synth.rules import load_reply_rules

BLOCKS = [block for path in doc_files() for block in doc_blocks(path)]
LEAN = tuple(f"-pno:{name}" for name in ("langsmith_plugin", "codspeed", "benchmark", "recording", "syrupy"))
MOCKED_TEST = """
import pytest

@pytest.mark.nim(cassette="bundled:chat/plain")
def test_mocked(nim_harness_chat):
    llm = nim_harness_chat(temperature=0.2, max_tokens=1024, top_p=0.7)
    assert llm.invoke("In one sentence, what is NVIDIA NIM?").content
"""
_HEREDOC = re.compile(r"cat > (?P<name>[\w.]+\.py) <<'EOF'\n(?P<body>.*?)\nEOF\n", re.DOTALL)


def run_mocked(pytester: pytest.Pytester) -> pytest.RunResult:
    """A fresh pytest process, as a reader runs the example (in-process runs share imported modules)."""
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *LEAN, "--nim-mode=mock")


def assert_all_passed(result: pytest.RunResult, block: Block) -> None:
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed", 0) >= 1, f"{block.where}: nothing passed\n{result.stdout.str()}"
    failed = {k: v for k, v in outcomes.items() if k in ("failed", "errors", "error", "skipped", "xfailed")}
    assert not failed, f"{block.where}: {failed}\n{result.stdout.str()}"


def test_the_docs_have_blocks_to_check() -> None:
    assert len(BLOCKS) >= 15
    assert {block.path.name for block in BLOCKS} >= {"README.md", "faults.md"}


@pytest.mark.parametrize("block", BLOCKS, ids=[block.where for block in BLOCKS])
def test_each_block_runs_as_written(
    block: Block, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    purpose = block.purpose
    if purpose == "skip":
        assert block.reason, f"{block.where}: a skipped block must say why (<!-- docs-test: skip: REASON -->)"
        pytest.skip(f"{block.where}: {block.reason}")
    elif purpose == "script":
        monkeypatch.chdir(pytester.path)
        exec(compile(block.text, block.where, "exec"), {"__name__": "__docs__"})
    elif purpose == "json":
        json.loads(block.text)
    elif purpose == "pytest":
        pytester.makepyfile(test_docs_example=block.text)
        assert_all_passed(run_mocked(pytester), block)
    elif purpose == "heredoc-pytest":
        files = {found.group("name"): found.group("body") for found in _HEREDOC.finditer(block.text)}
        assert files, f"{block.where}: no `cat > name.py <<'EOF'` in the block"
        for name, body in files.items():
            (pytester.path / name).write_text(body + "\n")
        assert_all_passed(run_mocked(pytester), block)
    elif purpose == "conftest":
        pytester.makeconftest(block.text)
        pytester.makepyfile(test_with_docs_conftest=MOCKED_TEST)
        assert_all_passed(run_mocked(pytester), block)
    elif purpose == "fault-headers":
        for line in filter(None, block.text.splitlines()):
            name, _, value = line.partition(":")
            assert name == "x-nim-mock-fault", f"{block.where}: {line!r}"
            assert parse_header(value.strip())
    elif purpose == "fault-rules":
        assert parse_fault_rules(json.loads(block.text)).rules
    elif purpose == "fault-error":
        assert_fault_error(block, pytester.path, monkeypatch)
    else:
        pytest.fail(
            f"{block.where}: a ```{block.language} block this collector cannot run; mark it on the line "
            "above (see tests/docs/doc_blocks.py), e.g. <!-- docs-test: skip: REASON -->",
            pytrace=False,
        )


def assert_fault_error(block: Block, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The block quotes what nim-mock says about a retry_after of 'soon'; it must say exactly that."""
    (folder / "faults.json").write_text(
        json.dumps({"version": 1, "rules": [{"fault": {"kind": "rate_limit", "retry_after": "soon"}}]})
    )
    monkeypatch.chdir(folder)
    out, err = io.StringIO(), io.StringIO()
    assert nim_mock_main(["serve", "--faults", "faults.json", "--port", "0"], out=out, err=err) == 2
    assert err.getvalue().strip() == block.text.strip()


def test_the_walk_through_inputs_ship_and_work() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    named = set(re.findall(r"docs/examples/[\w.-]+", readme))
    assert named == {"docs/examples/replies.json", "docs/examples/faults.json", "docs/examples/request.json"}
    assert load_reply_rules(ROOT / "docs/examples/replies.json").rules
    assert load_fault_rules(ROOT / "docs/examples/faults.json").rules
    request = json.loads((ROOT / "docs/examples/request.json").read_text())
    with serve_in_thread(create_app([], on_miss="synthesize")) as url:
        answer = httpx.post(url + "/v1/chat/completions", json=request, timeout=30)
    assert answer.status_code == 200
    assert answer.json()["choices"][0]["message"]["content"]


def test_blocks_are_read_with_their_markers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "Text\n\n<!-- docs-test: skip: shell -->\n```bash\nls\n```\n\n```python\nx = 1\n```\n\n"
        "```console\n$ ls\n```\n\n<!-- docs-test: pytest -->\n````python\ndef test_x():\n    pass\n````\n"
    )
    blocks = doc_blocks(page)
    assert [(b.line, b.language, b.purpose, b.reason) for b in blocks] == [
        (4, "bash", "skip", "shell"),
        (8, "python", "script", ""),
        (12, "console", "unmarked", ""),
        (17, "python", "pytest", ""),
    ]
    assert blocks[3].text == "def test_x():\n    pass\n"
