"""Benchmarks that print numbers. `python -m bench` runs every `bench/bench_*.py` and prints one table."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the table: what was measured, the number, and what it is compared with."""

    name: str
    measured: str
    compare: str = ""
