"""Screens of the dashboard (the editor screens live in `editor*.py`, owned separately)."""
