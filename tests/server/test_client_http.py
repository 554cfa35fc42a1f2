"""ComfyClient against the real ComfyUI: validation, queue control, history, files, catalogue and errors."""

from __future__ import annotations

import asyncio
import io
import random
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from tinywf import slow as _slow
from tinywf import tiny as _tiny

from comfytui.client import (
    ComfyClient,
    OutputFile,
    PromptRejected,
    QueueSnapshot,
    ServerError,
    ServerUnreachable,
)
from comfytui.testbed import free_port

pytestmark = pytest.mark.server



def tiny(seed: int | None = None) -> dict[str, Any]:
    return _tiny(seed, vary_model=True)


def slow() -> dict[str, Any]:
    return _slow(vary_model=True)


async def wait_running(client: ComfyClient, prompt_id: str, timeout: float = 20.0) -> QueueSnapshot:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        snap = await client.queue()
        if snap.running_id == prompt_id:
            return snap
        assert loop.time() < deadline, f"{prompt_id} never started: {snap}"
        await asyncio.sleep(0.05)


# --- validation ---------------------------------------------------------------------------------


async def test_bad_sampler_name(client: ComfyClient) -> None:
    prompt = tiny()
    prompt["5"]["inputs"]["sampler_name"] = "no_such_sampler"
    with pytest.raises(PromptRejected) as info:
        await client.submit(prompt)
    exc = info.value
    assert exc.type == "prompt_outputs_failed_validation"
    [err] = exc.node_errors["5"]
    assert (err.node_id, err.class_type, err.input_name, err.type) == (
        "5",
        "KSampler",
        "sampler_name",
        "value_not_in_list",
    )
    assert err.received_value == "no_such_sampler"
    assert "node 5 (KSampler) input 'sampler_name': value_not_in_list" in str(exc)
    assert client.client_id not in {i.client_id for i in (await client.queue()).pending}


async def test_steps_zero(client: ComfyClient) -> None:
    prompt = tiny()
    prompt["5"]["inputs"]["steps"] = 0
    with pytest.raises(PromptRejected) as info:
        await client.submit(prompt)
    [err] = info.value.node_errors["5"]
    assert (err.input_name, err.type, err.received_value) == ("steps", "value_smaller_than_min", 0)
    assert "input 'steps': value_smaller_than_min" in str(info.value)


async def test_unknown_class(client: ComfyClient) -> None:
    prompt = tiny()
    prompt["9"] = {"class_type": "NoSuchNode", "inputs": {}}
    with pytest.raises(PromptRejected) as info:
        await client.submit(prompt)
    assert info.value.type == "invalid_prompt" and info.value.node_errors == {}
    assert "NoSuchNode" in str(info.value)


async def test_required_input_missing(client: ComfyClient) -> None:
    prompt = tiny()
    del prompt["5"]["inputs"]["steps"]
    with pytest.raises(PromptRejected) as info:
        await client.submit(prompt)
    [err] = info.value.errors
    assert (err.node_id, err.input_name, err.type) == ("5", "steps", "required_input_missing")


# --- queue control --------------------------------------------------------------------------------


async def test_delete_pending_then_interrupt(client: ComfyClient) -> None:
    first = await client.submit(slow())
    await wait_running(client, first.prompt_id)
    second = await client.submit(tiny())
    snap = await client.queue()
    assert second.prompt_id in [i.prompt_id for i in snap.pending]
    assert snap.pending[-1].client_id == client.client_id
    assert await client.queue_remaining() >= 2

    await client.delete_queued([second.prompt_id])
    snap = await client.queue()
    assert second.prompt_id not in snap and snap.running_id == first.prompt_id

    assert await client.cancel(first.prompt_id)  # interrupts (again, if the first one came too early)
    entry = await client.wait_for_history(first.prompt_id, 10)
    assert entry.outcome == "interrupted"
    await asyncio.sleep(0.3)
    assert await client.history_entry(second.prompt_id) is None
    assert second.prompt_id not in await client.queue()
    assert not await client.cancel(first.prompt_id)


async def test_cancel_pending(client: ComfyClient) -> None:
    blocker = await client.submit(slow())
    behind = await client.submit(tiny())
    assert await client.cancel(behind.prompt_id)
    assert behind.prompt_id not in await client.queue()
    assert await client.cancel(blocker.prompt_id)
    assert (await client.wait_for_history(blocker.prompt_id, 10)).outcome == "interrupted"


async def test_front_jumps_the_queue(client: ComfyClient) -> None:
    blocker = await client.submit(slow())
    await wait_running(client, blocker.prompt_id)
    back = await client.submit(tiny())
    front = await client.submit(tiny(), front=True)
    assert front.number < 0 <= back.number
    snap = await client.queue()
    order = [i.prompt_id for i in snap.pending if i.client_id == client.client_id]
    assert order == [front.prompt_id, back.prompt_id]

    await client.cancel(blocker.prompt_id)
    a = await client.wait_for_history(back.prompt_id, 20)
    b = await client.wait_for_history(front.prompt_id, 20)
    assert a.outcome == b.outcome == "success"
    assert b.start_time is not None and a.start_time is not None and b.start_time <= a.start_time


async def test_clear_queue_removes_pending(client: ComfyClient) -> None:
    blocker = await client.submit(slow())
    await wait_running(client, blocker.prompt_id)
    extra = [await client.submit(tiny()) for _ in range(2)]
    await client.clear_queue()
    snap = await client.queue()
    assert snap.pending == [] and snap.running_id == blocker.prompt_id
    await client.cancel(blocker.prompt_id)
    await client.wait_for_history(blocker.prompt_id, 10)
    for r in extra:
        assert await client.history_entry(r.prompt_id) is None


# --- history ---------------------------------------------------------------------------------------


async def test_history_paging_and_delete(client: ComfyClient) -> None:
    prompt = tiny()
    ids = []
    for _ in range(3):  # the 2nd and 3rd are fully cached: milliseconds
        r = await client.submit(prompt)
        await client.wait_for_history(r.prompt_id, 20)
        ids.append(r.prompt_id)

    everything = [e.prompt_id for e in await client.history()]
    assert everything[-3:] == ids
    assert [e.prompt_id for e in await client.history(max_items=2)] == ids[1:]
    n = len(everything)
    page = await client.history(max_items=2, offset=n - 3)
    assert [e.prompt_id for e in page] == ids[:2]
    assert [e.prompt_id for e in await client.history(offset=n - 1)] == ids[2:]

    entries = {e.prompt_id: e for e in await client.history(max_items=3)}
    assert entries[ids[0]].outcome in ("success", "cached")
    assert entries[ids[2]].outcome == "cached"

    await client.delete_history(ids[:2])
    assert await client.history_entry(ids[0]) is None
    assert await client.history_entry(ids[2]) is not None
    await client.delete_history([ids[2]])
    assert await client.history_entry("no-such-id") is None


async def test_prompt_id_and_extra_data_round_trip(client: ComfyClient) -> None:
    pid = "00000000-0000-4000-8000-" + f"{random.randrange(1 << 48):012x}"
    r = await client.submit(tiny(), prompt_id=pid, extra_data={"extra_pnginfo": {"workflow": {"note": "hi"}}})
    assert r.prompt_id == pid
    entry = await client.wait_for_history(pid, 20)
    assert entry.extra_data["extra_pnginfo"]["workflow"] == {"note": "hi"}
    assert entry.client_id == client.client_id
    await client.delete_history([pid])


# --- files -----------------------------------------------------------------------------------------


def png_bytes(color: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), color).save(buf, format="PNG")
    return buf.getvalue()


async def test_upload_then_img2img(client: ComfyClient, tmp_path: Path) -> None:
    data = png_bytes((random.randrange(256), 80, 160))
    name = f"comfytui-test-{random.randrange(1 << 30)}.png"
    path = tmp_path / name
    path.write_bytes(data)
    up = await client.upload_image(path)
    assert up == OutputFile(name, "", "input")
    assert await client.view(up) == data

    again = await client.upload_image(png_bytes((1, 2, 3)), name)  # same name, other content: renamed
    assert again.filename != name and again.type == "input"
    same = await client.upload_image(png_bytes((1, 2, 3)), name, overwrite=True)
    assert same.filename == name and await client.view(filename=name, type="input") == png_bytes((1, 2, 3))
    sub = await client.upload_image(data, "in-sub.png", subfolder="tests")
    assert sub.subfolder == "tests" and await client.view(sub) == data

    prompt = tiny()
    prompt["8"] = {"class_type": "LoadImage", "inputs": {"image": sub.annotated}}
    prompt["9"] = {"class_type": "VAEEncode", "inputs": {"pixels": ["8", 0], "vae": ["1", 2]}}
    prompt["5"]["inputs"]["latent_image"] = ["9", 0]
    prompt["5"]["inputs"]["denoise"] = 0.5
    del prompt["4"]
    r = await client.submit(prompt)
    entry = await client.wait_for_history(r.prompt_id, 20)
    assert entry.outcome == "success", entry.error
    [(node, out)] = entry.images
    assert node == "7"
    with Image.open(io.BytesIO(await client.view(out))) as img:
        assert img.size == (64, 64)


async def test_view_missing_file(client: ComfyClient) -> None:
    with pytest.raises(ServerError) as info:
        await client.view(filename="does-not-exist.png")
    assert info.value.status == 404 and "/view" in str(info.value)
    with pytest.raises(ValueError):
        await client.view()


# --- catalogue, system, logs --------------------------------------------------------------------------


async def test_system_stats_and_features(client: ComfyClient) -> None:
    stats = await client.system_stats()
    assert stats.comfyui_version == "0.3.75"
    assert stats.python_version.startswith("3.") and stats.pytorch_version
    assert stats.ram_total > 0 and stats.devices and stats.devices[0].type == "cpu"
    assert "--cpu" in stats.argv
    features = await client.features()
    assert features["supports_preview_metadata"] is True and features["max_upload_size"] > 0


async def test_object_info(client: ComfyClient) -> None:
    everything = await client.object_info()
    assert {"KSampler", "SaveImage", "TinyCheckpointLoader"} <= set(everything)
    ks = await client.object_info("KSampler")
    assert "euler" in ks["KSampler"]["input"]["required"]["sampler_name"][0]
    loader = (await client.object_info("TinyCheckpointLoader"))["TinyCheckpointLoader"]
    assert loader["output"] == ["MODEL", "CLIP", "VAE"]
    assert await client.object_info("NoSuchNode") == {}


async def test_models(client: ComfyClient) -> None:
    folders = await client.models()
    assert "checkpoints" in folders and "vae_approx" in folders
    assert isinstance(await client.models("checkpoints"), list)
    with pytest.raises(ServerError) as info:
        await client.models("no_such_folder")
    assert info.value.status == 404


async def test_logs_raw_and_free(client: ComfyClient) -> None:
    # The ring buffer keeps 300 entries, so start-up lines may be gone: look for the line our own run adds.
    result = await client.submit(tiny(random.randrange(2**32)))
    await client.wait_for_history(result.prompt_id, 20)
    logs = await client.logs_raw()
    assert logs and any("Prompt executed in" in e.m for e in logs[-20:])
    assert all(e.t for e in logs)
    await client.free(unload_models=False, free_memory=True)


# --- connection errors and headers ---------------------------------------------------------------------


async def test_unreachable_server() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    async with ComfyClient(url, timeout=2) as c:
        with pytest.raises(ServerUnreachable) as info:
            await c.queue()
        assert url in str(info.value)
        with pytest.raises(ServerUnreachable):
            await c.submit(tiny())


async def test_headers_auth_and_no_origin(comfy_url: str) -> None:
    async with ComfyClient(
        comfy_url, auth="user:secret", headers={"Origin": "http://evil.example", "X-Test": "1"}
    ) as c:
        assert "secret" not in repr(c)
        sent: list[Any] = []

        async def hook(request: Any) -> None:
            sent.append(request.headers)

        c._http.event_hooks["request"].append(hook)
        await c.queue()  # the server ignores Authorization; Origin would get a 403
        assert "origin" not in sent[0] and sent[0]["x-test"] == "1"
        assert sent[0]["authorization"].startswith("Basic ")


async def test_names_with_odd_characters(client: ComfyClient) -> None:
    assert await client.history_entry("a/b c?d") is None
    assert await client.object_info("No Such/Node?") == {}
    name = "CLIPTextEncode"
    assert name in await client.object_info(name)
