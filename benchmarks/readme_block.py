"""Writing a generated table into the README between two markers, or checking that it is up to date.

Every README table of figures comes from a results file through one of the ``*_table.py`` scripts (never typed):
``python benchmarks/X_table.py`` rewrites its block, ``--check`` exits 1 when the README differs (tests run it).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def run(name: str, make_table: Callable[[], str], description: str) -> None:
    """The command line of a table script: rewrite the README block ``<!-- name:start -->``..``end``, or check it."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--check", action="store_true", help="exit 1 if the README's table is out of date")
    args = parser.parse_args()
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    text = README.read_text(encoding="utf-8")
    if start not in text or end not in text:
        sys.exit(f"{README}: markers {start} / {end} not found")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    updated = f"{head}{start}\n{make_table()}\n{end}{tail}"
    if args.check:
        if updated != text:
            sys.exit(f"README.md: the {name} block differs from its results file; run python "
                     f"benchmarks/{Path(sys.argv[0]).name}")
        return
    README.write_text(updated, encoding="utf-8")
