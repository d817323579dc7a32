"""Peak memory, CPU and time of the trusted judge of one honest submission, per assignment.

Usage: python benchmarks/judge.py [ASSIGNMENT ...] [--runs N]

Grades the reference solution as a one-student class (the same path as
`course grade`) and reads how the judge child of that submission ended: its
peak resident memory and CPU time (from the kernel's accounting of the child),
the time it took to answer once the sandbox had ended, and its whole life
(started with the sandbox: importing TensorFlow and computing the references
on the fresh seeds happen meanwhile). The last columns set each measured
figure against the default cap (course/judge.py).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from course import grading, inprocess, intake, judge, spec
from course.benchmarking import table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    assignments = [spec.resolve(a) for a in args.assignments] or spec.ids()
    limits = judge.JudgeLimits()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for assignment in assignments:
            peaks, cpus, answers, lives = [], [], [], []
            for _ in range(args.runs):
                notebook = inprocess.submission(assignment, inprocess.reference_answers(assignment))
                root = Path(tmp) / f"{assignment}-{time.monotonic_ns()}"
                result = grading.grade_class(root, intake.handed_in({"reference": {assignment: notebook}}),
                                             feedback=False,
                                             log=lambda line: None)[0]
                assert result.score == result.max_score, (assignment, result.reason)
                usage = result.judge
                peaks.append(usage["peak_mb"])
                cpus.append(usage["cpu_s"])
                answers.append(usage["answer_s"])
                lives.append(usage["life_s"])
            peak, cpu = statistics.median(peaks), statistics.median(cpus)
            rows.append([assignment, f"{peak:.0f}", f"{cpu:.1f}", f"{statistics.median(answers):.2f}",
                         f"{statistics.median(lives):.1f}", f"{limits.memory_mb / peak:.1f}x",
                         f"{limits.cpu_s / cpu:.0f}x"])
    print(table(["assignment", "judge peak RSS MB", "judge CPU s", "answer after sandbox s", "judge life s",
                 f"memory cap {limits.memory_mb} MB", f"CPU cap {limits.cpu_s} s"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
