"""The Textual dashboard.

Textual composes the screen at most `TEXTUAL_FPS` times a second (default 60), so a repaint we issue can wait up to
one period before it reaches the terminal. We raise that cap to 120 (unless the user set it): the app's own coalescer
still limits repaints to 30 a second, and this halves the wait between a repaint and the screen.
"""

from __future__ import annotations

import os

os.environ.setdefault("TEXTUAL_FPS", "120")
