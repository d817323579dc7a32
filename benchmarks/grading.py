"""Wall time and peak memory to autograde one submission, per assignment.

Usage: python benchmarks/grading.py [ASSIGNMENT ...] [--runs N] [--isolation bwrap|none]
       python benchmarks/grading.py --compare-isolation | --compare-hints

For each assignment it autogrades the reference solution as a one-student
class (the same path as `course grade`: the sandbox, nbgrader start-up, kernel
start, every cell, the trusted judge) and prints a table, then where the time
goes in the last run: nbgrader and kernel start-up versus each cell. The
"incl. class set-up" column adds the class gradebook and the trusted
references of the run.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

from course import demo, grading, inprocess, intake, spec
from course.benchmarking import cell_label, cell_seconds, table


def grade_once(assignment: str, workdir: Path, hints: bool = True, student: str = "reference",
               isolation: str = "bwrap"):
    if student == "reference":
        notebook = inprocess.submission(assignment, inprocess.reference_answers(assignment))
    else:  # the demo's partly wrong student: failing checks, so hints are looked up
        notebook = inprocess.submission(assignment, mutants=demo.partly_wrong_mutants(assignment))
    submissions = {"reference": {assignment: notebook}}
    root = workdir / f"{assignment}-{time.monotonic_ns()}"
    started = time.perf_counter()
    results = grading.grade_class(root, intake.handed_in(submissions), feedback=False, hints=hints, isolation=isolation,
                                  log=lambda line: None)
    wall = time.perf_counter() - started
    result = results[0]
    notebook = next((root / "autograded" / "reference" / assignment).glob("*.ipynb"))
    cells = [c for c in json.loads(notebook.read_text())["cells"] if c["cell_type"] == "code"]
    return wall, result, cells


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--compare-hints", action="store_true",
                        help="time grading with known-mistake hints off and on, alternating, and print the ratio")
    parser.add_argument("--compare-isolation", action="store_true",
                        help="time grading in the bubblewrap sandbox and without isolation, alternating")
    parser.add_argument("--isolation", default="bwrap", choices=["bwrap", "none"])
    args = parser.parse_args()
    assignments = [spec.resolve(a) for a in args.assignments] or spec.ids()
    if args.compare_hints:
        return compare_hints(assignments, args.runs)
    if args.compare_isolation:
        return compare_isolation(assignments, args.runs)
    rows, breakdowns = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for assignment in assignments:
            walls, autograde_walls, last = [], [], None
            for _ in range(args.runs):
                wall, result, cells = grade_once(assignment, Path(tmp), isolation=args.isolation)
                walls.append(wall)
                autograde_walls.append(result.seconds)
                last = (result, cells)
            result, cells = last
            peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
            rows.append([assignment, args.isolation, f"{statistics.median(autograde_walls):.1f}",
                         f"{min(autograde_walls):.1f}-{max(autograde_walls):.1f}",
                         f"{statistics.median(walls):.1f}", f"{peak_mb:.0f}", f"{result.score:g}/{result.max_score:g}"])
            breakdowns[assignment] = (statistics.median(autograde_walls), cells)
    print(table(["assignment", "isolation", "one submission s (median)", "range", "incl. class set-up s",
                 "peak RSS MB", "score"], rows))
    for assignment, (wall, cells) in breakdowns.items():
        timed = [(cell_label(c), cell_seconds(c)) for c in cells]
        in_cells = sum(t for _, t in timed if t)
        print(f"\nwhere the time goes, {assignment} (one run):")
        slow = sorted(((label, t) for label, t in timed if t), key=lambda item: -item[1])[:8]
        print(table(["part", "seconds"],
                    [["nbgrader start-up + kernel start + saving", f"{max(wall - in_cells, 0):.1f}"]]
                    + [[label, f"{t:.2f}"] for label, t in slow]
                    + [["all cells", f"{in_cells:.1f}"]]))
    return 0


def compare_hints(assignments: list[str], runs: int) -> int:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for assignment in assignments:
            for student in ("reference", "partly_wrong"):
                off, on = [], []
                for _ in range(runs):  # alternate so drift hits both sides alike
                    off.append(grade_once(assignment, Path(tmp), hints=False, student=student)[1].seconds)
                    on.append(grade_once(assignment, Path(tmp), hints=True, student=student)[1].seconds)
                ratios = [b / a for a, b in zip(off, on)]
                rows.append([assignment, student, f"{statistics.median(off):.2f}", f"{statistics.median(on):.2f}",
                             f"{statistics.median(ratios):.3f}"])
    print(table(["assignment", "submission", "hints off s", "hints on s", "on/off (median of pairs)"], rows))
    return 0


def compare_isolation(assignments: list[str], runs: int) -> int:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for assignment in assignments:
            none, bwrap = [], []
            for _ in range(runs):  # alternate so drift hits both sides alike
                none.append(grade_once(assignment, Path(tmp), isolation="none")[1].seconds)
                bwrap.append(grade_once(assignment, Path(tmp), isolation="bwrap")[1].seconds)
            ratios = [b / a for a, b in zip(none, bwrap)]
            rows.append([assignment, f"{statistics.median(none):.1f}", f"{statistics.median(bwrap):.1f}",
                         f"{statistics.median(ratios):.3f}"])
    print(table(["assignment", "no isolation s", "bubblewrap s", "bwrap/none (median of pairs)"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
