"""Train every assignment's models in full mode and print their test accuracies.

Usage: python benchmarks/quality.py [ASSIGNMENT ...]

It runs each solution notebook top to bottom exactly as a self-study reader
would (full training schedules, not grading mode), then reads the
"test accuracy" lines the notebook prints. Reported: each accuracy against its
bar (the quality bars of the assignment's spec), the raw-pixel linear baseline
on the same data (what a model without convolutions reaches; a bar caps it
where the spec says so), the whole notebook's wall time (against the spec's
``notebook_seconds`` where it sets one) and its slowest cells.
Exits 1 when a bar is missed or an accuracy line is missing.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import sys
import time

import nbformat
from nbclient import NotebookClient

from course import cells, spec
from course.baselines import loader_baseline
from course.benchmarking import cell_label, cell_seconds, table

ACCURACY_LINE = re.compile(r"test accuracy[^:]*: ([0-9.]+)")


def run_notebook(assignment: str, timeout: int):
    path = cells.solution_notebook(spec.load(assignment))
    notebook = nbformat.read(path, as_version=4)
    env_before = {k: os.environ.pop(k, None) for k in ("NBGRADER_EXECUTION", "COURSE_FAST")}
    os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    started = time.perf_counter()
    client.execute()
    wall = time.perf_counter() - started
    for key, value in env_before.items():
        if value is not None:
            os.environ[key] = value
    return notebook, wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*")
    parser.add_argument("--timeout", type=int, default=900, help="seconds per cell")
    args = parser.parse_args()
    rows, failures = [], 0
    baselines: dict[str, float] = {}
    for assignment in [spec.resolve(a) for a in args.assignments] or spec.ids():
        notebook, wall = run_notebook(assignment, args.timeout)
        text_by_cell = []
        for cell in notebook.cells:
            if cell.cell_type != "code":
                continue
            text = "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")
            text_by_cell.append((cell, text))
        found = [float(m.group(1)) for _, text in text_by_cell for m in ACCURACY_LINE.finditer(text)]
        bars = spec.load(assignment).quality
        if len(found) < len(bars):
            failures += 1
            rows.append([assignment, "(notebook output)", f"{len(found)} accuracy lines", f"{len(bars)} expected",
                         "MISSING", "-", "-"])
        for bar, accuracy in zip(bars, found):
            ok = accuracy >= bar.minimum
            baseline_text, baseline_bar = "-", "-"
            if bar.loader:
                if bar.loader not in baselines:
                    baselines[bar.loader] = loader_baseline(bar.loader)["test"]
                baseline_text = f"{baselines[bar.loader]:.3f}"
                if bar.baseline_max is not None:
                    baseline_bar = f"<= {bar.baseline_max:.2f}"
                    ok = ok and baselines[bar.loader] <= bar.baseline_max
            failures += not ok
            rows.append([assignment, bar.model, f"{accuracy:.3f}", f">= {bar.minimum:.2f}", baseline_text,
                         baseline_bar, "ok" if ok else "BELOW BAR"])
        limit = spec.load(assignment).notebook_seconds
        if limit is not None:
            ok = wall <= limit
            failures += not ok
            rows.append([assignment, "(whole notebook)", f"{wall:.0f} s", f"<= {limit} s", "-", "-",
                         "ok" if ok else "TOO SLOW"])
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        timed = sorted(((cell_label(c), cell_seconds(c) or 0.0) for c, _ in text_by_cell), key=lambda x: -x[1])
        print(f"{assignment}: whole notebook {wall:.0f} s, peak kernel RSS {peak_mb:.0f} MB; slowest cells:")
        print(table(["cell", "seconds"], [[label, f"{t:.1f}"] for label, t in timed[:5]]))
        print()
    print(table(["assignment", "model", "test accuracy", "bar", "raw-pixel baseline", "baseline bar", "verdict"],
                rows))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
