"""The protocol, state and store layers never pull in Textual (they serve headless commands too)."""

from __future__ import annotations

import subprocess
import sys

import pytest

PURE_PACKAGES = ("comfytui.client", "comfytui.core", "comfytui.store")


@pytest.mark.parametrize("package", PURE_PACKAGES)
def test_package_does_not_import_textual(package: str) -> None:
    code = (
        "import importlib, pkgutil, sys\n"
        f"pkg = importlib.import_module({package!r})\n"
        "for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "    importlib.import_module(m.name)\n"
        "bad = sorted(n for n in sys.modules if n == 'textual' or n.startswith('textual.'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"{package} imports {out.stdout.strip()}"
