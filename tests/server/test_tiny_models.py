"""The tiny random-weight models run the stock ComfyUI nodes for real on the test bed (and the workflows are valid)."""

from __future__ import annotations

import copy
import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image, ImageStat

from comfytui.testbed import ComfyServer

pytestmark = pytest.mark.server

WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"
TINY = ["tiny_txt2img.json", "tiny_img2img.json", "tiny_multi_output.json"]
REAL = ["sd15_txt2img.json", "img2img.json", "sdxl_base.json", "flux1_schnell.json"]
MODEL_FILE_INPUTS = {"ckpt_name", "vae_name", "unet_name", "clip_name", "clip_name1", "clip_name2", "lora_name"}


def load(name: str) -> dict[str, Any]:
    return json.loads((WORKFLOWS / name).read_text())


def submit(http: httpx.Client, prompt: dict[str, Any]) -> str:
    resp = http.post("/prompt", json={"prompt": prompt, "client_id": "test-tiny-models"})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["node_errors"] == {}
    return str(body["prompt_id"])


def wait_history(http: httpx.Client, prompt_id: str, timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        entry = http.get(f"/history/{prompt_id}").json().get(prompt_id)
        if entry is not None:
            return dict(entry)
        time.sleep(0.03)
    raise TimeoutError(f"prompt {prompt_id} not in history after {timeout}s")


def run(http: httpx.Client, prompt: dict[str, Any]) -> dict[str, Any]:
    """Submit, wait, and assert success; returns the history entry."""
    entry = wait_history(http, submit(http, prompt))
    assert entry["status"]["status_str"] == "success", entry["status"]
    assert entry["status"]["completed"] is True
    return entry


def images(entry: dict[str, Any], node: str) -> list[dict[str, str]]:
    return list(entry["outputs"][node]["images"])


def fetch(http: httpx.Client, image: dict[str, str]) -> bytes:
    resp = http.get("/view", params={k: image[k] for k in ("filename", "subfolder", "type")})
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "image/png"
    return resp.content


def decode(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img.convert("RGB")


def assert_real_image(img: Image.Image, size: tuple[int, int]) -> None:
    assert img.size == size
    stat = ImageStat.Stat(img)
    assert max(stat.stddev) > 5, f"image is (nearly) uniform: {stat.stddev}"
    assert 10 < sum(stat.mean) / 3 < 245, f"image is black/white: {stat.mean}"


def pixel_diff(a: Image.Image, b: Image.Image) -> float:
    pa, pb = a.tobytes(), b.tobytes()
    return sum(abs(x - y) for x, y in zip(pa, pb, strict=True)) / len(pa)


@pytest.fixture(scope="module")
def http(comfy_server: ComfyServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=comfy_server.url, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def example_png(http: httpx.Client) -> Image.Image:
    """A 96x80 gradient uploaded to the server's input folder as example.png."""
    img = Image.new("RGB", (96, 80))
    img.putdata([(x * 255 // 95, y * 255 // 79, 128) for y in range(80) for x in range(96)])
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    resp = http.post(
        "/upload/image",
        files={"image": ("example.png", buf.getvalue(), "image/png")},
        data={"overwrite": "true", "type": "input"},
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["name"] == "example.png"
    return img


def test_loader_is_registered(http: httpx.Client) -> None:
    info = http.get("/object_info/TinyCheckpointLoader").json()["TinyCheckpointLoader"]
    assert info["display_name"] == "Tiny Checkpoint Loader (comfytui)"
    assert info["category"] == "loaders"
    assert info["output"] == ["MODEL", "CLIP", "VAE"]
    kind, opts = info["input"]["required"]["seed"]
    assert kind == "INT"
    assert (opts["default"], opts["min"], opts["max"]) == (0, 0, 2**32 - 1)


def test_workflows_use_the_agreed_node_ids() -> None:
    wf = load("tiny_txt2img.json")
    assert {k: v["class_type"] for k, v in wf.items()} == {
        "1": "TinyCheckpointLoader",
        "2": "CLIPTextEncode",
        "3": "CLIPTextEncode",
        "4": "EmptyLatentImage",
        "5": "KSampler",
        "6": "VAEDecode",
        "7": "SaveImage",
    }
    assert wf["2"]["_meta"]["title"] == "Positive"
    assert wf["3"]["_meta"]["title"] == "Negative"
    assert wf["5"]["_meta"]["title"] == "KSampler"
    assert wf["2"]["inputs"]["text"] == "a red fox in the snow"
    assert wf["7"]["inputs"]["filename_prefix"] == "tiny"
    for name in [*TINY, "tiny_slow.json", *REAL]:
        assert all("_meta" in node and "title" in node["_meta"] for node in load(name).values()), name


def test_txt2img_makes_a_real_png(http: httpx.Client) -> None:
    wf = load("tiny_txt2img.json")
    entry = run(http, wf)
    (image,) = images(entry, "7")
    assert image["type"] == "output"
    assert image["filename"].startswith("tiny_")
    assert_real_image(decode(fetch(http, image)), (64, 64))


def test_same_seed_same_bytes_other_seed_other_pixels(http: httpx.Client) -> None:
    wf = load("tiny_txt2img.json")
    wf["7"]["inputs"]["filename_prefix"] = "determinism"
    first = fetch(http, images(run(http, wf), "7")[0])
    other = copy.deepcopy(wf)
    other["5"]["inputs"]["seed"] = 43
    second = fetch(http, images(run(http, other), "7")[0])
    # the classic cache keeps only the last prompt's results, so seed 42 really runs again
    entry = run(http, wf)
    assert "5" not in next(m[1]["nodes"] for m in entry["status"]["messages"] if m[0] == "execution_cached")
    again = fetch(http, images(entry, "7")[0])
    assert again == first
    assert pixel_diff(decode(first), decode(second)) > 1.0


def test_prompt_text_changes_the_image(http: httpx.Client) -> None:
    wf = load("tiny_txt2img.json")
    wf["7"]["inputs"]["filename_prefix"] = "prompt_a"
    a = decode(fetch(http, images(run(http, wf), "7")[0]))
    wf["2"]["inputs"]["text"] = "a blue sports car on a wet road at night"
    b = decode(fetch(http, images(run(http, wf), "7")[0]))
    assert pixel_diff(a, b) > 1.0


def test_multi_output(http: httpx.Client) -> None:
    entry = run(http, load("tiny_multi_output.json"))
    (a,) = images(entry, "7")
    (b,) = images(entry, "10")
    (p,) = images(entry, "11")
    assert (a["type"], b["type"], p["type"]) == ("output", "output", "temp")
    imgs = [decode(fetch(http, im)) for im in (a, b, p)]
    for img in imgs:
        assert_real_image(img, (64, 64))
    assert pixel_diff(imgs[0], imgs[1]) > 1.0
    assert imgs[1].tobytes() == imgs[2].tobytes()  # the preview shows branch B


def test_img2img_with_uploaded_image(http: httpx.Client, example_png: Image.Image) -> None:
    entry = run(http, load("tiny_img2img.json"))
    (image,) = images(entry, "7")
    out = decode(fetch(http, image))
    assert_real_image(out, example_png.size)
    # the result follows the input: much closer to it than a txt2img image of the same size is
    wf = load("tiny_txt2img.json")
    wf["4"]["inputs"].update(width=96, height=80)
    wf["7"]["inputs"]["filename_prefix"] = "img2img_ref"
    ref = decode(fetch(http, images(run(http, wf), "7")[0]))
    assert pixel_diff(out, example_png) < pixel_diff(ref, example_png)


def test_slow_workflow_is_still_sampling_after_a_second(http: httpx.Client) -> None:
    prompt_id = submit(http, load("tiny_slow.json"))
    try:
        start = time.monotonic()
        while not any(item[1] == prompt_id for item in http.get("/queue").json()["queue_running"]):
            assert time.monotonic() - start < 10, "never started"
            time.sleep(0.02)
        time.sleep(1.2)
        running = http.get("/queue").json()["queue_running"]
        assert any(item[1] == prompt_id for item in running)
    finally:
        http.post("/interrupt", json={"prompt_id": prompt_id})
    entry = wait_history(http, prompt_id)
    assert entry["status"]["status_str"] == "error"
    assert entry["status"]["completed"] is False


@pytest.mark.parametrize("name", REAL)
def test_real_model_examples_only_lack_model_files(http: httpx.Client, example_png: Image.Image, name: str) -> None:
    """The example workflows are valid API prompts: the server's only complaint is the missing model files."""
    resp = http.post("/prompt", json={"prompt": load(name)})
    assert resp.status_code == 400
    body = resp.json()
    assert body["node_errors"], body
    for node_id, node in body["node_errors"].items():
        for err in node["errors"]:
            assert err["type"] == "value_not_in_list", (node_id, err)
            assert err["extra_info"]["input_name"] in MODEL_FILE_INPUTS, (node_id, err)
