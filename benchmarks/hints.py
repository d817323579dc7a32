"""Does every known mistake get its own hint, spelled either way? Prints mistake, spelling, cell, hint given.

Usage: python benchmarks/hints.py [ASSIGNMENT ...]

Each known mistake of each assignment's spec is run in-process against the
notebook's tests (hidden tests included), once as fingerprinted and once
spelled the other way (its ``variant``); for every cell it loses, the table
says whether the failure message carries that mistake's hint. The last line
gives the coverage; the exit status is 1 below 100 %.
"""

from __future__ import annotations

import argparse
import sys

from course import inprocess, spec
from course.benchmarking import table
from utils.notebook import setup


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*")
    args = parser.parse_args()
    setup(verbose=False)
    rows, given, total = [], 0, 0
    for assignment in [spec.resolve(a) for a in args.assignments] or spec.ids():
        for mistake in spec.load(assignment).mistakes:
            for variant in (False, True):
                notebook = inprocess.submission(assignment, mutants=[mistake], variant=variant)
                results = inprocess.run_in_process(notebook, assignment)
                for cell in sorted(mistake.lost):
                    has_hint = f"Hint: {mistake.hint}" in results[cell].message
                    given += has_hint
                    total += 1
                    shown = mistake.hint if has_hint else "NO HINT: " + results[cell].message.splitlines()[-1]
                    rows.append([assignment, mistake.name, "variant" if variant else "patch", cell, shown[:80]])
    print(table(["assignment", "mistake", "spelling", "cell", "hint given"], rows))
    print(f"\n{given}/{total} failing cells carry their mistake's hint ({100 * given / max(total, 1):.0f} %)")
    return 0 if given == total else 1


if __name__ == "__main__":
    sys.exit(main())
