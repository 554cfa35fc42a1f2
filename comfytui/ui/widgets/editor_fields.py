"""One form row per workflow input: a label with the type and a "changed" mark, the right control, the problems.

Controls by kind: COMBO → ``Select`` (type to search), INT/FLOAT → ``NumberInput`` (↑/↓ step within min/max,
checked as you type), multi-line STRING → ``TextArea``, STRING → ``Input``, BOOLEAN → ``Switch``; seeds add a
fixed / random / increment ``Select``; upload combos (LoadImage) add an "upload file…" button. Rows never talk to
the server or the model: they post ``FieldEdited`` / ``SeedModeChanged`` / ``PickFile`` and the screen answers with
``show(field)``.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.validation import ValidationResult, Validator
from textual.widget import Widget
from textual.widgets import Button, Input, Select, Static, Switch, TextArea

from comfytui.core.edit_session import SEED_MODES, Field, LinkField, SeedMode, parse_value
from comfytui.core.object_info import InputSpec

__all__ = ["FieldEdited", "InputRow", "LinkRow", "NumberInput", "PickFile", "SeedModeChanged", "row_id"]

_UNSET: Any = object()


def row_id(name: str) -> str:
    """A widget id for the row of input ``name``."""
    return "field-" + re.sub(r"[^A-Za-z0-9_-]", "_", name)


class FieldEdited(Message):
    """The user changed an input: ``text`` to parse, or a ready ``value``."""

    def __init__(self, node_id: str, name: str, *, text: str | None = None, value: Any = _UNSET) -> None:
        super().__init__()
        self.node_id = node_id
        self.name = name
        self.text = text
        self.value = value

    @property
    def has_value(self) -> bool:
        return self.value is not _UNSET


class SeedModeChanged(Message):
    def __init__(self, node_id: str, name: str, mode: SeedMode) -> None:
        super().__init__()
        self.node_id = node_id
        self.name = name
        self.mode = mode


class PickFile(Message):
    """The user wants to upload a local file into an upload combo (LoadImage)."""

    def __init__(self, node_id: str, name: str) -> None:
        super().__init__()
        self.node_id = node_id
        self.name = name


class SpecValidator(Validator):
    """Input text against an ``/object_info`` spec (drives the red border while typing)."""

    def __init__(self, spec: InputSpec | None, current: Any) -> None:
        super().__init__()
        self.spec = spec
        self.current = current

    def validate(self, value: str) -> ValidationResult:
        try:
            typed = parse_value(self.spec, value, self.current)
        except ValueError as exc:
            return self.failure(str(exc))
        problem = self.spec.validate(typed) if self.spec is not None else None
        return self.failure(problem) if problem else self.success()


class NumberInput(Input):
    """An INT/FLOAT input: ↑/↓ add or subtract one step, kept inside min/max."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "step(1)", "+step", show=False, id="editor.step_up"),
        Binding("down", "step(-1)", "-step", show=False, id="editor.step_down"),
    ]

    def __init__(self, spec: InputSpec | None, *, value: str, id: str | None = None) -> None:
        integer = spec is None or spec.kind == "INT"
        super().__init__(
            value=value,
            type="integer" if integer else "number",
            validators=[SpecValidator(spec, 0 if integer else 0.0)],
            validate_on=["changed", "submitted"],
            compact=True,
            id=id,
        )
        self.spec = spec
        self.integer = integer

    def action_step(self, direction: int) -> None:
        spec = self.spec
        step: float = spec.step if spec is not None and spec.step else 1
        if self.integer:
            step = max(1, int(step))
        try:
            current = float(self.value) if not self.integer else int(float(self.value))
        except ValueError:
            return
        new = current + direction * step
        if spec is not None and spec.min is not None:
            new = max(new, spec.min)
        if spec is not None and spec.max is not None:
            new = min(new, spec.max)
        if self.integer:
            self.value = str(int(new))
        else:
            self.value = f"{new:.10g}"
        self.cursor_position = len(self.value)


def _label(f: Field) -> Text:
    text = Text()
    text.append(f.name, style="bold")
    if f.spec is not None:
        text.append(f"  {f.spec.describe()}", style="dim")
        if f.spec.step and f.spec.kind in ("INT", "FLOAT") and f.spec.step != 1:
            text.append(f" step {f.spec.step:g}", style="dim")
    else:
        text.append("  (not in the server's catalogue)", style="dim italic")
    if f.changed:
        text.append("  ● changed", style="bold yellow")
        original = f.original_text().replace("\n", " ")
        if len(original) > 40:
            original = original[:39] + "…"
        text.append(f" (file: {original})", style="yellow")
    return text


def _problems(f: Field | LinkField) -> Text:
    text = Text()
    messages = list(f.problems)
    if isinstance(f, Field) and f.text_error and f.text_error not in messages:
        messages.insert(0, f.text_error)
    for i, msg in enumerate(messages):
        if i:
            text.append("\n")
        text.append(f"✗ {msg}", style="bold red")
    if isinstance(f, Field) and f.warning:
        if messages:
            text.append("\n")
        text.append(f"⚠ {f.warning}", style="yellow")
    return text


class InputRow(Vertical):
    """Label, control(s) and problem line for one input."""

    def __init__(self, f: Field) -> None:
        super().__init__(id=row_id(f.name), classes="input-row")
        self.field = f
        self.node_id = f.node_id
        self.input_name = f.name
        self.control: Widget | None = None
        self._choices: list[tuple[str, Any]] = []

    def compose(self) -> ComposeResult:
        f = self.field
        yield Static(_label(f), classes="field-label")
        kind = f.kind
        spec = f.spec
        if kind == "COMBO" and spec is not None:
            opts = list(spec.options or ())
            choices = [(str(o), o) for o in opts]
            if f.value not in opts:
                choices.insert(0, (f"{f.value}  (not on the server)", f.value))
            self._choices = choices
            self.control = Select(choices, value=f.value, allow_blank=False, type_to_search=True, compact=True)
            if spec.upload:
                with Horizontal(classes="field-controls"):
                    yield self.control
                    yield Button(f"upload {spec.upload}…", classes="field-upload", compact=True)
            else:
                yield self.control
        elif kind in ("INT", "FLOAT"):
            self.control = NumberInput(spec, value=f.text())
            if f.seed_mode is not None:
                with Horizontal(classes="field-controls"):
                    yield self.control
                    modes = [(f"{m} after run", m) for m in SEED_MODES]
                    yield Select(modes, value=f.seed_mode, allow_blank=False, compact=True, classes="seed-mode")
            else:
                yield self.control
        elif kind == "BOOLEAN":
            self.control = Switch(value=bool(f.value))
            yield self.control
        elif kind == "STRING" and f.multiline:
            self.control = TextArea(f.text(), soft_wrap=True, show_line_numbers=False, compact=True)
            yield self.control
        else:
            self.control = Input(value=f.text(), validators=[SpecValidator(spec, f.value)], compact=True)
            yield self.control
        yield Static(_problems(f), classes="field-problems")

    def on_mount(self) -> None:
        self._show_problems(self.field)

    def _show_problems(self, f: Field) -> None:
        box = self.query_one(".field-problems", Static)
        text = _problems(f)
        box.update(text)
        box.display = bool(text.plain)
        self.set_class(bool(f.problems or f.text_error), "-problem")
        self.set_class(f.changed, "-changed")

    def show(self, f: Field, *, value_too: bool = False) -> None:
        """Repaint from the model; ``value_too`` also puts the value into the control (seed rolls, uploads)."""
        self.field = f
        self.query_one(".field-label", Static).update(_label(f))
        self._show_problems(f)
        if value_too:
            self._set_control(f)

    def _set_control(self, f: Field) -> None:
        c = self.control
        with self.prevent(Input.Changed, Select.Changed, Switch.Changed, TextArea.Changed):
            if isinstance(c, Select):
                if f.value not in [v for _label, v in self._choices]:
                    self._choices = [(str(f.value), f.value), *self._choices]
                    c.set_options(self._choices)
                c.value = f.value
            elif isinstance(c, Switch):
                c.value = bool(f.value)
            elif isinstance(c, TextArea):
                c.text = f.text()
            elif isinstance(c, Input):
                c.value = f.text()

    # --- events from the controls -------------------------------------------------------------------------
    @on(Input.Changed)
    def _input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.post_message(FieldEdited(self.node_id, self.input_name, text=event.value))

    @on(TextArea.Changed)
    def _area_changed(self, event: TextArea.Changed) -> None:
        event.stop()
        self.post_message(FieldEdited(self.node_id, self.input_name, text=event.text_area.text))

    @on(Switch.Changed)
    def _switch_changed(self, event: Switch.Changed) -> None:
        event.stop()
        self.post_message(FieldEdited(self.node_id, self.input_name, value=event.value))

    @on(Select.Changed)
    def _select_changed(self, event: Select.Changed) -> None:
        event.stop()
        if event.value is Select.NULL:
            return
        if event.select.has_class("seed-mode"):
            mode = str(event.value)
            if mode in SEED_MODES and mode != self.field.seed_mode:
                self.post_message(SeedModeChanged(self.node_id, self.input_name, mode))
            return
        if event.value != self.field.value:
            self.post_message(FieldEdited(self.node_id, self.input_name, value=event.value))

    @on(Button.Pressed, ".field-upload")
    def _upload(self, event: Button.Pressed) -> None:
        event.stop()
        self.post_message(PickFile(self.node_id, self.input_name))


class LinkRow(Static):
    """A linked input: where it comes from, and any problem with the link."""

    def __init__(self, f: LinkField) -> None:
        super().__init__(classes="link-row")
        self.field = f
        self.input_name = f.name

    def on_mount(self) -> None:
        self.show(self.field)

    def show(self, f: LinkField) -> None:
        self.field = f
        text = Text()
        text.append(f.name, style="bold")
        text.append(f"  ← {f.label}", style="dim")
        problems = _problems(f)
        if problems.plain:
            text.append("\n")
            text.append(problems)
        self.update(text)
        self.set_class(bool(f.problems), "-problem")
