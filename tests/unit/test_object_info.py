"""ObjectInfo: the typed view of /object_info, from the recorded test-bed catalogue."""

from __future__ import annotations

from pathlib import Path

import pytest

from comfytui.core.object_info import InputSpec, ObjectInfo, types_compatible

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def info() -> ObjectInfo:
    return ObjectInfo.from_file(DATA / "object_info.json")


def test_catalogue_mapping(info: ObjectInfo) -> None:
    assert "KSampler" in info
    assert "TinyCheckpointLoader" in info
    assert "NoSuchNode" not in info
    assert len(info) > 100
    assert info.input("NoSuchNode", "x") is None
    assert info.input("KSampler", "nope") is None


def test_ksampler_inputs_in_input_order(info: ObjectInfo) -> None:
    ks = info["KSampler"]
    assert ks.input_order == [
        "model",
        "seed",
        "steps",
        "cfg",
        "sampler_name",
        "scheduler",
        "positive",
        "negative",
        "latent_image",
        "denoise",
    ]
    assert [w.name for w in ks.widget_inputs()] == ["seed", "steps", "cfg", "sampler_name", "scheduler", "denoise"]
    assert [i.name for i in ks.link_inputs()] == ["model", "positive", "negative", "latent_image"]
    assert ks.outputs == ("LATENT",)
    assert not ks.output_node
    assert info["SaveImage"].output_node
    assert info["SaveImage"].hidden == ("prompt", "extra_pnginfo")


def test_input_kinds_and_options(info: ObjectInfo) -> None:
    ks = info["KSampler"]
    seed, steps, cfg, sampler = ks.inputs["seed"], ks.inputs["steps"], ks.inputs["cfg"], ks.inputs["sampler_name"]
    assert (seed.kind, steps.kind, cfg.kind, sampler.kind) == ("INT", "INT", "FLOAT", "COMBO")
    assert ks.inputs["model"].kind == "LINK" and ks.inputs["model"].type == "MODEL"
    assert seed.control_after_generate and seed.has_control and seed.is_seed
    assert not steps.has_control and not steps.is_seed
    assert (steps.min, steps.max, steps.default) == (1, 10000, 20)
    assert cfg.step == 0.1 and cfg.round == 0.01
    assert sampler.options and "euler" in sampler.options
    assert info["CLIPTextEncode"].inputs["text"].multiline
    assert info["CLIPTextEncode"].inputs["text"].kind == "STRING"
    assert info["LoadImage"].inputs["image"].upload == "image"
    assert info["KSampler"].inputs["sampler_name"].upload is None
    assert ks.inputs["seed"].describe() == "INT 0..18446744073709551615"
    assert sampler.describe().startswith("COMBO (")


def test_new_style_combo_and_force_input() -> None:
    spec = InputSpec.parse("mode", ["COMBO", {"options": ["a", "b"], "default": "a"}], "required")
    assert spec.kind == "COMBO" and spec.options == ("a", "b") and spec.is_widget
    forced = InputSpec.parse("text", ["STRING", {"forceInput": True}], "optional")
    assert forced.kind == "STRING" and not forced.is_widget and not forced.required


def test_seed_rule_follows_the_frontend() -> None:
    by_name = InputSpec.parse("noise_seed", ["INT", {"min": 0}], "required")
    assert by_name.has_control and by_name.is_seed
    declared_off = InputSpec.parse("seed", ["INT", {"control_after_generate": False}], "required")
    assert not declared_off.has_control and not declared_off.is_seed
    combo = InputSpec.parse("ckpt", [["a", "b"], {"control_after_generate": True}], "required")
    assert combo.has_control and not combo.is_seed


def test_validate_values(info: ObjectInfo) -> None:
    ks = info["KSampler"].inputs
    assert ks["steps"].validate(20) is None
    assert ks["steps"].validate(20.0) is None
    assert ks["steps"].validate(0) == "0 is smaller than the minimum 1"
    assert ks["steps"].validate(10001) == "10001 is bigger than the maximum 10000"
    assert "integer" in (ks["steps"].validate(2.5) or "")
    assert "integer" in (ks["steps"].validate("20") or "")
    assert "integer" in (ks["steps"].validate(True) or "")
    assert ks["cfg"].validate(7) is None
    assert ks["cfg"].validate(100.5) == "100.5 is bigger than the maximum 100"
    assert "number" in (ks["cfg"].validate(float("nan")) or "")
    assert ks["sampler_name"].validate("euler") is None
    msg = ks["sampler_name"].validate("eular") or ""
    assert "not one of the choices" in msg and "'euler'" in msg
    assert info["CLIPTextEncode"].inputs["text"].validate(3) == "expected text, got 3"
    assert info["LoadImage"].inputs["image"].validate("uploaded_after_fetch.png") is None
    assert ks["model"].validate(["1", 0]) is None
    assert info.validate_value("KSampler", "denoise", 2) == "2 is bigger than the maximum 1"
    assert info.validate_value("Unknown", "x", 1) is None


def test_coerce_from_text(info: ObjectInfo) -> None:
    ks = info["KSampler"].inputs
    assert ks["steps"].coerce("30") == 30
    assert ks["steps"].coerce("30.0") == 30
    assert ks["cfg"].coerce("6.5") == 6.5
    assert ks["sampler_name"].coerce("EULER") == "euler"
    with pytest.raises(ValueError, match="expected an integer"):
        ks["steps"].coerce("many")
    with pytest.raises(ValueError, match="smaller than the minimum"):
        ks["steps"].coerce("0")
    with pytest.raises(ValueError, match="did you mean"):
        ks["sampler_name"].coerce("eulr")
    with pytest.raises(ValueError, match="link input of type MODEL"):
        ks["model"].coerce("x")
    boolean = InputSpec.parse("flag", ["BOOLEAN", {"default": False}], "required")
    assert boolean.coerce("yes") is True and boolean.coerce("off") is False
    with pytest.raises(ValueError, match="true or false"):
        boolean.coerce("maybe")
    assert info["CLIPTextEncode"].inputs["text"].coerce(" keep spaces ") == " keep spaces "


def test_types_compatible() -> None:
    assert types_compatible("IMAGE", "IMAGE")
    assert not types_compatible("IMAGE", "LATENT")
    assert types_compatible("*", "LATENT")
    assert types_compatible("INT,FLOAT", "FLOAT")
    assert types_compatible("image", "IMAGE")
