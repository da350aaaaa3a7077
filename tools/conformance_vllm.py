"""Run the conformance battery against vLLM three ways, and say how far the mock agrees with it.

1. ``vllm-vs-vllm``: vLLM against itself, the battery's own sanity check (must be 100%: a case
   that two runs of one engine answer differently would measure nothing).
2. ``vllm-vs-replay``: the battery is recorded through ``nim-mock record`` into a fresh folder (its
   answers kept byte for byte), then vLLM is compared with ``nim-mock serve`` on that folder, every
   answer also required to equal the recorded bytes (must be 100%).
3. ``vllm-vs-stand-in-nim2``: vLLM against the mock's stand-in mode (``--on-miss synthesize`` on an
   empty folder) as ``--identity nim2``, serving the target's model with its facts (the model id,
   ``--max-model-len 2048`` as ``up.sh`` starts it, the vocabulary from the model's
   ``config.json``) and replying with the length of the test model's reply
   (``tests/conformance/stand_in_rules.json``): must reach :data:`STAND_IN_THRESHOLD` percent.
   Then ``vllm-vs-stand-in-nim1``, the default identity, which answers as NIM 1.x rather than
   vLLM 0.32: a measure, no threshold.

Usage::

    python tools/conformance_vllm.py [--port 18100] [--vllm URL] [--report DIR]

Starts the vLLM target unless ``--vllm`` names one already up (see ``_live_vllm``) and stops it at
the end. Each run's full report (every disagreement) is written to ``--report DIR`` (default: a
temporary folder, named in the output). Exit status 1 when run 1 or 2 is below 100%, or the nim2
stand-in below its threshold.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from _live_vllm import CACHE, MODEL, TargetError, nim_mock_process, vllm_target

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conformance.run import main as battery  # noqa: E402 - needs the repository on sys.path

STAND_IN_THRESHOLD = 98.0
"""The share of the battery the nim2 stand-in must agree with vLLM on (issue 12)."""
MAX_MODEL_LEN = 2048
"""``up.sh`` starts vLLM with ``--max-model-len 2048``."""
RULES = ROOT / "tests" / "conformance" / "stand_in_rules.json"


def _vocab_size() -> int:
    """The test model's vocabulary (what vLLM answers ``top_logprobs: -1`` with)."""
    try:
        config = json.loads((CACHE / "model" / "config.json").read_text(encoding="utf-8"))
        return int(config["vocab_size"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        folder = CACHE / "model"
        raise TargetError(f"cannot read the test model's vocab_size from {folder}: {error}") from None


def _run(name: str, report: Path, arguments: Sequence[str]) -> int:
    """One battery run; its report goes to ``report/<name>.txt`` and its last lines to stdout."""
    out, err = io.StringIO(), io.StringIO()
    status = battery(["--model", MODEL, *arguments], out=out, err=err)
    text = out.getvalue() + err.getvalue()
    (report / f"{name}.txt").write_text(text, encoding="utf-8")
    summary = [line for line in text.splitlines() if " agree (" in line or " cases in " in line]
    print(f"{name}: {' | '.join(summary) or text.strip()}", flush=True)
    return status


def conformance(port: int, running: str | None, report: Path) -> int:
    report.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="conformance-vllm-") as scratch_name:
        scratch = Path(scratch_name)
        recorded, empty, answers = scratch / "recorded", scratch / "empty", scratch / "recorded-answers.json"
        empty.mkdir()
        with vllm_target(port, running=running) as vllm:
            sanity = _run("vllm-vs-vllm", report, ["--a", vllm, "--b", vllm])
            record = ["record", "--upstream", vllm, "--cassettes", str(recorded)]
            with nim_mock_process(record, scratch / "record.log") as proxy:
                through_proxy = _run(
                    "vllm-vs-recording-proxy", report, ["--a", vllm, "--b", proxy, "--save-b", str(answers)]
                )
            with nim_mock_process(["serve", "--cassettes", str(recorded)], scratch / "replay.log") as mock:
                replay = _run(
                    "vllm-vs-replay", report, ["--a", vllm, "--b", mock, "--same-bytes", str(answers)]
                )
            served = ["--served-model-name", MODEL, "--max-model-len", str(MAX_MODEL_LEN)]
            served += ["--vocab-size", str(_vocab_size()), "--rules", str(RULES)]
            stand_in = ["serve", "--on-miss", "synthesize", "--cassettes", str(empty), *served]
            with nim_mock_process([*stand_in, "--identity", "nim2"], scratch / "stand-in-nim2.log") as mock:
                nim2 = _run(
                    "vllm-vs-stand-in-nim2",
                    report,
                    ["--a", vllm, "--b", mock, "--threshold", f"{STAND_IN_THRESHOLD:g}"],
                )
            with nim_mock_process([*stand_in, "--identity", "nim1"], scratch / "stand-in-nim1.log") as mock:
                _run("vllm-vs-stand-in-nim1", report, ["--a", vllm, "--b", mock, "--threshold", "0"])
    print(f"reports: {report}")
    return 1 if sanity or through_proxy or replay or nim2 else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--port", type=int, default=18100, help="vLLM's port when started here (default 18100)"
    )
    parser.add_argument("--vllm", metavar="URL", help="use this running vLLM target instead of starting one")
    parser.add_argument("--report", type=Path, metavar="DIR", help="where the full reports go")
    args = parser.parse_args(argv)
    report = args.report or Path(tempfile.mkdtemp(prefix="conformance-report-"))
    try:
        return conformance(args.port, args.vllm, report)
    except TargetError as error:
        print(f"conformance_vllm: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
