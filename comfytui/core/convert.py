"""UI-format workflow (as saved by the ComfyUI page) → API format (what ``POST /prompt`` takes).

Follows the frontend's ``graphToPrompt`` (1.32.9) and the rules in the protocol notes §4:

* widgets are the value inputs in ``input_order`` (required, then optional, skipping ``forceInput``); each takes the
  next ``widgets_values`` entry; INT seeds (``seed``/``noise_seed`` or ``control_after_generate``) take one extra
  control value, combos with ``control_after_generate`` two; upload combos add one button value at the end;
* a linked input (a converted widget too) becomes ``[str(origin_id), origin_slot]``;
* ``Reroute`` is followed upstream, ``PrimitiveNode`` pushes its value into the targets, ``Note``/``MarkdownNote``
  vanish, muted nodes (mode 2) are dropped, bypassed nodes (mode 4) pass their same-typed input through;
* links to removed nodes are deleted; subgraphs (``definitions.subgraphs``) are flattened to ``outer:inner`` ids.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from comfytui.core.object_info import CONTROL_VALUES, InputSpec, NodeSpec, ObjectInfo, types_compatible
from comfytui.core.workflow import UnknownNodeClasses, WorkflowError, is_link

__all__ = ["ConvertResult", "convert_ui", "format_date", "process_dynamic_prompt", "ui_to_api"]

MODE_NEVER = 2
MODE_BYPASS = 4
VIRTUAL_TYPES = frozenset({"Reroute", "PrimitiveNode", "Note", "MarkdownNote"})
SUBGRAPH_INPUT_NODE = "-10"  # compared as strings: ids may be saved as numbers or text
SUBGRAPH_OUTPUT_NODE = "-20"


@dataclass
class ConvertResult:
    """The API-format graph plus notes about anything guessed or dropped."""

    prompt: dict[str, Any]
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Link:
    id: Any
    origin_id: Any
    origin_slot: int
    target_id: Any
    target_slot: int
    type: str


@dataclass(frozen=True)
class _Value:
    """An input resolved to a plain value (a PrimitiveNode upstream)."""

    value: Any


@dataclass(frozen=True)
class _Ref:
    """An input resolved to a real node's output."""

    exec_id: str
    slot: int


class _Graph:
    """One graph level: the root, or a subgraph instance's inner graph."""

    def __init__(
        self,
        nodes: list[Any],
        links: Any,
        prefix: tuple[str, ...] = (),
        parent: _Graph | None = None,
        instance: dict[str, Any] | None = None,
        definition: dict[str, Any] | None = None,
    ) -> None:
        self.nodes: dict[str, dict[str, Any]] = {}
        for n in nodes:
            if not isinstance(n, dict) or "id" not in n:
                raise WorkflowError("UI workflow: a node entry has no id")
            self.nodes[str(n["id"])] = n
        self.links = _parse_links(links)
        self.prefix = prefix
        self.parent = parent
        self.instance = instance
        self.definition = definition

    def exec_id(self, node_id: Any) -> str:
        return ":".join((*self.prefix, str(node_id)))


def _parse_links(raw: Any) -> dict[str, _Link]:
    """Both link schemas: 0.4 arrays ``[id, o, os, t, ts, type]`` and 1 objects ``{id, origin_id, ...}``."""
    out: dict[str, _Link] = {}
    for item in raw or []:
        if isinstance(item, list) and len(item) >= 5:
            lid, o, os_, t, ts = item[:5]
            typ = item[5] if len(item) > 5 else "*"
        elif isinstance(item, dict) and "id" in item:
            lid, o, os_, t, ts = (item.get(k) for k in ("id", "origin_id", "origin_slot", "target_id", "target_slot"))
            typ = item.get("type", "*")
        else:
            continue
        try:
            out[str(lid)] = _Link(lid, o, int(os_), t, int(ts), str(typ) if typ is not None else "*")
        except (TypeError, ValueError):
            continue
    return out


def _type_str(t: Any) -> str:
    if isinstance(t, list):
        return "COMBO"
    return "*" if t in (None, "", 0, -1) else str(t)


class _Converter:
    def __init__(
        self, ui: dict[str, Any], info: ObjectInfo, rng: random.Random | None, now: datetime | None = None
    ) -> None:
        self.ui = ui
        self.info = info
        self.rng = rng or random.Random()
        self.now = now or datetime.now()
        self.widget_index: list[tuple[str, str, dict[str, Any]]] = []  # (S&R name, title, widget values)
        self.notes: list[str] = []
        defs = ui.get("definitions") if isinstance(ui.get("definitions"), dict) else {}
        assert isinstance(defs, dict)
        self.subgraphs: dict[str, dict[str, Any]] = {}
        self._collect_subgraphs(defs, 0)
        self.output: dict[str, dict[str, Any]] = {}
        self.pushed: dict[tuple[str, str], Any] = {}  # (exec_id, input) → value from a PrimitiveNode

    def _collect_subgraphs(self, defs: dict[str, Any], depth: int) -> None:
        """Subgraph definitions, including any nested ``definitions`` inside them."""
        if depth > 32:
            return
        for sg in defs.get("subgraphs") or []:
            if isinstance(sg, dict) and "id" in sg and str(sg["id"]) not in self.subgraphs:
                self.subgraphs[str(sg["id"])] = sg
                inner = sg.get("definitions")
                if isinstance(inner, dict):
                    self._collect_subgraphs(inner, depth + 1)

    # --- entry point ----------------------------------------------------------------------------------------
    def run(self) -> ConvertResult:
        root = _Graph(self.ui.get("nodes") or [], self.ui.get("links"))
        self._check_classes(root, set())
        self._emit(root, depth=0)
        self._replace_in_filenames()
        # Links whose source was removed are deleted (muted nodes, unknown targets).
        for node in self.output.values():
            for name in [k for k, v in node["inputs"].items() if is_link(v) and v[0] not in self.output]:
                del node["inputs"][name]
        ordered = {k: self.output[k] for k in sorted(self.output, key=_natural)}
        return ConvertResult(ordered, self.notes)

    def _check_classes(self, graph: _Graph, seen: set[str]) -> None:
        unknown: dict[str, list[str]] = {}
        self._collect_unknown(graph, unknown, seen)
        if unknown:
            raise UnknownNodeClasses(unknown)

    def _collect_unknown(self, graph: _Graph, unknown: dict[str, list[str]], seen: set[str]) -> None:
        for nid, node in graph.nodes.items():
            typ = str(node.get("type", ""))
            mode = node.get("mode", 0)
            if typ in VIRTUAL_TYPES or mode == MODE_NEVER or typ in self.info:
                continue
            if typ in self.subgraphs:
                if mode == MODE_BYPASS or typ in seen:
                    continue
                sg = self.subgraphs[typ]
                inner = _Graph(sg.get("nodes") or [], sg.get("links"), (*graph.prefix, nid), graph, node, sg)
                self._collect_unknown(inner, unknown, seen | {typ})
                continue
            if mode == MODE_BYPASS:
                continue  # a bypassed node needs no class: its saved slot types are enough
            if typ.startswith("workflow>") or typ.startswith("workflow/"):
                raise WorkflowError(
                    f"node {graph.exec_id(nid)} is a legacy group node ({typ}); convert it to a subgraph in ComfyUI"
                )
            unknown.setdefault(typ or "<no type>", []).append(graph.exec_id(nid))

    # --- nodes ----------------------------------------------------------------------------------------------
    def _emit(self, graph: _Graph, depth: int) -> None:
        if depth > 32:
            raise WorkflowError("UI workflow: subgraphs nested too deeply (recursive definition?)")
        # PrimitiveNodes first, so their values are known when targets are built.
        for node in graph.nodes.values():
            if node.get("type") == "PrimitiveNode" and node.get("mode", 0) != MODE_NEVER:
                self._push_primitive(graph, node)
        for nid, node in graph.nodes.items():
            typ = str(node.get("type", ""))
            mode = node.get("mode", 0)
            if typ in VIRTUAL_TYPES or mode in (MODE_NEVER, MODE_BYPASS):
                if typ in self.info and typ not in VIRTUAL_TYPES:  # still referable from %Node.widget%
                    self._remember(node, self._widget_values(graph.exec_id(nid), node, self.info[typ], quiet=True))
                continue
            if typ in self.subgraphs:
                sg = self.subgraphs[typ]
                inner = _Graph(sg.get("nodes") or [], sg.get("links"), (*graph.prefix, nid), graph, node, sg)
                self._emit(inner, depth + 1)
                continue
            self._emit_node(graph, nid, node, self.info[typ])

    def _emit_node(self, graph: _Graph, nid: str, node: dict[str, Any], spec: NodeSpec) -> None:
        exec_id = graph.exec_id(nid)
        widget_values = self._widget_values(exec_id, node, spec)
        pushed = {name: v for (target, name), v in self.pushed.items() if target == exec_id}
        widget_values.update(pushed)  # PrimitiveNodes set the widget before the prompt is built
        self._remember(node, widget_values)
        inputs: dict[str, Any] = {}
        for name, value in widget_values.items():
            w = spec.inputs.get(name)
            if w is not None and w.raw.get("dynamicPrompts") and isinstance(value, str):
                resolved_text = process_dynamic_prompt(value, self.rng)
                if resolved_text != value:
                    self.notes.append(f"node {exec_id} input '{name}': dynamic prompt resolved to {resolved_text!r}")
                value = resolved_text
            inputs[name] = {"__value__": value} if isinstance(value, list) else value
        for index, inp in enumerate(node.get("inputs") or []):
            if not isinstance(inp, dict) or inp.get("link") is None or not inp.get("name"):
                continue
            resolved = self._resolve_input(graph, node, index, None, set())
            name = str(inp["name"])
            if isinstance(resolved, _Ref):
                inputs[name] = [resolved.exec_id, resolved.slot]
            elif isinstance(resolved, _Value) and name not in pushed:  # a subgraph's promoted widget
                v = resolved.value
                inputs[name] = {"__value__": v} if isinstance(v, list) else v
        title = node.get("title")
        self.output[exec_id] = {
            "inputs": inputs,
            "class_type": spec.name,
            "_meta": {"title": title if isinstance(title, str) and title else spec.display_name},
        }

    def _remember(self, node: dict[str, Any], values: dict[str, Any]) -> None:
        props = node.get("properties") if isinstance(node.get("properties"), dict) else {}
        assert isinstance(props, dict)
        sr_name = props.get("Node name for S&R", node.get("type"))
        title = node.get("title") or (self.info[node["type"]].display_name if node.get("type") in self.info else "")
        self.widget_index.append((str(sr_name), str(title), values))

    def _replace_in_filenames(self) -> None:
        """The frontend's search & replace in save nodes' ``filename_prefix``: ``%date:…%``, ``%Node.widget%``."""
        for exec_id, node in self.output.items():
            value = node["inputs"].get("filename_prefix")
            if node["class_type"] in SAVE_NODE_TYPES and isinstance(value, str) and "%" in value:
                new = _PERCENT.sub(self._replacement, value)
                if new != value:
                    node["inputs"]["filename_prefix"] = new
                    self.notes.append(f"node {exec_id}: filename_prefix {value!r} became {new!r}")

    def _replacement(self, match: re.Match[str]) -> str:
        text = match.group(1)
        parts = text.split(".")
        if len(parts) != 2:
            if parts[0].startswith("date:"):
                return format_date(parts[0][5:], self.now)
            return match.group(0)  # %width%, %year%...: the server fills these in
        hits = [v for name, _t, v in self.widget_index if name == parts[0]]
        hits = hits or [v for _n, title, v in self.widget_index if title == parts[0]]
        if not hits or parts[1] not in hits[0]:
            return match.group(0)
        value = hits[0][parts[1]]
        return _UNSAFE_IN_NAMES.sub("_", "" if value is None else _js_str(value))

    def _widget_values(self, exec_id: str, node: dict[str, Any], spec: NodeSpec, quiet: bool = False) -> dict[str, Any]:
        """Map ``widgets_values`` onto widget names (frontend widget order, extra control/upload values)."""
        raw = node.get("widgets_values")
        widgets = spec.widget_inputs()
        if isinstance(raw, dict):
            return {w.name: raw[w.name] for w in widgets if w.name in raw and raw[w.name] is not None}
        if not isinstance(raw, list):
            return {}
        values = list(raw)
        # Legacy files (< frontend 1.16) also stored values for forceInput inputs: drop them when counts match.
        forced = [i for i in spec.inputs.values() if i.kind != "LINK" and i.force_input]
        if forced:
            slots_with_forced = [i for i in spec.inputs.values() if i.kind != "LINK"]
            if sum(2 if i.has_control else 1 for i in slots_with_forced) == len(values):
                kept: list[Any] = []
                pos = 0
                for i in slots_with_forced:
                    n = 2 if i.has_control else 1
                    if not i.force_input:
                        kept.extend(values[pos : pos + n])
                    pos += n
                values = kept
        out: dict[str, Any] = {}
        pos = 0
        for k, w in enumerate(widgets):
            if pos >= len(values):
                break
            value = values[pos]
            pos += 1
            if value is not None:
                out[w.name] = value
            nxt = widgets[k + 1] if k + 1 < len(widgets) else None
            pos = self._skip_extras(w, nxt, values, pos)
        upload = next((w.upload for w in spec.inputs.values() if w.upload and w.required), None)
        if upload == "audio":  # audioUI (a null hole) + upload button
            pos += 2
        elif upload:
            pos += 1
        leftover = [v for v in values[pos:] if v not in (None, "")]
        if len(leftover) == 1 and isinstance(leftover[0], str):
            leftover = []  # the frontend's text-preview widget ("Status: ...", image sizes) sits last
        if leftover and not quiet:
            self.notes.append(
                f"node {exec_id} ({spec.name}): {len(leftover)} unexpected widget value(s) ignored "
                "(saved by another version of the node?)"
            )
        return out

    @staticmethod
    def _skip_extras(w: InputSpec, nxt: InputSpec | None, values: list[Any], pos: int) -> int:
        """Step over the control (and filter) values the frontend stores after ``w``.

        A control word after an INT is skipped even when the node does not declare a control (files saved with
        another version of the node), unless the next widget could hold that word itself.
        """
        here = values[pos] if pos < len(values) else None
        stray = (
            w.kind == "INT"
            and not w.has_control
            and here in CONTROL_VALUES
            and (nxt is None or nxt.kind in ("INT", "FLOAT", "BOOLEAN"))
        )
        if (w.has_control and here in CONTROL_VALUES) or stray:
            pos += 1
            if w.kind == "COMBO" and pos < len(values) and (values[pos] is None or isinstance(values[pos], str)):
                pos += 1  # control_filter_list
        remote = w.raw.get("remote")
        if isinstance(remote, dict) and remote.get("refresh_button") and pos < len(values) and values[pos] == "refresh":
            pos += 1
        return pos

    def _push_primitive(self, graph: _Graph, node: dict[str, Any]) -> None:
        """A PrimitiveNode's value goes into every widget it feeds (through Reroutes too)."""
        wv = node.get("widgets_values")
        if not isinstance(wv, list) or not wv:
            return
        value = wv[0]
        for out in node.get("outputs") or []:
            for lid in (out or {}).get("links") or []:
                self._push_to(graph, graph.links.get(str(lid)), value, set())

    def _push_to(self, graph: _Graph, link: _Link | None, value: Any, seen: set[str]) -> None:
        if link is None or str(link.id) in seen:
            return
        seen.add(str(link.id))
        target = graph.nodes.get(str(link.target_id))
        if target is None:
            return
        if target.get("type") == "Reroute":
            for out in target.get("outputs") or []:
                for lid in (out or {}).get("links") or []:
                    self._push_to(graph, graph.links.get(str(lid)), value, seen)
            return
        inputs = target.get("inputs") or []
        inp = next((i for i in inputs if isinstance(i, dict) and str(i.get("link")) == str(link.id)), None)
        if inp is None and 0 <= link.target_slot < len(inputs):
            inp = inputs[link.target_slot]
        if not isinstance(inp, dict):
            return
        widget = inp.get("widget")
        name = widget.get("name") if isinstance(widget, dict) else None
        self.pushed[(graph.exec_id(link.target_id), str(name or inp.get("name")))] = value

    # --- link resolution (ExecutableNodeDTO.resolveInput / resolveOutput) -----------------------------------
    def _resolve_input(
        self, graph: _Graph, node: dict[str, Any], index: int, type_: str | None, visited: set[str]
    ) -> _Ref | _Value | None:
        key = f"{graph.exec_id(node.get('id'))}[I]{index}"
        if key in visited:
            raise WorkflowError(f"UI workflow: circular link through node {graph.exec_id(node.get('id'))}")
        visited.add(key)
        inputs = node.get("inputs") or []
        if not 0 <= index < len(inputs) or not isinstance(inputs[index], dict):
            return None
        inp = inputs[index]
        lid = inp.get("link")
        if lid is None:
            return None
        link = graph.links.get(str(lid))
        if link is None:
            return None
        want = type_ or _type_str(inp.get("type"))
        if str(link.origin_id) == SUBGRAPH_INPUT_NODE and graph.parent is not None and graph.instance is not None:
            return self._resolve_subgraph_input(graph, link.origin_slot, want, visited)
        origin = graph.nodes.get(str(link.origin_id))
        if origin is None:
            return None
        return self._resolve_output(graph, origin, link.origin_slot, want, visited)

    def _resolve_output(
        self, graph: _Graph, node: dict[str, Any], slot: int, type_: str, visited: set[str]
    ) -> _Ref | _Value | None:
        key = f"{graph.exec_id(node.get('id'))}[O]{slot}"
        if key in visited:
            raise WorkflowError(f"UI workflow: circular link through node {graph.exec_id(node.get('id'))}")
        visited.add(key)
        typ = str(node.get("type", ""))
        if node.get("mode", 0) == MODE_BYPASS:
            index = _bypass_slot(node, slot, type_)
            return None if index < 0 else self._resolve_input(graph, node, index, None, visited)
        if typ == "Reroute":
            return self._resolve_input(graph, node, 0, type_, visited)
        if typ == "PrimitiveNode":
            wv = node.get("widgets_values")
            return _Value(wv[0]) if isinstance(wv, list) and wv else None
        if typ in VIRTUAL_TYPES:
            return None
        if typ in self.subgraphs:
            return self._resolve_subgraph_output(graph, node, slot, type_, visited)
        return _Ref(graph.exec_id(node.get("id")), slot)

    def _resolve_subgraph_input(self, graph: _Graph, slot: int, type_: str, visited: set[str]) -> _Ref | _Value | None:
        """An inner link from the subgraph's input node: follow the instance's input, or its promoted widget."""
        assert graph.parent is not None and graph.instance is not None
        instance, definition = graph.instance, graph.definition or {}
        sg_inputs = [i for i in definition.get("inputs") or [] if isinstance(i, dict)]
        inst_inputs = [i if isinstance(i, dict) else {} for i in instance.get("inputs") or []]
        name = sg_inputs[slot].get("name") if 0 <= slot < len(sg_inputs) else None
        # By name: saved files may drop unconnected widget inputs, which shifts positions.
        index = slot if name is None else next((k for k, i in enumerate(inst_inputs) if i.get("name") == name), -1)
        if 0 <= index < len(inst_inputs) and inst_inputs[index].get("link") is not None:
            return self._resolve_input(graph.parent, instance, index, type_, visited)
        promoted = _promoted_values(instance, definition, graph)
        if name is not None and name in promoted:
            return _Value(promoted[name])
        return None  # the inner widget keeps its own value

    def _resolve_subgraph_output(
        self, graph: _Graph, node: dict[str, Any], slot: int, type_: str, visited: set[str]
    ) -> _Ref | _Value | None:
        sg = self.subgraphs[str(node.get("type"))]
        inner = _Graph(sg.get("nodes") or [], sg.get("links"), (*graph.prefix, str(node.get("id"))), graph, node, sg)
        for link in inner.links.values():
            if str(link.target_id) == SUBGRAPH_OUTPUT_NODE and link.target_slot == slot:
                if str(link.origin_id) == SUBGRAPH_INPUT_NODE:
                    return self._resolve_input(graph, node, link.origin_slot, type_, visited)
                origin = inner.nodes.get(str(link.origin_id))
                return None if origin is None else self._resolve_output(inner, origin, link.origin_slot, type_, visited)
        return None


def _promoted_values(instance: dict[str, Any], definition: dict[str, Any], inner: _Graph) -> dict[str, Any]:
    """Values of a subgraph instance's promoted widgets, by subgraph input name.

    With ``properties.proxyWidgets`` (``[[node_id, widget], ...]``, aligned with ``widgets_values``), entries with
    node id ``-1`` are promoted inputs; other entries proxy an inner widget whose value lives inside the subgraph.
    Without it, the values follow the subgraph inputs that feed an inner widget, in order.
    """
    values = instance.get("widgets_values")
    if not isinstance(values, list) or not values:
        return {}
    props = instance.get("properties") if isinstance(instance.get("properties"), dict) else {}
    assert isinstance(props, dict)
    proxies = props.get("proxyWidgets")
    out: dict[str, Any] = {}
    if isinstance(proxies, list) and proxies:
        for entry, value in zip(proxies, values, strict=False):
            if isinstance(entry, list) and len(entry) == 2 and str(entry[0]) == "-1" and value is not None:
                out[str(entry[1])] = value
        return out
    names: list[str] = []
    for sg_input in definition.get("inputs") or []:
        if not isinstance(sg_input, dict):
            continue
        for lid in sg_input.get("linkIds") or []:
            link = inner.links.get(str(lid))
            target = inner.nodes.get(str(link.target_id)) if link else None
            inputs = (target or {}).get("inputs") or []
            slot = next((i for i in inputs if isinstance(i, dict) and str(i.get("link")) == str(lid)), None)
            if isinstance(slot, dict) and isinstance(slot.get("widget"), dict):
                names.append(str(sg_input.get("name")))
                break
    if len(names) == len(values):
        out = {n: v for n, v in zip(names, values, strict=True) if v is not None}
    return out


def _bypass_slot(node: dict[str, Any], slot: int, type_: str) -> int:
    """Which input a bypassed node passes through to output ``slot`` (frontend ``#getBypassSlotIndex``)."""
    inputs = [i if isinstance(i, dict) else {} for i in node.get("inputs") or []]
    outputs = node.get("outputs") or []
    out = outputs[slot] if 0 <= slot < len(outputs) and isinstance(outputs[slot], dict) else {}
    out_type = _type_str(out.get("type"))
    if type_ in ("*", ""):
        return slot if len(inputs) > slot else (0 if inputs else -1)
    if slot < len(inputs):
        t = _type_str(inputs[slot].get("type"))
        if types_compatible(t, out_type) and types_compatible(t, type_):
            return slot
    for i, inp in enumerate(inputs):
        if _type_str(inp.get("type")) == type_:
            return i
    for i, inp in enumerate(inputs):
        t = _type_str(inp.get("type"))
        if types_compatible(t, out_type) and types_compatible(t, type_):
            return i
    return -1


def _natural(node_id: str) -> tuple[tuple[int, int | str], ...]:
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in node_id.split(":"))


def convert_ui(
    ui: dict[str, Any],
    info: ObjectInfo,
    source: str = "",
    rng: random.Random | None = None,
    now: datetime | None = None,
) -> ConvertResult:
    """Convert a UI-format workflow; ``notes`` lists anything guessed. Raises ``WorkflowError`` (one line).

    Like the frontend, text widgets with ``dynamicPrompts`` lose their ``//``/``/* */`` comments and have each
    ``{a|b|c}`` replaced by one choice, drawn from ``rng``; save nodes' ``filename_prefix`` gets ``%date:yyyy-MM-dd%``
    (at ``now``) and ``%Node.widget%`` replaced.
    """
    if not isinstance(ui, dict) or not isinstance(ui.get("nodes"), list):
        raise WorkflowError(f"{source + ': ' if source else ''}not a UI-format workflow (no 'nodes' list)")
    try:
        result = _Converter(ui, info, rng, now).run()
    except WorkflowError as exc:
        if source and not str(exc).startswith(source):
            raise type(exc)(*_rebuild_args(exc, source)) from None
        raise
    if not result.prompt:
        raise WorkflowError(f"{source + ': ' if source else ''}the UI workflow has no nodes to run")
    return result


def _rebuild_args(exc: WorkflowError, source: str) -> tuple[Any, ...]:
    if isinstance(exc, UnknownNodeClasses):
        return (exc.classes,)
    return (f"{source}: {exc}",)


def ui_to_api(ui: dict[str, Any], info: ObjectInfo, rng: random.Random | None = None) -> dict[str, Any]:
    """Convert a UI-format workflow dict to an API-format prompt dict (``_meta.title`` kept)."""
    return convert_ui(ui, info, rng=rng).prompt


SAVE_NODE_TYPES = frozenset(
    {
        "SaveImage",
        "SaveVideo",
        "SaveAnimatedWEBP",
        "SaveWEBM",
        "SaveAudio",
        "SaveGLB",
        "SaveAnimatedPNG",
        "CLIPSave",
        "VAESave",
        "ModelSave",
        "LoraSave",
        "SaveLatent",
    }
)
_PERCENT = re.compile(r"%([^%]+)%")
_UNSAFE_IN_NAMES = re.compile(r'[/?<>\\:*|"\x00-\x1f\x7f]')
_DATE_PARTS = re.compile(r"dd?|MM?|hh?|mm?|ss?|yyy?y?")


def format_date(fmt: str, when: datetime) -> str:
    """The frontend's ``%date:…%`` format: ``yyyy``, ``yy``, ``MM``, ``dd``, ``hh``, ``mm``, ``ss`` (and 1-letter)."""

    def part(m: re.Match[str]) -> str:
        text = m.group(0)
        if text == "yy":
            return str(when.year)[2:]
        if text == "yyyy":
            return str(when.year)
        values = {"d": when.day, "M": when.month, "h": when.hour, "m": when.minute, "s": when.second}
        if text[0] in values:
            return str(values[text[0]]).rjust(len(text), "0")
        return text

    return _DATE_PARTS.sub(part, fmt)


def _js_str(value: Any) -> str:
    """``String(value)`` as JavaScript would print a widget value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


_COMMENTS = re.compile(r"/\*[\s\S]*?\*/|//.*")
_UNESCAPE = re.compile(r"\\([{}|])")


def process_dynamic_prompt(text: str, rng: random.Random) -> str:
    """The frontend's dynamic prompts: strip C-style comments, pick one option of each ``{a|b}`` (nested too).

    ``\\{``, ``\\}`` and ``\\|`` are literal characters.
    """
    src = _COMMENTS.sub("", text)
    pos = 0

    def escape() -> str:
        nonlocal pos
        nxt = src[pos] if pos < len(src) else ""
        pos += 1
        return "\\" + nxt

    def choice_block() -> str:
        nonlocal pos
        options: list[str] = []
        current = ""
        depth = 0
        while pos < len(src):
            ch = src[pos]
            pos += 1
            if ch == "\\":
                current += escape()
                continue
            if ch == "{":
                depth += 1
            elif ch == "}":
                if not depth:
                    break
                depth -= 1
            elif ch == "|" and not depth:
                options.append(current)
                current = ""
                continue
            current += ch
        options.append(current)
        return _expand(rng.choice(options), rng)

    out = ""
    while pos < len(src):
        ch = src[pos]
        pos += 1
        if ch == "\\":
            out += escape()
        elif ch == "{":
            out += choice_block()
        else:
            out += ch
    return _UNESCAPE.sub(r"\1", out)


def _expand(option: str, rng: random.Random) -> str:
    """Recursion for a chosen option: same rules, comments already gone."""
    return process_dynamic_prompt(option, rng) if "{" in option or "\\" in option else option
