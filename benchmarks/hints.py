"""Does every known mistake get its own hint? Prints mutant, cell, hint given.

Usage: python benchmarks/hints.py [ASSIGNMENT ...]

Each mutant of each assignment is run in-process against the notebook's tests
(hidden tests included); for every cell it loses, the table says whether the
failure message carries that mutant's specific hint. The last line gives the
coverage; the exit status is 1 below 100 %.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import table  # noqa: E402

from utils import grading, registry  # noqa: E402
from utils.notebook import setup  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*")
    args = parser.parse_args()
    setup(verbose=False)
    rows, given, total = [], 0, 0
    for assignment in args.assignments or grading.assignment_ids():
        for mutant in registry.mutants(assignment):
            results = grading.run_in_process(grading.submission(assignment, mutants=[mutant]), assignment)
            for cell in sorted(mutant.lost):
                has_hint = f"Hint: {mutant.hint}" in results[cell].message
                given += has_hint
                total += 1
                shown = mutant.hint if has_hint else "NO SPECIFIC HINT: " + results[cell].message.splitlines()[-1]
                rows.append([assignment, mutant.name, cell, shown[:90]])
    print(table(["assignment", "mutant", "cell", "hint given"], rows))
    print(f"\n{given}/{total} failing cells carry their mutant's specific hint ({100 * given / max(total, 1):.0f} %)")
    return 0 if given == total else 1


if __name__ == "__main__":
    sys.exit(main())
