"""Config file, environment overrides, recent files, and the API key kept out of everything written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from comfytui.config import (
    API_KEY_FIELD,
    Config,
    ConfigError,
    add_recent,
    config_path,
    load_config,
    load_recent,
    recent_path,
    with_api_key,
    without_secrets,
)

SECRET = "comfyui-SECRET-abc123"


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMFYTUI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("COMFYTUI_API_KEY", raising=False)
    monkeypatch.delenv("COMFYTUI_AUTH", raising=False)
    monkeypatch.delenv("COMFYTUI_CONFIG", raising=False)


def test_config_path_env_then_xdg_then_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    assert config_path() == tmp_path / ".config" / "comfytui" / "config.toml"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert config_path() == tmp_path / "xdg" / "comfytui" / "config.toml"
    monkeypatch.setenv("COMFYTUI_CONFIG", str(tmp_path / "mine.toml"))
    assert config_path() == tmp_path / "mine.toml"


def test_missing_file_is_an_empty_config(tmp_path: Path) -> None:
    cfg = load_config(tmp_path / "nope.toml", env={})
    assert (cfg.server, cfg.auth, cfg.api_key, cfg.workflows_dir) == (None, None, None, None)


def test_reads_keys_and_env_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f'server = "http://gpu:8188"\nauth = "u:p"\napi_key = "{SECRET}"\nworkflows_dir = "~/wf"\n')
    monkeypatch.setenv("COMFYTUI_CONFIG", str(path))
    cfg = load_config()
    assert cfg.server == "http://gpu:8188" and cfg.auth == "u:p" and cfg.api_key == SECRET
    assert cfg.workflows_dir == Path("~/wf").expanduser()
    assert load_config(env={"COMFYTUI_API_KEY": "from-env"}).api_key == "from-env"


def test_secrets_never_in_repr(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f'api_key = "{SECRET}"\nauth = "user:hunter2"\n')
    cfg = load_config(path, env={})
    for text in (repr(cfg), str(cfg), f"{cfg}"):
        assert SECRET not in text and "hunter2" not in text
    assert "api_key='***'" in repr(cfg)
    assert "api_key=None" in repr(Config())


@pytest.mark.parametrize(
    ("content", "message"),
    [("server = ", "invalid TOML"), ("server = 3", "'server' must be a string")],
)
def test_bad_file_gives_one_line_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(content)
    with pytest.raises(ConfigError, match=message) as info:
        load_config(path, env={})
    assert str(path) in str(info.value) and "\n" not in str(info.value).strip()


def test_with_api_key_restores_stripped_or_redacted_keys() -> None:
    assert with_api_key({}, SECRET) == {API_KEY_FIELD: SECRET}
    assert with_api_key({API_KEY_FIELD: "[REDACTED]", "x": 1}, SECRET) == {API_KEY_FIELD: SECRET, "x": 1}
    assert with_api_key({API_KEY_FIELD: "[REDACTED]"}, None) == {}
    assert with_api_key({"x": 1}, None) == {"x": 1}
    original = {API_KEY_FIELD: "***"}
    with_api_key(original, SECRET)
    assert original == {API_KEY_FIELD: "***"}  # a copy


def test_without_secrets() -> None:
    extra = {API_KEY_FIELD: SECRET, "auth_token_comfy_org": "t", "extra_pnginfo": {"workflow": {}}}
    assert without_secrets(extra) == {"extra_pnginfo": {"workflow": {}}}


def test_recent_files_newest_first_deduplicated_and_bounded(tmp_path: Path) -> None:
    files = [tmp_path / f"w{i}.json" for i in range(15)]
    for f in files:
        add_recent(f)
    add_recent(files[3])
    recent = load_recent()
    assert recent[0] == files[3].resolve()
    assert len(recent) == 12 and len(set(recent)) == 12
    assert json.loads(recent_path().read_text())["files"][0] == str(files[3].resolve())


def test_broken_recent_file_is_empty(tmp_path: Path) -> None:
    recent_path().parent.mkdir(parents=True, exist_ok=True)
    recent_path().write_text("{not json")
    assert load_recent() == []
    assert add_recent(tmp_path / "a.json") == [(tmp_path / "a.json").resolve()]
