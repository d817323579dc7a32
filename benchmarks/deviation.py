"""How far apart do different CPU kernels put the reference outputs? (Sets the tolerances.)

Usage: python benchmarks/deviation.py [ASSIGNMENT ...]

Each probe of each assignment is recomputed from the solution notebook in two
fresh processes, with TensorFlow's oneDNN kernels on and off (two different
convolution/matmul implementations and summation orders), and compared with
the stored references. The table shows the largest absolute and relative
deviation against the probe's tolerance; "margin" is how many times the
deviation fits into the tolerance (atol + rtol*|expected|) at its worst element.
On a machine with a GPU the same script can be run with the GPU visible to add
that column (see docs/gpu.md).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import table  # noqa: E402

from utils import grading, references  # noqa: E402

WORKER = """
import sys, numpy as np
from utils.notebook import setup
setup(verbose=False)
from course import references
meta, arrays = references.compute(sys.argv[1])
np.savez(sys.argv[2], **{k.replace('/', '|'): v for k, v in arrays.items() if '@' not in k})
"""


def compute_with(assignment: str, onednn: str, out: Path) -> dict:
    env = dict(os.environ, TF_ENABLE_ONEDNN_OPTS=onednn, CUDA_VISIBLE_DEVICES=os.environ.get("CUDA_VISIBLE_DEVICES", ""))
    subprocess.run([sys.executable, "-c", WORKER, assignment, str(out)], check=True, env=env)
    with np.load(out) as store:
        return {k.replace("|", "/"): store[k] for k in store.files}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for assignment in args.assignments or grading.assignment_ids():
            _, stored = references.load(assignment)
            runs = {flag: compute_with(assignment, flag, Path(tmp) / f"{assignment}-{flag}.npz") for flag in ("1", "0")}
            for key in sorted(k for k in stored if "@" not in k):
                spec = references.probe(assignment, key)
                want = stored[key].astype(np.float64)
                allowed = spec.tol["atol"] + spec.tol["rtol"] * np.abs(want)
                for flag, label in (("1", "oneDNN on"), ("0", "oneDNN off")):
                    got = runs[flag][key].astype(np.float64)
                    diff = np.abs(got - want)
                    rel = diff / np.maximum(np.abs(want), 1e-12)
                    margin = np.min(allowed / np.maximum(diff, 1e-30))
                    rows.append([assignment, key, label, f"{diff.max():.2e}", f"{rel.max():.2e}",
                                 f"{spec.tol['atol']:g}+{spec.tol['rtol']:g}*|x|",
                                 "exact" if diff.max() == 0 else f"{margin:.0f}x"])
    print(table(["assignment", "probe", "kernels", "max abs dev", "max rel dev", "tolerance", "margin"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
