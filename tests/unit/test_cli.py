"""Where the CLI finds its server: the flag, then $COMFYTUI_SERVER, then the config file, then localhost."""

from __future__ import annotations

from pathlib import Path

import pytest

from comfytui.cli import DEFAULT_SERVER, build_parser, default_server


def test_server_comes_from_env_then_config_then_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "config.toml"
    monkeypatch.setenv("COMFYTUI_CONFIG", str(config))
    monkeypatch.delenv("COMFYTUI_SERVER", raising=False)
    assert default_server() == DEFAULT_SERVER
    config.write_text('server = "http://gpu-box:8188"\n')
    assert default_server() == "http://gpu-box:8188"
    monkeypatch.setenv("COMFYTUI_SERVER", "http://from-env:8188")
    assert default_server() == "http://from-env:8188"


def test_server_flag_works_before_and_after_the_subcommand() -> None:
    parser = build_parser()
    assert parser.parse_args(["--server", "http://a:1", "queue"]).server == "http://a:1"
    assert parser.parse_args(["queue", "--server", "http://b:2"]).server == "http://b:2"
