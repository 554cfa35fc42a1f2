"""UI → API conversion, rule by rule, against the recorded test-bed catalogue."""

from __future__ import annotations

import json
import random
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from comfytui.core.convert import convert_ui, format_date, process_dynamic_prompt, ui_to_api
from comfytui.core.object_info import ObjectInfo
from comfytui.core.workflow import UnknownNodeClasses, Workflow, WorkflowError

DATA = Path(__file__).resolve().parents[1] / "data"
UI_DIR = DATA / "ui_workflows"

PAIRS = [
    ("tiny_plain.ui.json", "tiny_plain.api.json"),
    ("tiny_full.ui.json", "tiny_full.api.json"),
    ("tiny_full_schema1.ui.json", "tiny_full.api.json"),
    ("stock_image.ui.json", "stock_image.api.json"),
    ("stock_image_schema04.ui.json", "stock_image.api.json"),
    ("tiny_subgraph.ui.json", "tiny_subgraph.api.json"),
    ("stock_loadimage.ui.json", "stock_loadimage.api.json"),
]


@pytest.fixture(scope="module")
def info() -> ObjectInfo:
    return ObjectInfo.from_file(DATA / "object_info.json")


def load(name: str) -> Any:
    return json.loads((UI_DIR / name).read_text())


@pytest.mark.parametrize(("ui_name", "api_name"), PAIRS)
def test_recorded_files_convert_to_expected(info: ObjectInfo, ui_name: str, api_name: str) -> None:
    result = convert_ui(load(ui_name), info)
    assert result.prompt == load(api_name)
    assert result.notes == []
    assert Workflow.from_dict(result.prompt).validate(info) == []


# --- a tiny builder for UI graphs --------------------------------------------------------------------------


class UI:
    """Build a schema-0.4 UI workflow by hand."""

    def __init__(self) -> None:
        self.nodes: list[dict[str, Any]] = []
        self.links: list[list[Any]] = []

    def node(self, nid: int, type_: str, widgets: Any = None, mode: int = 0, title: str | None = None) -> UI:
        n: dict[str, Any] = {"id": nid, "type": type_, "mode": mode, "inputs": [], "outputs": [], "properties": {}}
        if widgets is not None:
            n["widgets_values"] = widgets
        if title:
            n["title"] = title
        self.nodes.append(n)
        return self

    def _get(self, nid: int) -> dict[str, Any]:
        return next(n for n in self.nodes if n["id"] == nid)

    def link(self, src: int, slot: int, dst: int, name: str, type_: str, widget: bool = False) -> UI:
        lid = len(self.links) + 1
        s, d = self._get(src), self._get(dst)
        while len(s["outputs"]) <= slot:
            s["outputs"].append({"name": type_, "type": type_, "links": []})
        s["outputs"][slot]["links"].append(lid)
        s["outputs"][slot]["type"] = type_ if s["type"] != "Reroute" else s["outputs"][slot]["type"]
        inp: dict[str, Any] = {"name": name, "type": type_, "link": lid}
        if widget:
            inp["widget"] = {"name": name}
        d["inputs"].append(inp)
        self.links.append([lid, src, slot, dst, len(d["inputs"]) - 1, type_])
        return self

    def output(self, nid: int, slot: int, type_: str) -> UI:
        n = self._get(nid)
        while len(n["outputs"]) <= slot:
            n["outputs"].append({"name": type_, "type": type_, "links": []})
        n["outputs"][slot]["type"] = type_
        return self

    def build(self) -> dict[str, Any]:
        return {"last_node_id": 99, "last_link_id": 99, "nodes": self.nodes, "links": self.links, "version": 0.4}


def image_chain() -> UI:
    return UI().node(1, "EmptyImage", [8, 8, 1, 0]).output(1, 0, "IMAGE")


# --- widgets -----------------------------------------------------------------------------------------------


def test_widget_order_and_seed_control_value(info: ObjectInfo) -> None:
    ui = image_chain().node(2, "ImageAddNoise", [5, "randomize", 0.3]).link(1, 0, 2, "image", "IMAGE").build()
    out = ui_to_api(ui, info)
    assert out["2"]["inputs"] == {"seed": 5, "strength": 0.3, "image": ["1", 0]}
    assert out["2"]["_meta"]["title"] == "ImageAddNoise"


def test_missing_control_value_is_tolerated(info: ObjectInfo) -> None:
    ui = image_chain().node(2, "ImageAddNoise", [5, 0.3]).link(1, 0, 2, "image", "IMAGE").build()
    assert ui_to_api(ui, info)["2"]["inputs"]["strength"] == 0.3


def test_combo_with_control_takes_two_extra_values(info: ObjectInfo) -> None:
    raw = {
        "ComboCtl": {
            "input": {
                "required": {
                    "pick": [["a", "b"], {"control_after_generate": True}],
                    "n": ["INT", {"default": 1}],
                }
            },
            "input_order": {"required": ["pick", "n"]},
            "output": ["STRING"],
            "output_node": True,
        }
    }
    ui = UI().node(1, "ComboCtl", ["b", "increment-wrap", "/b/", 3]).build()
    assert ui_to_api(ui, ObjectInfo(raw))["1"]["inputs"] == {"pick": "b", "n": 3}


def test_image_upload_value_and_mask_channel(info: ObjectInfo) -> None:
    ui = UI().node(1, "LoadImage", ["cat.png", "image"]).node(2, "LoadImageMask", ["cat.png", "alpha", "image"]).build()
    out = convert_ui(ui, info)
    assert out.prompt["1"]["inputs"] == {"image": "cat.png"}
    assert out.prompt["2"]["inputs"] == {"image": "cat.png", "channel": "alpha"}
    assert out.notes == []


def test_dict_widgets_values_and_null_holes(info: ObjectInfo) -> None:
    ui = (
        UI()
        .node(1, "EmptyImage", {"width": 16, "height": 24, "batch_size": 2, "color": 5, "extra": 1})
        .node(2, "ImageScale", ["bilinear", None, 32, "center"])
        .output(1, 0, "IMAGE")
        .link(1, 0, 2, "image", "IMAGE")
        .build()
    )
    out = ui_to_api(ui, info)
    assert out["1"]["inputs"] == {"width": 16, "height": 24, "batch_size": 2, "color": 5}
    assert out["2"]["inputs"] == {"upscale_method": "bilinear", "height": 32, "crop": "center", "image": ["1", 0]}


def test_extra_widget_values_are_noted(info: ObjectInfo) -> None:
    ui = UI().node(1, "SaveImage", ["x", 3, "surprise"]).build()
    result = convert_ui(ui, info)
    assert result.prompt["1"]["inputs"] == {"filename_prefix": "x"}
    assert result.notes == [
        "node 1 (SaveImage): 2 unexpected widget value(s) ignored (saved by another version of the node?)"
    ]


def test_trailing_text_preview_is_ignored_quietly(info: ObjectInfo) -> None:
    ui = UI().node(1, "SaveImage", ["x", "Status: Completed\nPrice: $0.14", ""]).build()
    result = convert_ui(ui, info)
    assert result.prompt["1"]["inputs"] == {"filename_prefix": "x"}
    assert result.notes == []


def test_array_values_are_wrapped(info: ObjectInfo) -> None:
    ui = UI().node(1, "SaveImage", [["a", "b"]]).build()
    assert ui_to_api(ui, info)["1"]["inputs"]["filename_prefix"] == {"__value__": ["a", "b"]}


def test_legacy_force_input_values_are_dropped() -> None:
    raw = {
        "Legacy": {
            "input": {"required": {"a": ["INT", {}], "b": ["STRING", {"forceInput": True}], "c": ["FLOAT", {}]}},
            "input_order": {"required": ["a", "b", "c"]},
            "output": [],
            "output_node": True,
        }
    }
    ui = UI().node(1, "Legacy", [1, "old", 2.5]).build()
    assert ui_to_api(ui, ObjectInfo(raw))["1"]["inputs"] == {"a": 1, "c": 2.5}


# --- links, virtual nodes, modes ---------------------------------------------------------------------------


def test_converted_widget_linked_to_a_real_node(info: ObjectInfo) -> None:
    ui = (
        image_chain()
        .node(2, "PrimitiveInt", [40, "fixed"])
        .output(2, 0, "INT")
        .node(3, "ImageScale", ["nearest-exact", 512, 32, "disabled"])
        .link(1, 0, 3, "image", "IMAGE")
        .link(2, 0, 3, "width", "INT", widget=True)
        .build()
    )
    assert ui_to_api(ui, info)["3"]["inputs"]["width"] == ["2", 0]


def test_reroute_chain_and_primitive_through_reroute(info: ObjectInfo) -> None:
    ui = (
        image_chain()
        .node(5, "Reroute")
        .output(5, 0, "IMAGE")
        .node(6, "Reroute")
        .output(6, 0, "IMAGE")
        .node(7, "PrimitiveNode", [99, "fixed"])
        .node(8, "Reroute")
        .node(2, "ImageAddNoise", [5, "fixed", 0.3])
        .link(1, 0, 5, "", "*")
        .link(5, 0, 6, "", "*")
        .link(6, 0, 2, "image", "IMAGE")
        .link(7, 0, 8, "", "*")
        .link(8, 0, 2, "seed", "INT", widget=True)
        .build()
    )
    out = ui_to_api(ui, info)
    assert out["2"]["inputs"] == {"seed": 99, "strength": 0.3, "image": ["1", 0]}
    assert set(out) == {"1", "2"}


def test_primitive_value_wins_over_a_stale_target_value(info: ObjectInfo) -> None:
    ui = (
        image_chain()
        .node(7, "PrimitiveNode", [123, "randomize"])
        .node(2, "ImageAddNoise", [5, "fixed", 0.3])
        .link(1, 0, 2, "image", "IMAGE")
        .link(7, 0, 2, "seed", "INT", widget=True)
        .build()
    )
    assert ui_to_api(ui, info)["2"]["inputs"]["seed"] == 123


def test_bypass_passes_the_same_typed_input(info: ObjectInfo) -> None:
    ui = (
        image_chain()
        .node(2, "ImageBlur", [3, 1.0], mode=4)
        .output(2, 0, "IMAGE")
        .node(3, "ImageBlur", [3, 1.0], mode=4)
        .output(3, 0, "IMAGE")
        .node(4, "SaveImage", ["x"])
        .link(1, 0, 2, "image", "IMAGE")
        .link(2, 0, 3, "image", "IMAGE")
        .link(3, 0, 4, "images", "IMAGE")
        .build()
    )
    out = ui_to_api(ui, info)
    assert out["4"]["inputs"]["images"] == ["1", 0]
    assert set(out) == {"1", "4"}


def test_bypass_picks_input_by_type_not_position(info: ObjectInfo) -> None:
    ui = (
        UI()
        .node(1, "TinyCheckpointLoader", [0, "fixed"])
        .output(1, 1, "CLIP")
        .node(2, "EmptyLatentImage", [64, 64, 1])
        .output(2, 0, "LATENT")
        .node(3, "KSampler", [1, "fixed", 1, 1, "euler", "normal", 1], mode=4)
        .output(3, 0, "LATENT")
        .node(4, "VAEDecode")
        .link(1, 0, 3, "model", "MODEL")
        .link(2, 0, 3, "latent_image", "LATENT")
        .link(3, 0, 4, "samples", "LATENT")
        .build()
    )
    assert ui_to_api(ui, info)["4"]["inputs"] == {"samples": ["2", 0]}


def test_bypass_without_matching_input_drops_the_link(info: ObjectInfo) -> None:
    ui = (
        UI()
        .node(1, "EmptyLatentImage", [64, 64, 1], mode=4)
        .output(1, 0, "LATENT")
        .node(2, "LatentUpscaleBy", ["nearest-exact", 1.5])
        .link(1, 0, 2, "samples", "LATENT")
        .build()
    )
    assert ui_to_api(ui, info)["2"]["inputs"] == {"upscale_method": "nearest-exact", "scale_by": 1.5}


def test_muted_nodes_and_their_links_vanish(info: ObjectInfo) -> None:
    ui = (
        image_chain()
        .node(2, "ImageInvert", mode=2)
        .output(2, 0, "IMAGE")
        .node(3, "SaveImage", ["x"])
        .node(4, "Note", ["hello"])
        .node(5, "MarkdownNote", ["# hi"])
        .link(1, 0, 2, "image", "IMAGE")
        .link(2, 0, 3, "images", "IMAGE")
        .build()
    )
    out = ui_to_api(ui, info)
    assert set(out) == {"1", "3"}
    assert out["3"]["inputs"] == {"filename_prefix": "x"}


def test_titles_are_kept(info: ObjectInfo) -> None:
    ui = UI().node(1, "SaveImage", ["x"], title="Final").node(2, "SaveImage", ["y"]).build()
    out = ui_to_api(ui, info)
    assert out["1"]["_meta"]["title"] == "Final"
    assert out["2"]["_meta"]["title"] == "Save Image"


def test_schema_1_links() -> None:
    ui = load("tiny_full_schema1.ui.json")
    assert isinstance(ui["links"][0], dict)
    assert ui["version"] == 1


# --- errors ------------------------------------------------------------------------------------------------


def test_unknown_classes_are_all_named(info: ObjectInfo) -> None:
    ui = (
        UI()
        .node(1, "FancySampler")
        .node(2, "FancySampler")
        .node(3, "Upscaler9000")
        .node(4, "Mystery", mode=2)  # muted: never sent, never needed
        .node(5, "Mystery2", mode=4)  # bypassed: slot types are enough
        .node(6, "SaveImage", ["x"])
        .build()
    )
    with pytest.raises(UnknownNodeClasses) as exc:
        ui_to_api(ui, info)
    msg = str(exc.value)
    assert msg == (
        "unknown node classes (not installed on the server?): FancySampler (nodes 1, 2); Upscaler9000 (node 3)"
    )
    assert exc.value.classes == {"FancySampler": ["1", "2"], "Upscaler9000": ["3"]}


def test_legacy_group_nodes_are_refused(info: ObjectInfo) -> None:
    ui = UI().node(1, "workflow>My group").build()
    with pytest.raises(WorkflowError, match="legacy group node"):
        ui_to_api(ui, info)


def test_circular_reroutes(info: ObjectInfo) -> None:
    ui = UI().node(1, "Reroute").node(2, "Reroute").node(3, "SaveImage", ["x"])
    ui.link(1, 0, 2, "", "*").link(2, 0, 1, "", "*").link(2, 0, 3, "images", "IMAGE")
    with pytest.raises(WorkflowError, match="circular link"):
        ui_to_api(ui.build(), info)


def test_not_a_ui_workflow(info: ObjectInfo) -> None:
    with pytest.raises(WorkflowError, match="no 'nodes' list"):
        convert_ui({"links": []}, info)
    with pytest.raises(WorkflowError, match="no nodes to run"):
        convert_ui({"nodes": [{"id": 1, "type": "Note", "widgets_values": ["x"]}], "links": []}, info)


# --- subgraphs ---------------------------------------------------------------------------------------------


def test_subgraph_is_flattened(info: ObjectInfo) -> None:
    sg_id = "a1b2c3d4-0000-4000-8000-000000000001"
    inner_nodes = [
        {
            "id": 1,
            "type": "ImageInvert",
            "mode": 0,
            "inputs": [{"name": "image", "type": "IMAGE", "link": 1}],
            "outputs": [{"name": "IMAGE", "type": "IMAGE", "links": [2]}],
        },
        {
            "id": 2,
            "type": "ImageBlur",
            "mode": 0,
            "inputs": [{"name": "image", "type": "IMAGE", "link": 2}],
            "outputs": [{"name": "IMAGE", "type": "IMAGE", "links": [3]}],
            "widgets_values": [2, 0.5],
        },
    ]
    inner_links = [
        {"id": 1, "origin_id": -10, "origin_slot": 0, "target_id": 1, "target_slot": 0, "type": "IMAGE"},
        {"id": 2, "origin_id": 1, "origin_slot": 0, "target_id": 2, "target_slot": 0, "type": "IMAGE"},
        {"id": 3, "origin_id": 2, "origin_slot": 0, "target_id": -20, "target_slot": 0, "type": "IMAGE"},
    ]
    ui = image_chain().node(7, sg_id).output(7, 0, "IMAGE").node(8, "SaveImage", ["sg"])
    ui.link(1, 0, 7, "image", "IMAGE").link(7, 0, 8, "images", "IMAGE")
    data = ui.build()
    data["definitions"] = {
        "subgraphs": [
            {
                "id": sg_id,
                "name": "invert+blur",
                "nodes": inner_nodes,
                "links": inner_links,
                "inputs": [{"id": "i0", "name": "image", "type": "IMAGE", "linkIds": [1]}],
                "outputs": [{"id": "o0", "name": "IMAGE", "type": "IMAGE", "linkIds": [3]}],
            }
        ]
    }
    out = ui_to_api(data, info)
    assert out["7:1"]["inputs"] == {"image": ["1", 0]}
    assert out["7:2"]["inputs"] == {"blur_radius": 2, "sigma": 0.5, "image": ["7:1", 0]}
    assert out["8"]["inputs"]["images"] == ["7:2", 0]
    assert list(out) == ["1", "7:1", "7:2", "8"]


def test_subgraph_promoted_values_without_proxy_widgets(info: ObjectInfo) -> None:
    ui = load("tiny_subgraph.ui.json")
    for node in ui["nodes"]:
        if node["id"] in (20, 21):
            del node["properties"]["proxyWidgets"]
            node["widgets_values"] = node["widgets_values"][:2]
    assert ui_to_api(ui, info) == load("tiny_subgraph.api.json")


def test_subgraph_unset_promoted_value_keeps_the_inner_widget(info: ObjectInfo) -> None:
    ui = load("tiny_subgraph.ui.json")
    ui["nodes"][3]["widgets_values"] = [None, None, None]
    out = ui_to_api(ui, info)
    assert (out["20:12"]["inputs"]["seed"], out["20:12"]["inputs"]["steps"]) == (5, 3)
    assert (out["21:12"]["inputs"]["seed"], out["21:12"]["inputs"]["steps"]) == (99, 4)


def test_subgraph_input_linked_from_outside(info: ObjectInfo) -> None:
    ui = load("tiny_subgraph.ui.json")
    ui["nodes"].append(
        {
            "id": 30,
            "type": "PrimitiveInt",
            "mode": 0,
            "outputs": [{"name": "INT", "type": "INT", "links": [30]}],
            "widgets_values": [12, "fixed"],
        }
    )
    ui["nodes"][3]["inputs"][5]["link"] = 30
    ui["links"].append([30, 30, 0, 20, 5, "INT"])
    out = ui_to_api(ui, info)
    assert out["20:12"]["inputs"]["seed"] == ["30", 0]
    assert out["21:12"]["inputs"]["seed"] == 99


def test_subgraph_instance_without_its_unconnected_widget_inputs(info: ObjectInfo) -> None:
    ui = load("tiny_subgraph.ui.json")
    for node in ui["nodes"]:
        if node["id"] in (20, 21):
            node["inputs"] = [i for i in node["inputs"] if i.get("link") is not None]
    assert ui_to_api(ui, info) == load("tiny_subgraph.api.json")


def test_stray_control_value_after_an_int_is_skipped() -> None:
    raw = {
        "Sampler": {
            "input": {
                "required": {
                    "seed": ["INT", {"control_after_generate": False}],
                    "steps": ["INT", {"default": 20}],
                    "name": ["STRING", {}],
                }
            },
            "input_order": {"required": ["seed", "steps", "name"]},
            "output": [],
            "output_node": True,
        }
    }
    ui = UI().node(1, "Sampler", [7, "randomize", 20, "fixed"]).build()
    assert ui_to_api(ui, ObjectInfo(raw))["1"]["inputs"] == {"seed": 7, "steps": 20, "name": "fixed"}


# --- dynamic prompts (frontend's Comfy.DynamicPrompts) -----------------------------------------------------


def test_process_dynamic_prompt() -> None:
    rng = random.Random(1)
    seen = {process_dynamic_prompt("a {red|blue} fox", rng) for _ in range(50)}
    assert seen == {"a red fox", "a blue fox"}
    assert {process_dynamic_prompt("{a|{b|c}}", rng) for _ in range(80)} == {"a", "b", "c"}
    assert process_dynamic_prompt("cat // comment\ndog /* x\ny */ bird", rng) == "cat \ndog  bird"
    assert process_dynamic_prompt(r"\{literal\} a\|b", rng) == "{literal} a|b"
    assert process_dynamic_prompt("{cat}", rng) == "cat"
    assert process_dynamic_prompt("plain", rng) == "plain"


def test_dynamic_prompts_in_conversion(info: ObjectInfo) -> None:
    ui = load("tiny_plain.ui.json")
    ui["nodes"][1]["widgets_values"] = ["a {red|red} fox // note to self"]
    ui["nodes"][6]["widgets_values"] = ["{not|dynamic}"]  # SaveImage's prefix has no dynamicPrompts
    result = convert_ui(ui, info, rng=random.Random(0))
    assert result.prompt["2"]["inputs"]["text"] == "a red fox "
    assert result.prompt["7"]["inputs"]["filename_prefix"] == "{not|dynamic}"
    assert result.notes == ["node 2 input 'text': dynamic prompt resolved to 'a red fox '"]


# --- filename_prefix search & replace (frontend's Comfy.SaveImageExtraOutput) --------------------------------


def test_filename_prefix_replacements(info: ObjectInfo) -> None:
    ui = load("tiny_plain.ui.json")
    ui["nodes"][6]["widgets_values"] = ["%date:yyyy-MM-dd%/%KSampler.steps%_%Positive.text%_%width%_%Nope.x%"]
    result = convert_ui(ui, info, now=datetime(2026, 3, 4, 5, 6, 7))
    assert result.prompt["7"]["inputs"]["filename_prefix"] == "2026-03-04/8_a red fox in the snow_%width%_%Nope.x%"
    assert result.notes[0].startswith("node 7: filename_prefix '%date:yyyy-MM-dd%")


def test_format_date() -> None:
    when = datetime(2026, 11, 2, 9, 5, 3)
    assert format_date("yyyyMMdd-hhmmss", when) == "20261102-090503"
    assert format_date("yy/M/d h:m:s", when) == "26/11/2 9:5:3"


def test_filename_prefix_sanitises_widget_values(info: ObjectInfo) -> None:
    ui = load("tiny_plain.ui.json")
    ui["nodes"][1]["widgets_values"] = ['a/b: "c"?']
    ui["nodes"][6]["widgets_values"] = ["out/%Positive.text%"]
    assert ui_to_api(ui, info)["7"]["inputs"]["filename_prefix"] == "out/a_b_ _c__"


def test_primitive_text_gets_dynamic_prompts_of_its_target(info: ObjectInfo) -> None:
    ui = load("tiny_plain.ui.json")
    ui["nodes"].append(
        {
            "id": 20,
            "type": "PrimitiveNode",
            "mode": 0,
            "outputs": [{"name": "STRING", "type": "STRING", "widget": {"name": "text"}, "links": [20]}],
            "widgets_values": ["a {cat|cat} // hidden"],
        }
    )
    ui["nodes"][1]["inputs"].append({"name": "text", "type": "STRING", "widget": {"name": "text"}, "link": 20})
    ui["links"].append([20, 20, 0, 2, 1, "STRING"])
    assert ui_to_api(ui, info)["2"]["inputs"]["text"] == "a cat "
