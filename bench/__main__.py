"""Run every benchmark module and print the table (markdown)."""

from __future__ import annotations

import importlib
import pkgutil
import sys
import traceback
from pathlib import Path

from bench import Row


def main(argv: list[str]) -> int:
    wanted = set(argv)
    here = Path(__file__).parent
    rows: list[tuple[str, Row]] = []
    failed = 0
    for info in sorted(pkgutil.iter_modules([str(here)]), key=lambda m: m.name):
        if not info.name.startswith("bench_") or (wanted and info.name not in wanted):
            continue
        print(f"running {info.name} ...", file=sys.stderr, flush=True)
        try:
            module = importlib.import_module(f"bench.{info.name}")
            rows.extend((info.name, row) for row in module.run())
        except Exception:
            failed += 1
            traceback.print_exc()
    print("| benchmark | measured | compared with / target |")
    print("|---|---|---|")
    for _module, row in rows:
        print(f"| {row.name} | {row.measured} | {row.compare} |")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
