"""The workflow model: an API-format ComfyUI graph, loaded from a file/text/dict, edited by copy.

API format is ``{"<id>": {"class_type": ..., "inputs": {name: value | [src_id, slot]}, "_meta": {"title": ...}}}``.
UI-format files (as saved by the ComfyUI page) are recognised and raise :class:`NeedsConversion`; use
:func:`load_any` with an :class:`~comfytui.core.object_info.ObjectInfo` to convert them. PNGs saved by ComfyUI
load too (their embedded ``prompt``, else ``workflow``).

Reading: ``node_ids()``, ``node_list()``, ``title()``, ``class_type()``, ``find_node(id or title)``,
``get_input()``, ``widget_inputs()``, ``link_inputs()``, ``editable_inputs(id, info)``, ``seed_inputs()``,
``text_inputs()``. Editing (new copies): ``with_input()``, ``with_inputs()``, ``apply_overrides(["NODE.INPUT=V"])``,
``with_seed()``, ``with_title()``. Checking: ``validate(info) -> [Problem]``, ``diff(other) -> [InputChange]``.
"""

from __future__ import annotations

import copy
import json
import re
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from comfytui.core.object_info import InputSpec, ObjectInfo, types_compatible

__all__ = [
    "InputChange",
    "NeedsConversion",
    "Problem",
    "UnknownNodeClasses",
    "Workflow",
    "WorkflowError",
    "detect_format",
    "is_link",
    "load_any",
    "parse_json",
]


_LOADER_OUTPUTS = frozenset({"MODEL", "CLIP", "VAE"})


class WorkflowError(ValueError):
    """A user-facing problem with a workflow; the message is one clear line."""


class NeedsConversion(WorkflowError):
    """The input is a UI-format workflow; convert it with :func:`comfytui.core.convert.ui_to_api`."""

    def __init__(self, ui: dict[str, Any], source: str = "") -> None:
        where = f"{source}: " if source else ""
        super().__init__(f"{where}this is a UI-format workflow; it needs the server's node catalogue to be converted")
        self.ui = ui
        self.source = source


class UnknownNodeClasses(WorkflowError):
    """Node classes the server does not know. ``classes`` maps each class to the ids of its nodes."""

    def __init__(self, classes: Mapping[str, list[str]]) -> None:
        self.classes = {k: list(v) for k, v in classes.items()}
        parts = []
        for cls, ids in self.classes.items():
            label = "node" if len(ids) == 1 else "nodes"
            parts.append(f"{cls} ({label} {', '.join(ids)})")
        noun = "class" if len(parts) == 1 else "classes"
        super().__init__(f"unknown node {noun} (not installed on the server?): " + "; ".join(parts))


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a workflow, pinned to a node and (usually) an input."""

    node_id: str
    input_name: str | None
    message: str

    def __str__(self) -> str:
        where = f"node {self.node_id}" + (f" input '{self.input_name}'" if self.input_name else "")
        return f"{where}: {self.message}"


class InputChange(NamedTuple):
    """One difference between two workflows; ``None`` stands for "absent"."""

    node_id: str
    input_name: str
    old: Any
    new: Any


def is_link(value: Any) -> bool:
    """``["4", 0]``: a link to output slot 0 of node 4."""
    return (
        isinstance(value, list)
        and len(value) == 2
        and isinstance(value[0], str | int)
        and not isinstance(value[0], bool)
        and isinstance(value[1], int)
        and not isinstance(value[1], bool)
    )


def _natural_key(node_id: str) -> tuple[tuple[int, int | str], ...]:
    parts: list[tuple[int, int | str]] = []
    for part in re.split(r"[:]", node_id):
        parts.append((0, int(part)) if part.isdigit() else (1, part))
    return tuple(parts)


def parse_json(text: str, source: str = "") -> Any:
    """``json.loads`` with a one-line error naming the line and column."""
    where = f"{source}: " if source else ""
    if not text.strip():
        raise WorkflowError(f"{where}empty file, expected a JSON workflow")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise WorkflowError(f"{where}malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise WorkflowError(f"{where}malformed JSON: nested too deeply") from None


def detect_format(data: Any) -> str:
    """``"api"``, ``"ui"`` or ``"unknown"``."""
    if not isinstance(data, dict):
        return "unknown"
    if isinstance(data.get("nodes"), list) and ("links" in data or "version" in data or "last_node_id" in data):
        return "ui"
    if isinstance(data.get("prompt"), dict) and data["prompt"] and detect_format(data["prompt"]) == "api":
        return "api"  # a saved POST /prompt body
    if data and all(isinstance(v, dict) and isinstance(v.get("class_type"), str) for v in data.values()):
        return "api"
    return "unknown"


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_text_chunks(blob: bytes) -> dict[str, str]:
    """The text chunks (``tEXt``, ``zTXt``, ``iTXt``) of a PNG; ComfyUI stores ``prompt`` and ``workflow`` there."""
    if not blob.startswith(PNG_SIGNATURE):
        raise ValueError("not a PNG file")
    out: dict[str, str] = {}
    pos = len(PNG_SIGNATURE)
    while pos + 8 <= len(blob):
        length = int.from_bytes(blob[pos : pos + 4], "big")
        kind = blob[pos + 4 : pos + 8]
        data = blob[pos + 8 : pos + 8 + length]
        pos += 12 + length
        try:
            if kind == b"tEXt":
                key, _, text = data.partition(b"\0")
                out[key.decode("latin-1")] = text.decode("latin-1")
            elif kind == b"zTXt":
                key, _, rest = data.partition(b"\0")
                out[key.decode("latin-1")] = zlib.decompress(rest[1:]).decode("latin-1")
            elif kind == b"iTXt":
                key, _, rest = data.partition(b"\0")
                compressed, rest = rest[0], rest[2:]
                _lang, _, rest = rest.partition(b"\0")
                _translated, _, text = rest.partition(b"\0")
                out[key.decode("latin-1")] = (zlib.decompress(text) if compressed else text).decode("utf-8")
            elif kind == b"IEND":
                break
        except (zlib.error, UnicodeDecodeError, IndexError):
            continue
    return out


def read_source(path: str | Path) -> tuple[Any, list[str]]:
    """Parsed JSON from a workflow file, or from a PNG saved by ComfyUI (its ``prompt``, else its ``workflow``)."""
    p = Path(path)
    try:
        with open(p, "rb") as fh:
            head = fh.read(len(PNG_SIGNATURE))
            if head != PNG_SIGNATURE:
                blob = head + fh.read()
                try:
                    text = blob.decode("utf-8-sig")
                except UnicodeDecodeError:
                    raise WorkflowError(f"{p}: not a text file (expected JSON, or a PNG saved by ComfyUI)") from None
                return parse_json(text, str(p)), []
            blob = head + fh.read()
    except FileNotFoundError:
        raise WorkflowError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise WorkflowError(f"{p}: is a directory, not a workflow file") from None
    except OSError as exc:
        raise WorkflowError(f"{p}: cannot read: {exc.strerror or exc}") from None
    chunks = png_text_chunks(blob)
    for key, note in (("prompt", "read the prompt embedded in the PNG"), ("workflow", "read the workflow in the PNG")):
        if key in chunks:
            return parse_json(chunks[key], f"{p} ({key} chunk)"), [note]
    raise WorkflowError(f"{p}: the PNG carries no ComfyUI workflow (saved with --disable-metadata?)")


def _not_workflow(data: Any, source: str) -> WorkflowError:
    where = f"{source}: " if source else ""
    if isinstance(data, dict):
        bad = [k for k, v in data.items() if not (isinstance(v, dict) and isinstance(v.get("class_type"), str))]
        if data and len(bad) < len(data):
            return WorkflowError(f"{where}not an API-format workflow: entry {bad[0]!r} has no class_type")
        if not data:
            return WorkflowError(f"{where}empty workflow (no nodes)")
    kind = type(data).__name__ if not isinstance(data, dict) else "object"
    return WorkflowError(
        f"{where}not a ComfyUI workflow (got a JSON {kind}; expected API format with class_type per node, "
        "or a UI-format file with nodes and links)"
    )


class Workflow:
    """An API-format graph. Treat as immutable: every edit returns a new ``Workflow``."""

    __slots__ = ("_nodes", "source")

    def __init__(self, nodes: Mapping[str, Mapping[str, Any]], source: str = "") -> None:
        clean: dict[str, dict[str, Any]] = {}
        for key, node in nodes.items():
            nid = str(key)
            if not isinstance(node, Mapping) or not isinstance(node.get("class_type"), str):
                raise WorkflowError(f"{source + ': ' if source else ''}node {nid} has no class_type")
            inputs = node.get("inputs", {})
            if inputs is None:
                inputs = {}
            if not isinstance(inputs, Mapping):
                raise WorkflowError(f"{source + ': ' if source else ''}node {nid}: 'inputs' is not an object")
            entry = copy.deepcopy(dict(node))
            entry["inputs"] = {str(k): _norm_link(v) for k, v in copy.deepcopy(dict(inputs)).items()}
            clean[nid] = entry
        self._nodes = clean
        self.source = source

    # --- loading --------------------------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Any, source: str = "") -> Workflow:
        """From parsed JSON. UI format raises :class:`NeedsConversion`, anything unrecognised ``WorkflowError``."""
        fmt = detect_format(data)
        if fmt == "ui":
            raise NeedsConversion(data, source)
        if fmt != "api":
            raise _not_workflow(data, source)
        if "prompt" in data and isinstance(data["prompt"], dict) and "class_type" not in data["prompt"]:
            data = data["prompt"]
        return cls(data, source)

    @classmethod
    def from_json(cls, text: str, source: str = "") -> Workflow:
        return cls.from_dict(parse_json(text, source), source)

    @classmethod
    def from_file(cls, path: str | Path) -> Workflow:
        """From a JSON file or a PNG saved by ComfyUI."""
        data, _notes = read_source(path)
        return cls.from_dict(data, str(path))

    # --- serialisation --------------------------------------------------------------------------------------
    @property
    def nodes(self) -> dict[str, dict[str, Any]]:
        """The graph itself (do not mutate; use ``with_input``)."""
        return self._nodes

    def to_api(self) -> dict[str, Any]:
        """A deep copy, ready to send as ``prompt`` in ``POST /prompt``."""
        return {nid: copy.deepcopy(self._nodes[nid]) for nid in self.node_ids()}

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_api(), indent=indent, ensure_ascii=False)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Workflow) and self._nodes == other._nodes

    def __hash__(self) -> int:
        return hash(self.to_json(indent=None))

    def __len__(self) -> int:
        return len(self._nodes)

    def __contains__(self, node_id: object) -> bool:
        return node_id in self._nodes

    def __repr__(self) -> str:
        return f"Workflow({len(self._nodes)} nodes{', ' + self.source if self.source else ''})"

    # --- reading --------------------------------------------------------------------------------------------
    def node_ids(self) -> list[str]:
        """Node ids in natural order (``2`` before ``10``; ``5:3`` after ``5``)."""
        return sorted(self._nodes, key=_natural_key)

    def node(self, node_id: str) -> dict[str, Any]:
        try:
            return self._nodes[node_id]
        except KeyError:
            raise WorkflowError(f"no node {node_id!r} in the workflow") from None

    def class_type(self, node_id: str) -> str:
        return str(self.node(node_id)["class_type"])

    def title(self, node_id: str) -> str:
        """``_meta.title`` if set, else the class type."""
        meta = self.node(node_id).get("_meta")
        if isinstance(meta, dict) and isinstance(meta.get("title"), str) and meta["title"].strip():
            return str(meta["title"])
        return self.class_type(node_id)

    def inputs(self, node_id: str) -> dict[str, Any]:
        inputs: dict[str, Any] = self.node(node_id)["inputs"]
        return inputs

    def get_input(self, node_id: str, name: str) -> Any:
        inputs = self.inputs(node_id)
        if name not in inputs:
            raise WorkflowError(f"node {self._label(node_id)} has no input {name!r}{_choices(inputs)}")
        return inputs[name]

    def widget_inputs(self, node_id: str) -> dict[str, Any]:
        """The inputs holding values (not links)."""
        return {k: v for k, v in self.inputs(node_id).items() if not is_link(v)}

    def link_inputs(self, node_id: str) -> dict[str, list[Any]]:
        """The inputs linked to another node's output."""
        return {k: v for k, v in self.inputs(node_id).items() if is_link(v)}

    def node_list(self) -> list[tuple[str, str, str]]:
        """``(id, title, class_type)`` of every node, in :meth:`node_ids` order."""
        return [(nid, self.title(nid), self.class_type(nid)) for nid in self.node_ids()]

    def editable_inputs(self, node_id: str, info: ObjectInfo | None = None) -> list[tuple[str, Any, InputSpec | None]]:
        """``(name, value, spec)`` of the node's value inputs, in ``input_order`` when ``info`` knows the class.

        Declared widgets missing from the graph are listed with their default; linked inputs are left out.
        """
        inputs = self.inputs(node_id)
        cls = self.class_type(node_id)
        out: list[tuple[str, Any, InputSpec | None]] = []
        seen: set[str] = set()
        if info is not None and cls in info:
            for spec in info[cls].inputs.values():
                value = inputs.get(spec.name, spec.default)
                if is_link(value) or not spec.is_widget:
                    seen.add(spec.name)
                    continue
                out.append((spec.name, value, spec))
                seen.add(spec.name)
        for name, value in inputs.items():
            if name not in seen and not is_link(value):
                out.append((name, value, None))
        return out

    def consumers(self, node_id: str) -> list[tuple[str, str, int]]:
        """``(node_id, input_name, slot)`` of every input fed by ``node_id``."""
        out = []
        for nid in self.node_ids():
            for name, v in self._nodes[nid]["inputs"].items():
                if is_link(v) and str(v[0]) == node_id:
                    out.append((nid, name, int(v[1])))
        return out

    def _label(self, node_id: str) -> str:
        title = self.title(node_id)
        return f"{node_id} ({title})" if title != node_id else node_id

    def find_node(self, ref: str) -> str:
        """The id of the node ``ref`` names: an id, a title (case-insensitive) or, failing that, a class type."""
        ref_s = str(ref).strip()
        if ref_s in self._nodes:
            return ref_s
        if ref_s.startswith("#") and ref_s[1:] in self._nodes:
            return ref_s[1:]
        low = ref_s.casefold()
        for getter, what in ((self.title, "title"), (self.class_type, "class")):
            hits = [nid for nid in self.node_ids() if getter(nid).casefold() == low]
            if len(hits) == 1:
                return hits[0]
            if len(hits) > 1:
                cands = ", ".join(self._label(n) for n in hits)
                raise WorkflowError(f"{ref_s!r} matches several nodes by {what}: {cands}; use the node id")
        known = ", ".join(self._label(n) for n in self.node_ids()[:12])
        more = "…" if len(self._nodes) > 12 else ""
        raise WorkflowError(f"no node {ref_s!r} (by id or title); nodes: {known}{more}")

    # --- editing --------------------------------------------------------------------------------------------
    def _copy_with(self, nodes: dict[str, dict[str, Any]]) -> Workflow:
        new = Workflow.__new__(Workflow)
        new._nodes = nodes
        new.source = self.source
        return new

    def with_input(self, node_id: str, name: str, value: Any) -> Workflow:
        """A copy with one input set (a value, or a ``[id, slot]`` link)."""
        self.node(node_id)
        nodes = dict(self._nodes)
        node = copy.deepcopy(self._nodes[node_id])
        node["inputs"][name] = _norm_link(copy.deepcopy(value))
        nodes[node_id] = node
        return self._copy_with(nodes)

    def with_inputs(self, changes: Iterable[tuple[str, str, Any]]) -> Workflow:
        """A copy with several inputs set."""
        nodes = dict(self._nodes)
        copied: set[str] = set()
        for node_id, name, value in changes:
            self.node(node_id)
            if node_id not in copied:
                nodes[node_id] = copy.deepcopy(self._nodes[node_id])
                copied.add(node_id)
            nodes[node_id]["inputs"][name] = _norm_link(copy.deepcopy(value))
        return self._copy_with(nodes)

    def with_title(self, node_id: str, title: str) -> Workflow:
        self.node(node_id)
        nodes = dict(self._nodes)
        node = copy.deepcopy(self._nodes[node_id])
        node.setdefault("_meta", {})["title"] = title
        nodes[node_id] = node
        return self._copy_with(nodes)

    # --- overrides (--set NODE.INPUT=VALUE) -----------------------------------------------------------------
    def parse_override(self, text: str, info: ObjectInfo | None = None) -> tuple[str, str, Any]:
        """``"Positive.text=a red fox"`` → ``(node_id, "text", "a red fox")``, with the value coerced and checked.

        ``=`` splits target from value (the first ``=`` whose left side names a node and input, so titles may
        contain ``=``); the target splits on the last ``.`` that leaves a known node (titles may contain dots).
        """
        if "=" not in text:
            raise WorkflowError(f"--set {text!r}: expected NODE.INPUT=VALUE")
        first_error: WorkflowError | None = None
        positions = [i for i, ch in enumerate(text) if ch == "="]
        for pos in positions:
            target, raw_value = text[:pos], text[pos + 1 :]
            try:
                node_id, name = self._resolve_target(target, info)
            except WorkflowError as exc:
                first_error = first_error or exc
                continue
            return node_id, name, self._coerce(node_id, name, raw_value, info)
        assert first_error is not None
        raise WorkflowError(f"--set {text!r}: {first_error}")

    def _resolve_target(self, target: str, info: ObjectInfo | None) -> tuple[str, str]:
        dots = [i for i, ch in enumerate(target) if ch == "."]
        if not dots:
            raise WorkflowError(f"expected NODE.INPUT before '=', got {target!r}")
        first_error: WorkflowError | None = None
        for pos in reversed(dots):
            ref, name = target[:pos], target[pos + 1 :].strip()
            try:
                node_id = self.find_node(ref)
            except WorkflowError as exc:
                first_error = first_error or exc
                continue
            if not name:
                raise WorkflowError(f"no input name after {ref!r}.")
            self._check_input_name(node_id, name, info)
            return node_id, name
        assert first_error is not None
        raise first_error

    def _check_input_name(self, node_id: str, name: str, info: ObjectInfo | None) -> None:
        inputs = self.inputs(node_id)
        cls = self.class_type(node_id)
        if name in inputs:
            return
        if info is not None and cls in info and info[cls].input(name) is not None:
            return
        names = list(inputs)
        if info is not None and cls in info:
            names += [n for n in info[cls].inputs if n not in names]
        raise WorkflowError(f"node {self._label(node_id)} has no input {name!r}{_choices(names)}")

    def _coerce(self, node_id: str, name: str, raw: str, info: ObjectInfo | None) -> Any:
        cls = self.class_type(node_id)
        spec = info.input(cls, name) if info is not None else None
        current = self._nodes[node_id]["inputs"].get(name)
        where = f"{self._label(node_id)}.{name}"
        if spec is not None:
            if is_link(current) and spec.is_widget is False:
                raise WorkflowError(f"{where} is linked to node {current[0]}; it takes no value")
            try:
                return spec.coerce(raw)
            except ValueError as exc:
                raise WorkflowError(f"{where}: {exc}") from None
        return _guess_value(raw, current, where)

    def apply_overrides(self, overrides: Iterable[str], info: ObjectInfo | None = None) -> Workflow:
        """Apply ``NODE.INPUT=VALUE`` strings (node by id or title); values typed from ``info`` when given."""
        changes = [self.parse_override(o, info) for o in overrides]
        return self.with_inputs(changes) if changes else self

    # --- seeds and prompts ----------------------------------------------------------------------------------
    def seed_inputs(self, info: ObjectInfo | None = None) -> list[tuple[str, str]]:
        """Value inputs that are random seeds: INT ``seed``/``noise_seed``, or declared ``control_after_generate``.

        Seeds of loaders (nodes that output a MODEL, CLIP or VAE, or named ``*Loader`` without ``info``) are
        weights seeds, not sampling seeds, and are left out. A generic INT with a control (``PrimitiveInt``) counts
        only when everything it feeds is a ``seed``/``noise_seed`` input.
        """
        seed_names = ("seed", "noise_seed")
        out = []
        for nid in self.node_ids():
            cls = self.class_type(nid)
            spec_node = info[cls] if info is not None and cls in info else None
            if spec_node is not None and set(spec_node.outputs) & _LOADER_OUTPUTS:
                continue
            if spec_node is None and cls.endswith("Loader"):
                continue
            for name, v in self._nodes[nid]["inputs"].items():
                if is_link(v) or isinstance(v, bool):
                    continue
                spec = spec_node.input(name) if spec_node else None
                if spec is not None:
                    if spec.is_seed and (name in seed_names or self._feeds_only_seeds(nid)):
                        out.append((nid, name))
                elif name in seed_names and isinstance(v, int):
                    out.append((nid, name))
        return out

    def _feeds_only_seeds(self, node_id: str) -> bool:
        uses = self.consumers(node_id)
        return bool(uses) and all(name in ("seed", "noise_seed") for _, name, _ in uses)

    def with_seed(self, seed: int, info: ObjectInfo | None = None) -> Workflow:
        """A copy with every seed input set to ``seed`` (clamped into the input's bounds)."""
        changes = []
        for nid, name in self.seed_inputs(info):
            value = seed
            spec = info.input(self.class_type(nid), name) if info is not None else None
            if spec is not None and spec.max is not None and value > spec.max:
                value = value % (int(spec.max) + 1)
            if spec is not None and spec.min is not None and value < spec.min:
                value = int(spec.min)
            changes.append((nid, name, value))
        return self.with_inputs(changes) if changes else self

    def seeds(self, info: ObjectInfo | None = None) -> dict[tuple[str, str], Any]:
        """Current values of the seed inputs."""
        return {(nid, name): self._nodes[nid]["inputs"][name] for nid, name in self.seed_inputs(info)}

    def text_inputs(self, info: ObjectInfo | None = None) -> list[tuple[str, str]]:
        """Prompt-text inputs, best candidate first.

        Candidates are multiline STRING values (per ``info``) or, without ``info``, string inputs named ``text``
        (CLIPTextEncode and friends). Order: nodes titled "Positive", then nodes feeding a sampler's
        ``positive`` (directly or through conditioning nodes), then the rest, then nodes feeding ``negative``.
        """
        cands: list[tuple[str, str]] = []
        for nid in self.node_ids():
            cls = self.class_type(nid)
            spec_node = info[cls] if info is not None and cls in info else None
            for name, v in self._nodes[nid]["inputs"].items():
                if not isinstance(v, str):
                    continue
                spec = spec_node.input(name) if spec_node else None
                if (spec is not None and spec.kind == "STRING" and spec.multiline) or (
                    spec is None and name in ("text", "text_g", "text_l", "prompt")
                ):
                    cands.append((nid, name))
        positive = self._upstream_of_inputs("positive")
        negative = self._upstream_of_inputs("negative")

        def rank(c: tuple[str, str]) -> tuple[int, int]:
            nid = c[0]
            title = self.title(nid).casefold()
            if title.startswith("positive") or title in ("prompt", "positive prompt"):
                r = 0
            elif nid in positive and nid not in negative:
                r = 1
            elif title.startswith("negative") or nid in negative:
                r = 3
            else:
                r = 2
            return (r, cands.index(c))

        return sorted(cands, key=rank)

    def _upstream_of_inputs(self, input_name: str) -> set[str]:
        """Every node upstream of any input called ``input_name``."""
        seen: set[str] = set()
        stack = [
            str(v[0])
            for nid in self._nodes
            for name, v in self._nodes[nid]["inputs"].items()
            if name == input_name and is_link(v)
        ]
        while stack:
            nid = stack.pop()
            if nid in seen or nid not in self._nodes:
                continue
            seen.add(nid)
            stack.extend(str(v[0]) for v in self._nodes[nid]["inputs"].values() if is_link(v))
        return seen

    # --- checking -------------------------------------------------------------------------------------------
    def validate(self, info: ObjectInfo) -> list[Problem]:
        """Everything the server would reject, found locally: classes, required inputs, links, values."""
        problems: list[Problem] = []
        unknown = [nid for nid in self.node_ids() if self.class_type(nid) not in info]
        for nid in unknown:
            problems.append(Problem(nid, None, f"unknown node class {self.class_type(nid)!r} (not on the server)"))
        for nid in self.node_ids():
            cls = self.class_type(nid)
            if cls not in info:
                continue
            spec = info[cls]
            inputs = self._nodes[nid]["inputs"]
            for iname, ispec in spec.inputs.items():
                if iname not in inputs:
                    if ispec.required:
                        problems.append(Problem(nid, iname, "required input is missing"))
                    continue
                value = inputs[iname]
                if is_link(value):
                    msg = self._check_link(value, ispec.type, info)
                elif isinstance(value, list):
                    msg = "a list value must be a [node_id, output_slot] link"
                elif ispec.kind == "LINK":
                    msg = f"needs a link from a {ispec.type} output, got a value {_short(value)}"
                else:
                    msg = ispec.validate(value)
                if msg:
                    problems.append(Problem(nid, iname, msg))
            for iname, value in inputs.items():  # links on inputs the class does not declare
                if iname not in spec.inputs and is_link(value):
                    msg = self._check_link(value, "*", info)
                    if msg:
                        problems.append(Problem(nid, iname, msg))
        has_output = any(info[self.class_type(n)].output_node for n in self.node_ids() if self.class_type(n) in info)
        if not has_output and not unknown:
            problems.append(Problem("", None, "the workflow has no output node (e.g. SaveImage)"))
        return problems

    def _check_link(self, link: list[Any], want: str, info: ObjectInfo) -> str | None:
        src, slot = str(link[0]), int(link[1])
        if src not in self._nodes:
            return f"linked to node {src}, which is not in the workflow"
        src_cls = self.class_type(src)
        if src_cls not in info:
            return None  # reported as an unknown class
        outputs = info[src_cls].outputs
        if not 0 <= slot < len(outputs):
            return f"linked to output {slot} of node {self._label(src)}, which has {len(outputs)} output(s)"
        got = outputs[slot]
        if want != "COMBO" and got != "COMBO" and not types_compatible(got, want):
            return f"linked to a {got} output of node {self._label(src)}, expected {want}"
        return None

    # --- comparing ------------------------------------------------------------------------------------------
    def diff(self, other: Workflow) -> list[InputChange]:
        """Inputs that differ from ``self`` to ``other`` (absent = ``None``); class changes use ``class_type``."""
        out: list[InputChange] = []
        ids = sorted(set(self._nodes) | set(other._nodes), key=_natural_key)
        for nid in ids:
            a, b = self._nodes.get(nid), other._nodes.get(nid)
            if a is None or b is None or a["class_type"] != b["class_type"]:
                out.append(
                    InputChange(nid, "class_type", a["class_type"] if a else None, b["class_type"] if b else None)
                )
                if a is None or b is None:
                    continue
            ai, bi = a["inputs"], b["inputs"]
            for name in list(ai) + [n for n in bi if n not in ai]:
                if ai.get(name) != bi.get(name) or (name in ai) != (name in bi):
                    out.append(InputChange(nid, name, ai.get(name), bi.get(name)))
        return out


def _norm_link(value: Any) -> Any:
    """Links always have a string node id: ``[4, 0]`` → ``["4", 0]``."""
    if is_link(value) and not isinstance(value[0], str):
        return [str(value[0]), value[1]]
    return value


def _short(value: Any, limit: int = 60) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _choices(names: Iterable[str]) -> str:
    names = list(names)
    return f" (inputs: {', '.join(names)})" if names else ""


def _guess_value(raw: str, current: Any, where: str) -> Any:
    """Type a command-line value without ``/object_info``: follow the current value's type, else JSON-ish."""
    s = raw.strip()
    if isinstance(current, bool):
        low = s.lower()
        if low in ("true", "yes", "on", "1"):
            return True
        if low in ("false", "no", "off", "0"):
            return False
        raise WorkflowError(f"{where}: expected true or false, got {raw!r}")
    if isinstance(current, int) and not isinstance(current, bool):
        try:
            return int(s)
        except ValueError:
            try:
                f = float(s)
            except ValueError:
                raise WorkflowError(f"{where}: expected an integer, got {raw!r}") from None
            if f.is_integer():
                return int(f)
            return f
    if isinstance(current, float):
        try:
            return float(s)
        except ValueError:
            raise WorkflowError(f"{where}: expected a number, got {raw!r}") from None
    if isinstance(current, str):
        return raw
    if is_link(current):
        raise WorkflowError(f"{where} is linked to node {current[0]}; it takes no value")
    try:
        value = json.loads(s)
    except (json.JSONDecodeError, RecursionError):
        return raw
    if isinstance(value, list):
        return {"__value__": value}
    return value


def load_any(source: str | Path | Mapping[str, Any], info: ObjectInfo | None = None) -> tuple[Workflow, list[str]]:
    """Load API or UI format from a path, JSON text or a dict. Returns the workflow and notes for the user.

    A UI-format workflow is converted when ``info`` is given (note: "converted from UI format"); otherwise it
    raises :class:`NeedsConversion`.
    """
    name = ""
    notes: list[str] = []
    if isinstance(source, Mapping):
        data: Any = dict(source)
    elif isinstance(source, Path) or (isinstance(source, str) and not source.lstrip().startswith(("{", "["))):
        name = str(source)
        data, notes = read_source(source)
    else:
        data = parse_json(source)
    try:
        return Workflow.from_dict(data, name), notes
    except NeedsConversion as exc:
        if info is None:
            raise
        from comfytui.core.convert import convert_ui  # local: convert imports this module

        result = convert_ui(exc.ui, info, source=name)
        return Workflow(result.prompt, name), [*notes, "converted from UI format", *result.notes]
