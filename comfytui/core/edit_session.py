"""The editor's model, free of any UI: a workflow being edited against the server's catalogue.

``EditSession`` keeps the workflow as loaded (``original``) and as edited (``current``), the text a user typed that
does not parse yet, the seed controls (fixed / random / increment, applied after each submission as in the ComfyUI
page), and the problems found locally (``check``) or reported by the server (``apply_rejection``), each pinned to a
node and an input so the editor can show it next to that input.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from comfytui.core.object_info import InputSpec, ObjectInfo
from comfytui.core.workflow import InputChange, Problem, UnknownNodeClasses, Workflow, WorkflowError

if TYPE_CHECKING:
    from comfytui.client.errors import InputError

__all__ = ["SEED_MODES", "EditSession", "Field", "LinkField", "SeedMode", "parse_value", "step_warning"]

SeedMode = Literal["fixed", "random", "increment"]
SEED_MODES: tuple[SeedMode, ...] = ("fixed", "random", "increment")
_SEED_CAP = 2**50  # random seeds stay JSON-safe and inside every sampler's range
Key = tuple[str, str | None]


def _fmt(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value)


def parse_value(spec: InputSpec | None, text: str, current: Any) -> Any:
    """The value typed as ``text`` (its type only); ``ValueError`` when the text is not a value of that type.

    Bounds and choices are not checked here: an out-of-range number is still a value, kept in the graph and
    reported by :meth:`EditSession.check` (and the server judges it if sent anyway).
    """
    if spec is not None and spec.kind != "LINK":
        return spec.parse_text(text)
    if isinstance(current, str):
        return text
    s = text.strip()
    if isinstance(current, bool):
        if s.lower() in ("true", "false"):
            return s.lower() == "true"
        raise ValueError(f"expected true or false, got {text!r}")
    try:
        value = json.loads(s)
    except (json.JSONDecodeError, RecursionError):
        if isinstance(current, int | float):
            raise ValueError(f"expected a number, got {text!r}") from None
        return text
    if isinstance(current, int | float) and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise ValueError(f"expected a number, got {text!r}")
    return value


def step_warning(spec: InputSpec | None, value: Any) -> str | None:
    """A soft note when a number is off the input's step grid (the server accepts it; the page would round)."""
    if spec is None or spec.kind not in ("INT", "FLOAT") or not spec.step or isinstance(value, bool):
        return None
    if not isinstance(value, int | float) or spec.kind == "FLOAT":
        return None  # float steps are display hints; rounding differs by frontend version
    step = int(spec.step)
    if step <= 1:
        return None
    base = int(spec.min or 0)
    if (int(value) - base) % step:
        lower = value - (int(value) - base) % step
        return f"not a multiple of the step {step} (the ComfyUI page would use {lower} or {lower + step})"
    return None


@dataclass(frozen=True)
class Field:
    """One editable input of a node as the editor shows it."""

    node_id: str
    name: str
    spec: InputSpec | None
    value: Any
    original: Any  # the value in the file (None when the file did not have it)
    changed: bool
    problems: tuple[str, ...] = ()
    warning: str | None = None
    seed_mode: SeedMode | None = None
    text_error: str | None = None  # why the typed text does not parse
    typed: str | None = None  # the unparsable text itself (shown instead of the value)

    @property
    def kind(self) -> str:
        """``INT``/``FLOAT``/``STRING``/``BOOLEAN``/``COMBO``, or a guess from the value when the spec is unknown."""
        if self.spec is not None:
            return self.spec.kind
        if isinstance(self.value, bool):
            return "BOOLEAN"
        if isinstance(self.value, int):
            return "INT"
        if isinstance(self.value, float):
            return "FLOAT"
        return "STRING" if isinstance(self.value, str) else "JSON"

    @property
    def multiline(self) -> bool:
        if self.spec is not None:
            return self.spec.kind == "STRING" and self.spec.multiline
        return isinstance(self.value, str) and ("\n" in self.value or self.name in ("text", "prompt"))

    def text(self) -> str:
        """The value as it is typed into a text field (or the unparsable text the user left there)."""
        return self.typed if self.typed is not None else _fmt(self.value)

    def original_text(self) -> str:
        return "(not in the file)" if self.original is None else _fmt(self.original)


@dataclass(frozen=True)
class LinkField:
    """A linked input (read-only in the editor), shown so problems with the link have a place."""

    node_id: str
    name: str
    source: str
    slot: int
    label: str  # "node 1 (Loader) output 1 CLIP"
    problems: tuple[str, ...] = ()


class EditSession:
    """A workflow under edit. ``current`` is always a complete, sendable API graph (bad text is kept aside)."""

    def __init__(
        self,
        workflow: Workflow,
        info: ObjectInfo,
        *,
        path: Path | None = None,
        origin: str = "",
        extra_data: Mapping[str, Any] | None = None,
        notes: Iterable[str] = (),
    ) -> None:
        unknown: dict[str, list[str]] = {}
        for nid in workflow.node_ids():
            cls = workflow.class_type(nid)
            if cls not in info:
                unknown.setdefault(cls, []).append(nid)
        if unknown:
            raise UnknownNodeClasses(unknown)
        self.original = workflow
        self.current = workflow
        self.info = info
        self.path = path
        self.origin = origin or (str(path) if path else "workflow")
        self.extra_data: dict[str, Any] = dict(extra_data or {})  # kept for resubmission (secrets excluded)
        self.notes = list(notes)
        self.seed_modes: dict[tuple[str, str], SeedMode] = {k: "fixed" for k in workflow.seed_inputs(info)}
        self.text_errors: dict[tuple[str, str], str] = {}
        self.typed: dict[tuple[str, str], str] = {}
        self.server_problems: dict[Key, list[str]] = {}
        self.server_message: str | None = None

    @classmethod
    def from_file(cls, path: Path, info: ObjectInfo) -> EditSession:
        """Open an API- or UI-format file (UI format is converted with ``info``); raises ``WorkflowError``."""
        from comfytui.core.workflow import load_any

        workflow, notes = load_any(Path(path), info)
        return cls(workflow, info, path=Path(path), notes=notes)

    # --- reading --------------------------------------------------------------------------------------------
    def nodes(self) -> list[tuple[str, str, str]]:
        """``(id, title, class)`` of every node."""
        return self.current.node_list()

    def spec(self, node_id: str, name: str) -> InputSpec | None:
        return self.info.input(self.current.class_type(node_id), name)

    def fields(self, node_id: str) -> list[Field]:
        """The node's value inputs, in the order the page shows them."""
        out = []
        orig_inputs = self.original.inputs(node_id) if node_id in self.original else {}
        local = self._local_problems()
        for name, value, spec in self.current.editable_inputs(node_id, self.info):
            key = (node_id, name)
            problems = tuple(local.get(key, ())) + tuple(self.server_problems.get(key, ()))
            out.append(
                Field(
                    node_id=node_id,
                    name=name,
                    spec=spec,
                    value=value,
                    original=orig_inputs.get(name),
                    changed=self.is_changed(node_id, name),
                    problems=problems,
                    warning=step_warning(spec, value),
                    seed_mode=self.seed_modes.get(key),
                    text_error=self.text_errors.get(key),
                    typed=self.typed.get(key),
                )
            )
        return out

    def link_fields(self, node_id: str) -> list[LinkField]:
        local = self._local_problems()
        out = []
        for name, link in self.current.link_inputs(node_id).items():
            src, slot = str(link[0]), int(link[1])
            if src in self.current:
                cls = self.current.class_type(src)
                outs = self.info[cls].outputs if cls in self.info else ()
                kind = f" {outs[slot]}" if 0 <= slot < len(outs) else ""
                label = f"node {src} ({self.current.title(src)}) output {slot}{kind}"
            else:
                label = f"node {src} (missing) output {slot}"
            key = (node_id, name)
            problems = tuple(local.get(key, ())) + tuple(self.server_problems.get(key, ()))
            out.append(LinkField(node_id, name, src, slot, label, problems))
        return out

    def node_problems(self, node_id: str) -> list[str]:
        """Problems of the node not tied to one input (or tied to an input the editor does not show)."""
        shown = {f.name for f in self.fields(node_id)} | set(self.current.link_inputs(node_id))
        out: list[str] = []
        for (nid, name), msgs in [*self._local_problems().items(), *self.server_problems.items()]:
            if nid == node_id and (name is None or name not in shown):
                out.extend(f"{name}: {m}" if name else m for m in msgs)
        return out

    def is_changed(self, node_id: str, name: str) -> bool:
        a = self.original.inputs(node_id) if node_id in self.original else {}
        b = self.current.inputs(node_id)
        return (name in a) != (name in b) or a.get(name) != b.get(name)

    def node_changed(self, node_id: str) -> bool:
        return any(c.node_id == node_id for c in self.changes())

    def node_has_problems(self, node_id: str) -> bool:
        keys = [*self._local_problems(), *self.server_problems]
        return any(k[0] == node_id for k in keys)

    def changes(self) -> list[InputChange]:
        """What differs from the file."""
        return self.original.diff(self.current)

    # --- editing --------------------------------------------------------------------------------------------
    def set_value(self, node_id: str, name: str, value: Any) -> None:
        """Set an input to a (typed) value; clears a parse error and the server's complaint about it."""
        self.current = self.current.with_input(node_id, name, value)
        self.text_errors.pop((node_id, name), None)
        self.typed.pop((node_id, name), None)
        self.server_problems.pop((node_id, name), None)

    def set_text(self, node_id: str, name: str, text: str) -> str | None:
        """Set an input from typed text; returns what is wrong with it, if anything.

        Text that is not a value of the input's type is kept aside (the graph keeps the last good value); a value
        of the right type outside the bounds or choices is set, and reported.
        """
        spec = self.spec(node_id, name)
        current = self.current.inputs(node_id).get(name)
        try:
            value = parse_value(spec, text, current)
        except ValueError as exc:
            self.text_errors[(node_id, name)] = str(exc)
            self.typed[(node_id, name)] = text
            self.server_problems.pop((node_id, name), None)
            return str(exc)
        self.set_value(node_id, name, value)
        return spec.validate(value) if spec is not None else None

    def revert(self, node_id: str, name: str) -> None:
        """Back to the file's value."""
        orig = self.original.inputs(node_id) if node_id in self.original else {}
        if name in orig:
            self.set_value(node_id, name, orig[name])

    def set_seed_mode(self, node_id: str, name: str, mode: SeedMode) -> None:
        if mode not in SEED_MODES:
            raise ValueError(f"seed mode must be one of {', '.join(SEED_MODES)}")
        self.seed_modes[(node_id, name)] = mode

    def is_seed(self, node_id: str, name: str) -> bool:
        return (node_id, name) in self.seed_modes

    # --- checking -------------------------------------------------------------------------------------------
    def _local_problems(self) -> dict[Key, list[str]]:
        out: dict[Key, list[str]] = {}
        for (nid, name), msg in self.text_errors.items():
            out.setdefault((nid, name), []).append(msg)
        for p in self.current.validate(self.info):
            key: Key = (p.node_id, p.input_name)
            if key in self.text_errors:
                continue
            out.setdefault(key, []).append(p.message)
        return out

    def check(self) -> list[Problem]:
        """Everything wrong locally: typed text that does not parse, types, bounds, missing inputs, links."""
        return [Problem(nid, name, msg) for (nid, name), msgs in self._local_problems().items() for msg in msgs]

    def apply_rejection(self, node_errors: Mapping[str, Iterable[InputError]], error: Mapping[str, Any]) -> None:
        """Pin the server's 400 answer to nodes and inputs (``PromptRejected.node_errors`` / ``.error``)."""
        self.server_problems = {}
        for node_id, errs in node_errors.items():
            for e in errs:
                name = e.input_name
                msg = e.message
                details = e.details
                for sep in (": ", " - "):
                    if name and details.startswith(f"{name}{sep}"):
                        details = details[len(name) + len(sep) :]
                if e.type == "custom_validation_failed" and details:
                    msg = details  # "Custom validation failed for node" says nothing; the details say what
                elif details and details not in msg and details != name:
                    msg = f"{msg}: {details}"
                self.server_problems.setdefault((str(node_id), name), []).append(f"server: {msg}")
        message = str(error.get("message") or "")
        details = str(error.get("details") or "")
        if not node_errors and details and details not in message:
            message = f"{message}: {details}" if message else details
        self.server_message = message or None

    def clear_server_problems(self) -> None:
        self.server_problems = {}
        self.server_message = None

    # --- sending and saving ---------------------------------------------------------------------------------
    def prompt(self) -> dict[str, Any]:
        """The API graph to send."""
        return self.current.to_api()

    def after_submit(self) -> list[tuple[str, str, int]]:
        """Apply the seed controls (random / increment) for the next run; returns the seeds changed."""
        changes: list[tuple[str, str, int]] = []
        for (nid, name), mode in self.seed_modes.items():
            if mode == "fixed":
                continue
            spec = self.spec(nid, name)
            lo = int(spec.min) if spec is not None and spec.min is not None else 0
            hi = int(spec.max) if spec is not None and spec.max is not None else _SEED_CAP
            hi = min(hi, _SEED_CAP)
            old = self.current.inputs(nid).get(name)
            if mode == "random":
                new = random.randint(lo, hi)
            else:
                new = int(old) + 1 if isinstance(old, int) and not isinstance(old, bool) else lo
                if new > hi:
                    new = lo
            changes.append((nid, name, new))
        if changes:
            self.current = self.current.with_inputs(changes)
            for nid, name, _ in changes:
                self.text_errors.pop((nid, name), None)
                self.typed.pop((nid, name), None)
        return changes

    def save(self, path: Path, *, overwrite: bool = False) -> Path:
        """Write the edited graph as an API-format JSON file (the graph only: no extra data, no keys)."""
        target = Path(path).expanduser()
        if target.suffix == "":
            target = target.with_suffix(".json")
        if target.exists() and not overwrite:
            raise WorkflowError(f"{target}: already exists (choose a new name)")
        if self.path is not None and target.resolve() == self.path.resolve():
            raise WorkflowError(f"{target}: that is the file being edited; save as a new file")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(self.current.to_json() + "\n", encoding="utf-8")
        except OSError as exc:
            raise WorkflowError(f"{target}: cannot write: {exc.strerror or exc}") from None
        return target

    def suggested_save_path(self) -> Path:
        """``<stem>-edited.json`` next to the file, or in the working folder for prompts from history."""
        if self.path is not None:
            base = self.path.with_name(f"{self.path.stem}-edited.json")
        else:
            stem = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in self.origin)[:40].strip("-")
            base = Path.cwd() / f"{stem or 'workflow'}.json"
        n = 2
        candidate = base
        while candidate.exists():
            candidate = base.with_name(f"{base.stem}-{n}.json")
            n += 1
        return candidate
