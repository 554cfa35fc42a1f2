"""Decode image bytes and turn them into half-block `Pixels` sized for a box of cells (run in a thread)."""

from __future__ import annotations

import io

from PIL import Image
from rich_pixels import Pixels


def fit(width: int, height: int, cols: int, rows: int) -> tuple[int, int]:
    """The largest (cols, pixel rows) that keeps the aspect ratio inside `cols` × `rows` cells (2 px per cell)."""
    if width <= 0 or height <= 0 or cols <= 0 or rows <= 0:
        return (0, 0)
    scale = min(cols / width, (rows * 2) / height)
    w = max(1, min(cols, round(width * scale)))
    h = max(2, min(rows * 2, round(height * scale)))
    return (w, h - h % 2)


def decode(data: bytes) -> Image.Image:
    """Bytes (JPEG/PNG/WebP) -> an RGB image."""
    with Image.open(io.BytesIO(data)) as img:
        img.draft("RGB", (512, 512))  # JPEG: decode at reduced scale when large
        return img.convert("RGB")


def to_pixels(image: Image.Image, cols: int, rows: int) -> Pixels | None:
    """Scale `image` into the box and render half-blocks; None if the box is empty."""
    w, h = fit(image.width, image.height, cols, rows)
    if w <= 0 or h <= 0:
        return None
    small = image.resize((w, h), Image.Resampling.BILINEAR)
    return Pixels.from_image(small)
