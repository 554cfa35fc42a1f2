"""A typed view of ComfyUI's node catalogue (``GET /object_info``).

Pure: no I/O except :meth:`ObjectInfo.from_file`. Mirrors the server's validation rules (``execution.py``
``validate_inputs``) and the frontend's widget rules (which inputs are widgets, which carry a control value).
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "CONTROL_VALUES",
    "PRIMITIVE_KINDS",
    "InputSpec",
    "NodeSpec",
    "ObjectInfo",
    "types_compatible",
]

#: Kinds of inputs that hold a value (a widget in the frontend) rather than a link.
PRIMITIVE_KINDS = frozenset({"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"})
#: The values of the frontend's "control after generate" widget.
CONTROL_VALUES = frozenset({"fixed", "increment", "decrement", "randomize", "increment-wrap"})
#: INT inputs with these names get a control widget even without ``control_after_generate`` (frontend rule).
SEED_NAMES = frozenset({"seed", "noise_seed"})
_UPLOAD_FLAGS = ("image_upload", "video_upload", "animated_image_upload")
_TRUE_WORDS = {"true", "yes", "on", "1", "y", "t"}
_FALSE_WORDS = {"false", "no", "off", "0", "n", "f"}


def types_compatible(received: str, expected: str) -> bool:
    """Whether an output of type ``received`` may feed an input of type ``expected``.

    Follows the server (comma-separated unions overlap) and the frontend (``*`` and ``""`` match anything).
    """
    if received == expected:
        return True
    if received in ("*", "") or expected in ("*", ""):
        return True
    got = {t.strip().upper() for t in str(received).split(",")}
    want = {t.strip().upper() for t in str(expected).split(",")}
    return bool(got & want) or "*" in got or "*" in want


def _short(value: Any, limit: int = 60) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _num(value: Any) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


@dataclass(frozen=True)
class InputSpec:
    """One input of a node class."""

    name: str
    type: str  # socket type: "INT", "FLOAT", "STRING", "BOOLEAN", "COMBO", or a link type such as "MODEL"
    section: str  # "required" | "optional"
    options: tuple[Any, ...] | None = None  # combo members
    default: Any = None
    min: float | None = None
    max: float | None = None
    step: float | None = None
    round: float | None = None
    multiline: bool = False
    force_input: bool = False
    control_after_generate: bool = False  # as declared by the node
    tooltip: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def parse(cls, name: str, spec: Any, section: str) -> InputSpec:
        """Build from an ``/object_info`` entry ``[TYPE, {opts}]``."""
        if not isinstance(spec, list | tuple) or not spec:
            spec = ["*"]
        head = spec[0]
        opts: dict[str, Any] = spec[1] if len(spec) > 1 and isinstance(spec[1], dict) else {}
        options: tuple[Any, ...] | None = None
        if isinstance(head, list | tuple):
            type_, options = "COMBO", tuple(head)
        elif head == "COMBO":
            type_, options = "COMBO", tuple(opts.get("options") or ())
        else:
            type_ = str(head)

        def _float(key: str) -> float | None:
            v = opts.get(key)
            return v if isinstance(v, int | float) and not isinstance(v, bool) else None  # ints stay exact

        rnd = opts.get("round")
        return cls(
            name=name,
            type=type_,
            section=section,
            options=options,
            default=opts.get("default"),
            min=_float("min"),
            max=_float("max"),
            step=_float("step"),
            round=rnd if isinstance(rnd, int | float) and not isinstance(rnd, bool) else None,
            multiline=bool(opts.get("multiline")),
            force_input=bool(opts.get("forceInput")),
            control_after_generate=bool(opts.get("control_after_generate")),
            tooltip=str(opts.get("tooltip") or ""),
            raw=opts,
        )

    # --- classification -------------------------------------------------------------------------------------
    @property
    def kind(self) -> str:
        """``INT``/``FLOAT``/``STRING``/``BOOLEAN``/``COMBO`` for value inputs, ``LINK`` for everything else."""
        return self.type if self.type in PRIMITIVE_KINDS else "LINK"

    @property
    def required(self) -> bool:
        return self.section == "required"

    @property
    def is_widget(self) -> bool:
        """A value the user edits (a widget in the frontend), not a socket for a link."""
        return self.kind != "LINK" and not self.force_input

    @property
    def has_control(self) -> bool:
        """The frontend adds a ``control_after_generate`` widget after this one."""
        if self.type == "INT":
            explicit = self.raw.get("control_after_generate")
            return bool(explicit) if explicit is not None else self.name in SEED_NAMES
        return self.type == "COMBO" and self.control_after_generate

    @property
    def is_seed(self) -> bool:
        """An INT input that is re-rolled between runs (``seed``/``noise_seed`` or declared with a control)."""
        if self.type != "INT":
            return False
        explicit = self.raw.get("control_after_generate")
        return bool(explicit) if explicit is not None else self.name in SEED_NAMES

    @property
    def upload(self) -> str | None:
        """``image``/``video``/``audio`` when the frontend adds an upload button for this combo."""
        if self.type != "COMBO":
            return None
        for flag in _UPLOAD_FLAGS:
            if self.raw.get(flag) is True:
                return "video" if flag == "video_upload" else "image"
        if self.raw.get("audio_upload") is True:
            return "audio"
        return None

    @property
    def remote(self) -> bool:
        """A combo whose options are fetched from a route at run time (not validated here)."""
        return isinstance(self.raw.get("remote"), dict)

    # --- values ---------------------------------------------------------------------------------------------
    def validate(self, value: Any) -> str | None:
        """Why ``value`` is not acceptable for this input, or ``None`` if it is. Links are not checked here."""
        if isinstance(value, dict) and "__value__" in value:
            value = value["__value__"]
        kind = self.kind
        if kind == "LINK":
            return None
        if kind == "INT":
            if isinstance(value, bool) or not isinstance(value, int | float):
                return f"expected an integer, got {_short(value)}"
            if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
                return f"expected an integer, got {_short(value)}"
            return self._bounds(value)
        if kind == "FLOAT":
            if isinstance(value, bool) or not isinstance(value, int | float):
                return f"expected a number, got {_short(value)}"
            if not math.isfinite(value):
                return f"expected a finite number, got {value}"
            return self._bounds(value)
        if kind == "STRING":
            return None if isinstance(value, str) else f"expected text, got {_short(value)}"
        if kind == "BOOLEAN":
            return None if isinstance(value, bool) else f"expected true or false, got {_short(value)}"
        # COMBO
        if self.remote or self.upload:  # the list changes on the server (uploads); let the server judge
            return None if isinstance(value, str) else f"expected a file name, got {_short(value)}"
        if value in (self.options or ()):
            return None
        return f"{_short(value)} is not one of the choices{self._suggest(value)}"

    def _bounds(self, value: float) -> str | None:
        if self.min is not None and value < self.min:
            return f"{_num(value)} is smaller than the minimum {_num(self.min)}"
        if self.max is not None and value > self.max:
            return f"{_num(value)} is bigger than the maximum {_num(self.max)}"
        return None

    def _suggest(self, value: Any) -> str:
        opts = [str(o) for o in self.options or ()]
        if not opts:
            return " (the server lists none)"
        close = difflib.get_close_matches(str(value), opts, n=3, cutoff=0.5)
        if close:
            return " (did you mean " + ", ".join(repr(c) for c in close) + "?)"
        if len(opts) <= 8:
            return " (" + ", ".join(repr(o) for o in opts) + ")"
        return f" ({len(opts)} choices, e.g. " + ", ".join(repr(o) for o in opts[:4]) + ")"

    def parse_text(self, text: str) -> Any:
        """Text → a value of this input's type, without the bounds/choices check; ``ValueError`` if it is not one."""
        kind = self.kind
        s = text.strip()
        if kind == "INT":
            try:
                return int(s.replace("_", ""))
            except ValueError:
                try:
                    f = float(s)
                except ValueError:
                    raise ValueError(f"expected an integer, got {text!r}") from None
                if not (math.isfinite(f) and f.is_integer()):
                    raise ValueError(f"expected an integer, got {text!r}") from None
                return int(f)
        if kind == "FLOAT":
            try:
                f = float(s)
            except ValueError:
                raise ValueError(f"expected a number, got {text!r}") from None
            if not math.isfinite(f):
                raise ValueError(f"expected a finite number, got {text!r}")
            return f
        if kind == "BOOLEAN":
            low = s.lower()
            if low in _TRUE_WORDS:
                return True
            if low in _FALSE_WORDS:
                return False
            raise ValueError(f"expected true or false, got {text!r}")
        if kind == "STRING":
            return text
        if kind == "COMBO":
            return self._combo_member(text)
        raise ValueError(f"is a link input of type {self.type}; it cannot be set to a value")

    def coerce(self, text: str) -> Any:
        """Turn command-line text into a value of this input's type; raises ``ValueError`` with a clear message."""
        value = self.parse_text(text)
        problem = self.validate(value)
        if problem:
            raise ValueError(problem)
        return value

    def _combo_member(self, text: str) -> Any:
        opts = list(self.options or ())
        if text in opts:
            return text
        for o in opts:  # numeric combos, e.g. [1, 2, 4]
            if not isinstance(o, str) and str(o) == text.strip():
                return o
        folded = [o for o in opts if isinstance(o, str) and o.lower() == text.strip().lower()]
        if len(folded) == 1:
            return folded[0]
        return text  # validate() reports it with suggestions

    def describe(self) -> str:
        """A short human description, e.g. ``INT 1..10000`` or ``COMBO (3 choices)``."""
        if self.kind in ("INT", "FLOAT"):
            lo = "" if self.min is None else _num(self.min)
            hi = "" if self.max is None else _num(self.max)
            return f"{self.kind} {lo}..{hi}" if lo or hi else self.kind
        if self.kind == "COMBO":
            return f"COMBO ({len(self.options or ())} choices)"
        return self.type


@dataclass(frozen=True)
class NodeSpec:
    """One node class."""

    name: str
    display_name: str
    category: str
    description: str
    inputs: dict[str, InputSpec]  # in input_order: required, then optional, then any others
    hidden: tuple[str, ...]
    outputs: tuple[str, ...]
    output_names: tuple[str, ...]
    output_is_list: tuple[bool, ...]
    output_node: bool
    python_module: str
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def parse(cls, name: str, raw: Mapping[str, Any]) -> NodeSpec:
        """Build from one ``/object_info`` entry."""
        inp = raw.get("input") if isinstance(raw.get("input"), dict) else {}
        order = raw.get("input_order") if isinstance(raw.get("input_order"), dict) else {}
        assert isinstance(inp, dict) and isinstance(order, dict)
        inputs: dict[str, InputSpec] = {}
        for section in ("required", "optional"):
            specs = inp.get(section) if isinstance(inp.get(section), dict) else {}
            assert isinstance(specs, dict)
            names = [n for n in (order.get(section) or []) if n in specs]
            names += [n for n in specs if n not in names]
            for n in names:
                if n not in inputs:
                    inputs[n] = InputSpec.parse(n, specs[n], section)
        hidden = inp.get("hidden") if isinstance(inp.get("hidden"), dict) else {}
        assert isinstance(hidden, dict)
        outputs = tuple(str(t) if not isinstance(t, list) else "COMBO" for t in raw.get("output") or ())
        names_out = tuple(str(n) for n in raw.get("output_name") or outputs)
        is_list = tuple(bool(b) for b in raw.get("output_is_list") or (False,) * len(outputs))
        return cls(
            name=name,
            display_name=str(raw.get("display_name") or name),
            category=str(raw.get("category") or ""),
            description=str(raw.get("description") or ""),
            inputs=inputs,
            hidden=tuple(hidden),
            outputs=outputs,
            output_names=names_out,
            output_is_list=is_list,
            output_node=bool(raw.get("output_node")),
            python_module=str(raw.get("python_module") or ""),
            raw=raw,
        )

    @property
    def input_order(self) -> list[str]:
        """Input names, required then optional (hidden inputs excluded)."""
        return list(self.inputs)

    def input(self, name: str) -> InputSpec | None:
        return self.inputs.get(name)

    def widget_inputs(self) -> list[InputSpec]:
        """The inputs the frontend shows as widgets, in widget order."""
        return [i for i in self.inputs.values() if i.is_widget]

    def link_inputs(self) -> list[InputSpec]:
        return [i for i in self.inputs.values() if not i.is_widget]


class ObjectInfo(Mapping[str, NodeSpec]):
    """The whole catalogue: ``info["KSampler"].inputs["steps"].max``."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw: Mapping[str, Any] = raw
        self._cache: dict[str, NodeSpec] = {}

    @classmethod
    def from_file(cls, path: str | Path) -> ObjectInfo:
        with open(path, encoding="utf-8") as fh:
            return cls(json.load(fh))

    def __getitem__(self, name: str) -> NodeSpec:
        spec = self._cache.get(name)
        if spec is None:
            entry = self.raw[name]
            if not isinstance(entry, Mapping):
                raise KeyError(name)
            spec = self._cache[name] = NodeSpec.parse(name, entry)
        return spec

    def __iter__(self) -> Iterator[str]:
        return iter(self.raw)

    def __len__(self) -> int:
        return len(self.raw)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and isinstance(self.raw.get(name), Mapping)

    def input(self, class_type: str, name: str) -> InputSpec | None:
        """The spec of ``class_type``'s input ``name``, or ``None`` if either is unknown."""
        if class_type not in self:
            return None
        return self[class_type].input(name)

    def validate_value(self, class_type: str, name: str, value: Any) -> str | None:
        """Why ``value`` is bad for that input (``None`` if fine or unknown)."""
        spec = self.input(class_type, name)
        return spec.validate(value) if spec else None
