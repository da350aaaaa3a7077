"""What the wheel installs: exactly ``nim_harness`` and ``nim_mock``, never a top-level ``client``.

A user project with its own ``client`` package must keep importing its own, and a plugin loaded
into every pytest session must not shadow it, so the build maps the repository's ``client/``
folder onto ``nim_harness``. The wheel is built for real (from a copy of the sources, so the
checkout gets no build folders) and its file list is the evidence.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
SOURCES = {"nim_harness": ROOT / "client", "nim_mock": ROOT / "nim_mock"}


def _packages_on_disk() -> set[str]:
    found = set()
    for name, folder in SOURCES.items():
        for init in folder.rglob("__init__.py"):
            relative = init.parent.relative_to(folder)
            found.add(".".join((name, *relative.parts)))
    return found


def test_every_package_on_disk_is_listed_for_the_build() -> None:
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    assert _packages_on_disk() <= listed, "add the missing packages to [tool.setuptools] packages"
    assert listed - _packages_on_disk() == {"nim_mock._bundled_cassettes"}


def test_pytest_is_not_a_runtime_dependency() -> None:
    runtime = [req for req in metadata.requires("nim-harness") or [] if "extra ==" not in req]
    assert runtime, "nim-harness has runtime dependencies"
    assert not [req for req in runtime if req.lower().startswith("pytest")]


@pytest.fixture(scope="module")
def wheel_names(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    source = tmp_path_factory.mktemp("source")
    for name in ("client", "nim_mock", "cassettes"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    out = tmp_path_factory.mktemp("wheel")
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            ".",
        ],
        cwd=source,
        capture_output=True,
        text=True,
        check=False,
    )
    assert build.returncode == 0, build.stderr[-2000:]
    (wheel,) = out.glob("nim_harness-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        return archive.namelist()


def test_the_wheel_installs_only_nim_harness_and_nim_mock(wheel_names: list[str]) -> None:
    top_level = {name.split("/")[0] for name in wheel_names if not name.split("/")[0].endswith(".dist-info")}
    assert top_level == {"nim_harness", "nim_mock"}


def test_the_wheel_carries_the_client_sources_and_the_bundled_cassettes(wheel_names: list[str]) -> None:
    client_modules = {f"nim_harness/{path.name}" for path in (ROOT / "client").glob("*.py")}
    assert client_modules <= set(wheel_names)
    bundled = {
        "nim_mock/_bundled_cassettes/" + path.relative_to(ROOT / "cassettes").as_posix()
        for path in (ROOT / "cassettes").rglob("*.json")
    }
    assert bundled
    assert bundled <= set(wheel_names)
    assert {"nim_harness/py.typed", "nim_mock/py.typed"} <= set(wheel_names)
