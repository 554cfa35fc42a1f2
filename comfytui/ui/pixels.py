"""Decode image bytes and turn them into half-block `Pixels` sized for a box of cells (run in a thread)."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image
from rich.color import Color
from rich.style import Style
from rich_pixels import Pixels


def fit(width: int, height: int, cols: int, rows: int) -> tuple[int, int]:
    """The largest (cols, pixel rows) that keeps the aspect ratio inside `cols` × `rows` cells (2 px per cell)."""
    if width <= 0 or height <= 0 or cols <= 0 or rows <= 0:
        return (0, 0)
    scale = min(cols / width, (rows * 2) / height)
    w = max(1, min(cols, round(width * scale)))
    h = max(2, min(rows * 2, round(height * scale)))
    return (w, h - h % 2)


def decode(data: bytes, size: tuple[int, int] = (512, 512)) -> Image.Image:
    """Bytes (JPEG/PNG/WebP) -> an RGB image; JPEGs are decoded at a reduced scale down to about `size`."""
    with Image.open(io.BytesIO(data)) as img:
        img.draft("RGB", size)
        return img.convert("RGB")


def to_pixels(image: Image.Image, cols: int, rows: int) -> Pixels | None:
    """Scale `image` into the box and render half-blocks; None if the box is empty."""
    w, h = fit(image.width, image.height, cols, rows)
    if w <= 0 or h <= 0:
        return None
    small = image.resize((w, h), Image.Resampling.BILINEAR)
    return Pixels.from_image(small)


def to_strips(image: Image.Image, cols: int, rows: int) -> list[list[tuple[str, Any]]]:
    """Scale `image` into the box and return lines of (text, Style) half-block runs, centred horizontally.

    Faster than rich-pixels for live previews: one Style per distinct colour pair, runs of equal cells merged.
    """
    w, h = fit(image.width, image.height, cols, rows)
    if w <= 0 or h <= 0:
        return []
    small = image.resize((w, h), Image.Resampling.BILINEAR)
    data = small.tobytes()
    left = " " * ((cols - w) // 2)
    styles: dict[tuple[int, int, int, int, int, int], Style] = {}
    lines: list[list[tuple[str, Any]]] = []
    row_bytes = w * 3
    for y in range(0, h, 2):
        top_row = data[y * row_bytes : (y + 1) * row_bytes]
        bottom_row = data[(y + 1) * row_bytes : (y + 2) * row_bytes] if y + 1 < h else top_row
        line: list[tuple[str, Any]] = [(left, None)] if left else []
        run_key: tuple[int, int, int, int, int, int] | None = None
        run = 0
        for x in range(0, row_bytes, 3):
            key = (bottom_row[x], bottom_row[x + 1], bottom_row[x + 2], top_row[x], top_row[x + 1], top_row[x + 2])
            if key == run_key:
                run += 1
                continue
            if run_key is not None:
                line.append(("▄" * run, styles[run_key]))
            if key not in styles:
                styles[key] = Style.from_color(Color.from_rgb(*key[:3]), Color.from_rgb(*key[3:]))
            run_key, run = key, 1
        if run_key is not None:
            line.append(("▄" * run, styles[run_key]))
        lines.append(line)
    return lines
