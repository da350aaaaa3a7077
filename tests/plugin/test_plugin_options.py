"""Settings resolution: every precedence rule (CLI > env > ini > default) and every bad value."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nim_mock.plugin.options import OPTIONS, Mode, RecordMode, Settings, SettingsError, resolve_settings

HERE = Path("/work/run")
INI = Path("/work/project")

VALUES = {
    "mode": ["mock", "record", "live"],
    "endpoint": ["http://a:1/v1", "http://b:2/v1", "https://integrate.api.nvidia.com/v1"],
    "cassettes": ["one", "two", "three"],
    "speed": ["0", "0.5", "2"],
    "model": ["org/a", "org/b", "org/c"],
    "embed_model": ["nvidia/nv-embedqa-e5-v5", "org/embed"],
    "rerank_model": ["nvidia/llama-3.2-nv-rerankqa-1b-v2", "org/rerank"],
    "missing": ["fail", "skip", "SKIP"],
    "no_endpoint": ["fail", "skip"],
    "record_mode": ["none", "once", "new_episodes", "all"],
    "allow_playback_repeats": ["true", "false", "1", "No"],
    "unplayed": ["report", "fail"],
    "identity": ["nim1", "nim2", "HOSTED"],
}
FIELDS = {
    "missing": "skip_missing",
    "no_endpoint": "skip_without_endpoint",
    "unplayed": "fail_unplayed",
}


def resolve(cli=None, env=None, ini=None, **kw) -> Settings:
    return resolve_settings(cli or {}, env or {}, ini or {}, invocation_dir=HERE, ini_dir=INI, **kw)


def field_value(settings: Settings, key: str) -> object:
    value = getattr(settings, FIELDS.get(key, key))
    return value.value if isinstance(value, Mode | RecordMode) else value


def expected(key: str, raw: str, layer: str) -> object:
    if key == "speed":
        return float(raw)
    if key in ("missing", "no_endpoint"):
        return raw.lower() == "skip"
    if key == "unplayed":
        return raw == "fail"
    if key == "allow_playback_repeats":
        return raw.lower() in ("true", "1")
    if key == "cassettes":
        return (INI if layer == "ini" else HERE) / raw
    if key == "identity":
        return raw.lower()
    return raw


@pytest.mark.parametrize("identity", ["nim3", "vllm"])
def test_an_unknown_identity_names_the_valid_ones(identity: str) -> None:
    with pytest.raises(SettingsError, match=r"NIM_IDENTITY: identity .* is not one of nim1, nim2, hosted"):
        resolve(env={"NIM_IDENTITY": identity})


@given(data=st.data())
def test_the_highest_layer_that_sets_a_value_wins(data: st.DataObject) -> None:
    for spec in OPTIONS:
        layers = data.draw(st.sets(st.sampled_from(["cli", "env", "ini"])), label=spec.key)
        picks = {layer: data.draw(st.sampled_from(VALUES[spec.key])) for layer in layers}
        env_name = data.draw(st.sampled_from(spec.env))
        settings = resolve(
            cli={spec.key: picks.get("cli")},
            env={env_name: picks["env"]} if "env" in picks else {},
            ini={spec.key: picks["ini"]} if "ini" in picks else {},
        )
        winner = next((layer for layer in ("cli", "env", "ini") if layer in picks), None)
        if winner is None:
            assert spec.key not in settings.sources
            continue
        assert field_value(settings, spec.key) == expected(spec.key, picks[winner], winner)
        label = {"cli": spec.flag, "env": f"${env_name}", "ini": f"ini {spec.ini}"}[winner]
        assert settings.sources[spec.key] == label


def test_defaults() -> None:
    settings = resolve()
    assert settings == Settings(mode=Mode.MOCK, cassettes=INI / "cassettes", speed=0.0)
    assert (
        settings.describe()
        == f"nim-harness: mode=mock (default), cassettes={INI / 'cassettes'} (default), speed=0"
    )


def test_nim_endpoint_beats_nvidia_base_url_and_both_beat_ini() -> None:
    env = {"NIM_ENDPOINT": "http://nim:8000/v1", "NVIDIA_BASE_URL": "http://base:8000/v1"}
    assert resolve(env=env, ini={"endpoint": "http://ini/v1"}).endpoint == "http://nim:8000/v1"
    fallback = resolve(env={"NVIDIA_BASE_URL": "http://base:8000/v1/"}, ini={"endpoint": "http://ini/v1"})
    assert fallback.endpoint == "http://base:8000/v1"
    assert fallback.sources["endpoint"] == "$NVIDIA_BASE_URL"


def test_empty_values_fall_through_to_the_next_layer() -> None:
    settings = resolve(cli={"mode": ""}, env={"NIM_MODE": ""}, ini={"mode": "live"})
    assert settings.mode is Mode.LIVE


def test_mode_is_case_insensitive_and_a_str_enum() -> None:
    assert resolve(cli={"mode": " LIVE "}).mode == "live"


@pytest.mark.parametrize("layer", ["cli", "env", "ini"])
def test_unknown_mode_names_its_layer_and_lists_the_valid_ones(layer: str) -> None:
    args = {
        "cli": {"cli": {"mode": "replay"}},
        "env": {"env": {"NIM_MODE": "replay"}},
        "ini": {"ini": {"mode": "replay"}},
    }
    with pytest.raises(SettingsError) as caught:
        resolve(**args[layer])
    where = {"cli": "--nim-mode", "env": "$NIM_MODE", "ini": "ini nim_harness_mode"}[layer]
    assert str(caught.value) == f"{where}: unknown mode 'replay'; use one of: mock, record, live"


@pytest.mark.parametrize("speed", ["fast", "-1", "nan", "inf"])
def test_bad_speed_says_what_to_use(speed: str) -> None:
    with pytest.raises(SettingsError, match=r"--nim-harness-speed: .*speed"):
        resolve(cli={"speed": speed})


@pytest.mark.parametrize("endpoint", ["localhost:8000", "ftp://x/v1", "http://"])
def test_bad_endpoint_gives_an_example(endpoint: str) -> None:
    with pytest.raises(SettingsError, match=r"http://localhost:8000/v1"):
        resolve(env={"NIM_ENDPOINT": endpoint})


def test_absolute_cassette_folder_is_kept() -> None:
    assert resolve(ini={"cassettes": "/abs/cas"}).cassettes == Path("/abs/cas")


def test_redaction_values_from_every_layer_plus_the_api_key() -> None:
    settings = resolve(
        env={"NIM_REDACT": "env-one, env-two,", "NVIDIA_API_KEY": "my-key"},
        cli_redact=["cli-one"],
        ini_redact=["ini-one", "cli-one"],
    )
    assert settings.redact == ("cli-one", "env-one", "env-two", "ini-one", "my-key")
    assert settings.api_key == "my-key"


@pytest.mark.parametrize(
    ("endpoint", "hosted"),
    [
        ("https://integrate.api.nvidia.com/v1", True),
        ("https://ai.api.nvidia.com/v1/gr", True),
        ("https://api.nvidia.com.evil.example/v1", False),
        ("http://localhost:8000/v1", False),
    ],
)
def test_hosted_endpoints_are_recognised(endpoint: str, hosted: bool) -> None:
    assert resolve(cli={"endpoint": endpoint}).endpoint_is_hosted is hosted


def test_describe_live_names_the_endpoint_source() -> None:
    settings = resolve(cli={"mode": "live"}, env={"NIM_ENDPOINT": "http://x:1/v1", "NIM_MODEL": "org/m"})
    assert settings.describe() == (
        "nim-harness: mode=live (--nim-mode), endpoint=http://x:1/v1 ($NIM_ENDPOINT), "
        "model=org/m ($NIM_MODEL)"
    )


def test_bad_missing_choice() -> None:
    with pytest.raises(SettingsError, match=r"\$NIM_MISSING: 'ignore' is not a choice; use fail or skip"):
        resolve(env={"NIM_MISSING": "ignore"})


def test_record_mode_defaults_and_names() -> None:
    assert resolve().effective_record_mode is RecordMode.NONE
    assert resolve(cli={"mode": "record"}).effective_record_mode is RecordMode.REWRITE
    assert (
        resolve(cli={"mode": "record", "record_mode": "rewrite"}).effective_record_mode is RecordMode.REWRITE
    )
    assert resolve(cli={"record_mode": "new-episodes"}).record_mode is RecordMode.NEW_EPISODES
    with pytest.raises(SettingsError, match=r"unknown record mode 'sometimes'; use one of: none, once, "):
        resolve(cli={"record_mode": "sometimes"})


def test_record_mode_other_than_rewrite_in_record_mode_says_to_use_mock_mode() -> None:
    with pytest.raises(SettingsError, match=r"--nim-mode=mock --nim-record-mode=once"):
        resolve(cli={"mode": "record", "record_mode": "once"})


@pytest.mark.parametrize(
    ("key", "value", "fragment"),
    [
        ("allow_playback_repeats", "perhaps", "use true or false"),
        ("unplayed", "ignore", "use report or fail"),
        ("no_endpoint", "later", "use fail or skip"),
    ],
)
def test_bad_choices_name_the_valid_ones(key: str, value: str, fragment: str) -> None:
    with pytest.raises(SettingsError, match=fragment):
        resolve(cli={key: value})
