"""Raw-pixel baseline of every dataset a quality bar names: how far a linear classifier on the pixels gets.

Usage: python benchmarks/baseline.py [ASSIGNMENT ...]

Each distinct loader of the specs' quality bars (``QualityBar.loader``) is
fitted once with softmax regression on the raw pixels (``course.baselines``:
L2 picked by cross validation on the training set, then refit) and reported
with the most any bar using it allows (``baseline_max``). Exits 1 when a
baseline exceeds its cap.
"""

from __future__ import annotations

import argparse
import sys
import time

from course import spec
from course.baselines import CV_FOLDS, L2_GRID, loader_baseline, quality_loaders
from course.benchmarking import table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*", help="default: every assignment")
    args = parser.parse_args()
    assignments = [spec.resolve(a) for a in args.assignments] or spec.ids()
    rows, failures = [], 0
    for loader, bars in quality_loaders(assignments).items():
        start = time.perf_counter()
        report = loader_baseline(loader)
        caps = [bar.baseline_max for _, bar in bars if bar.baseline_max is not None]
        cap = min(caps) if caps else None
        ok = cap is None or report["test"] <= cap
        failures += not ok
        rows.append([loader, report["classes"], f"{report['l2']:g}",
                     " ".join(f"{v:.3f}" for v in report["cv"].values()),
                     " ".join(f"{v:.3f}" for v in report["test_per_l2"].values()),
                     f"{report['train']:.3f}", f"{report['test']:.3f}",
                     "-" if cap is None else f"<= {cap:.2f}" + ("" if ok else " EXCEEDED"),
                     f"{time.perf_counter() - start:.1f}"])
    grid = ", ".join(f"{l2:g}" for l2 in L2_GRID)
    print(f"Raw-pixel softmax regression; L2 in ({grid}) picked by {CV_FOLDS}-fold CV on train")
    print(table(["loader", "classes", "l2", "cv accuracy per l2", "test accuracy per l2", "train", "test",
                 "cap", "seconds"], rows))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
