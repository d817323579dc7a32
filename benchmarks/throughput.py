"""Class-scale grading throughput: time per submission at steady state, scaling with workers, and the
projection for a large class.

Usage: python benchmarks/throughput.py [ASSIGNMENT ...] [--submissions N] [--workers 1 2]
                                       [--scheduler ADDRESS] [--class-size 300]

For each assignment and each worker count it grades a class of N reference
submissions (distinct students) through `course grade`'s own path (the Dask
pool, the sandbox, the trusted judge) and records when each result arrives.
Steady state leaves out the class set-up and the first results: with W
workers, the time between the first and the last result covers N - W
submissions. It prints:

* seconds per submission at steady state, for each worker count, with the bar
  for one worker (01: 6 s, the others: 12 s);
* the throughput of the largest worker count over one worker (bar: 1.7x for 2
  workers on 2 cores);
* the class set-up and wind-down (gradebook, cluster start, feedback);
* the projected wall time of a class of --class-size students x every
  assignment measured, on this machine (the best worker count measured) and
  on a cluster of 10 workers of 16 cores (bar: 15 minutes), from the CPU
  seconds one submission costs here (seconds per submission x cores, at the
  largest worker count, when the cores are saturated).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from course import grading, inprocess, intake, spec
from course.benchmarking import print_checks, table

CLUSTER_NODES, CLUSTER_CORES = 10, 16


def grade_class(assignment: str, students: int, workers: int, workdir: Path, scheduler: str | None = None):
    """``(seconds per submission at steady state, set-up and wind-down seconds, results)``."""
    notebook = inprocess.submission(assignment, inprocess.reference_answers(assignment))
    submissions = intake.handed_in({f"student_{i:03d}": {assignment: notebook} for i in range(students)})
    arrivals = []

    def arrived(line: str) -> None:
        if line.startswith("  student_"):
            arrivals.append(time.perf_counter())

    started = time.perf_counter()
    results = grading.grade_class(workdir / f"{assignment}-{workers}-{time.monotonic_ns()}", submissions,
                                  workers=workers, scheduler=scheduler, log=arrived)
    wall = time.perf_counter() - started
    steady = (arrivals[-1] - arrivals[0]) / max(students - workers, 1)
    return steady, wall - steady * students, results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*")
    parser.add_argument("--submissions", type=int, default=6, help="students per class (default 6)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--scheduler", help="also grade through the Dask cluster at this address")
    parser.add_argument("--class-size", type=int, default=300)
    args = parser.parse_args()
    assignments = [spec.resolve(a) for a in args.assignments] or spec.ids()
    cores = len(os.sched_getaffinity(0))
    rows, steady, checks = [], {}, []
    with tempfile.TemporaryDirectory() as tmp:
        for assignment in assignments:
            for workers in args.workers:
                per, overhead, results = grade_class(assignment, args.submissions, workers, Path(tmp))
                steady[assignment, workers] = per
                full = sum(r.score == r.max_score and r.status == "graded" for r in results)
                rows.append([assignment, workers, f"{per:.1f}", f"{overhead:.0f}",
                             f"{statistics.median(r.seconds for r in results):.1f}", f"{full}/{len(results)}"])
            if args.scheduler:
                per, overhead, results = grade_class(assignment, args.submissions, 0, Path(tmp), args.scheduler)
                rows.append([assignment, "cluster", f"{per:.1f}", f"{overhead:.0f}",
                             f"{statistics.median(r.seconds for r in results):.1f}",
                             f"{sum(r.score == r.max_score for r in results)}/{len(results)}"])
    print(f"{args.submissions} reference submissions per class, {cores} cores")
    print(table(["assignment", "workers", "s per submission (steady)", "set-up + wind-down s",
                 "sandbox s (median)", "full marks"], rows))

    most = max(args.workers)
    if 1 in args.workers:
        for assignment in assignments:
            bar = 6.0 if assignment.startswith("01") else 12.0
            checks.append((f"{assignment}: s per submission, 1 worker", steady[assignment, 1], f"<= {bar:g}",
                           steady[assignment, 1] <= bar))
        if most > 1:
            ratios = [steady[a, 1] / steady[a, most] for a in assignments]
            for assignment, ratio in zip(assignments, ratios):
                checks.append((f"{assignment}: throughput {most} workers / 1", ratio, ">= 1.7", ratio >= 1.7))
    # A 300-student class of every measured assignment.
    best = {a: min(steady[a, w] for w in args.workers) for a in assignments}
    here = args.class_size * sum(best.values())
    cpu_seconds = {a: steady[a, most] * min(most, cores) for a in assignments}
    cluster = args.class_size * sum(cpu_seconds.values()) / (CLUSTER_NODES * CLUSTER_CORES)
    print()
    print(table(["projection", f"{args.class_size} students x {len(assignments)} assignments"],
                [["this machine, best worker count", f"{here / 3600:.1f} h"],
                 [f"{CLUSTER_NODES} workers x {CLUSTER_CORES} cores (Dask)", f"{cluster / 60:.1f} min"],
                 ["CPU seconds per submission (" + ", ".join(f"{a[:2]}: {c:.0f}" for a, c in cpu_seconds.items())
                  + ")", ""]]))
    checks.append((f"{CLUSTER_NODES} x {CLUSTER_CORES}-core cluster, minutes", cluster / 60, "<= 15",
                   cluster / 60 <= 15))
    return print_checks(checks)


if __name__ == "__main__":
    sys.exit(main())
