"""Run the benchmark an assignment owns (course/bench/<name>.py), or list them.

Usage: python benchmarks/assignment.py ASSIGNMENT [ARGS ...]
       python benchmarks/assignment.py --list

ASSIGNMENT is an id, number or short name (``03``, ``car_detection``); the
remaining arguments go to that benchmark (``--help`` shows its own).
"""

from __future__ import annotations

import sys

from course import bench


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("--list", "-h", "--help"):
        print(__doc__)
        for module in bench.benchmarks():
            print(f"  {module.ASSIGNMENT:<22} {module.__doc__.strip().splitlines()[0]}")
        return 0
    try:
        module = bench.benchmark_for(argv[0])
    except KeyError as error:
        print(error.args[0], file=sys.stderr)
        return 2
    return module.main(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
