"""Is every probe's tolerance wide enough for any CPU, and narrow enough to catch every known mistake?

Usage: python benchmarks/tolerances.py [ASSIGNMENT ...]

The reference solution's probes are recomputed in fresh processes under
different kernels, each compared with the stored references:

* ``oneDNN off``  -- TensorFlow's Eigen kernels instead of oneDNN (other
  convolution and matmul code, other summation orders);
* ``1 thread``    -- intra- and inter-op parallelism 1 (other reduction splits);
* ``XLA``         -- every Keras model call jit-compiled with XLA (fused kernels);
* ``float64``     -- Keras' float type set to float64: the same computation with
  rounding errors ~1e-16, so its distance to the float32 reference is the
  reference's own rounding error.

The default process (oneDNN on, all threads) is the ``baseline`` row. Per
probe the table gives the largest deviation over the variants, the tolerance,
``headroom`` = tolerance / deviation at the worst element (how many times the
spread fits into the tolerance) and ``separation`` = how many tolerances the
closest known mistake lies from the reference at its most different element.
Exact kinds (shapes, counts, layer summaries) must be identical in every
variant. Each comparison kind measures its own deviation
(``utils.checking.compare``: ``Comparison.deviation``); detections compared as a
set (``Boxes``) use the worst matched pair, and a missing or extra box counts as
infinitely far (a known mistake that changes the set has separation inf). The
bars: headroom >= 10 and separation >= 10.
"""

from __future__ import annotations

import argparse
import os
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path

from course import spec as specs
from course.benchmarking import table
from utils.checking import store

WORKER = r"""
import os, pickle, sys
import numpy as np
variant, assignment, out = sys.argv[1:4]
if variant == "1 thread":
    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
from utils.notebook import setup
setup(verbose=False)
import keras
import tensorflow as tf
jitted = [0]
if variant == "XLA":
    plain_call = keras.Model.__call__
    def xla_call(self, x, *args, training=False, **kwargs):
        if isinstance(x, np.ndarray) and not args and not kwargs:
            jitted[0] += 1
            return tf.function(lambda t: plain_call(self, t, training=training), jit_compile=True)(tf.constant(x))
        return plain_call(self, x, *args, training=training, **kwargs)
    keras.Model.__call__ = xla_call
if variant == "float64":
    keras.config.set_floatx("float64")
from course import references, spec
values = references.reference_values(spec.load(assignment))
with open(out, "wb") as handle:
    pickle.dump({"values": values, "jitted": jitted[0]}, handle)
"""

VARIANTS = {
    "baseline": {},
    "oneDNN off": {"TF_ENABLE_ONEDNN_OPTS": "0"},
    "1 thread": {},
    "XLA": {},
    "float64": {},
}
BARS = {"headroom": 10.0, "separation": 10.0}


def recompute(assignment: str, variant: str, folder: Path) -> dict:
    out = folder / f"{assignment}-{variant.replace(' ', '_')}.pkl"
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="", **VARIANTS[variant])
    subprocess.run([sys.executable, "-c", WORKER, variant, assignment, str(out)], check=True, env=env)
    with open(out, "rb") as handle:
        return pickle.load(handle)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*")
    args = parser.parse_args()
    rows, below = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for assignment in [specs.resolve(a) for a in args.assignments] or specs.ids():
            runs = {variant: recompute(assignment, variant, Path(tmp)) for variant in VARIANTS}
            stored = {p["key"]: p for part in store.PARTS for p in store.load(assignment, part)["probes"]}
            for key, probe in stored.items():
                kind, expected = probe["compare"], probe["expected"]
                if kind.exact:
                    same = all(kind.difference(run["values"][key], expected) is None for run in runs.values())
                    rows.append([assignment, key, kind.kind, "identical" if same else "DIFFERS", "exact",
                                 "-", "-", "-"])
                    below += [] if same else [key]
                    continue
                deviations = {v: kind.deviation(run["values"][key], expected) for v, run in runs.items()}
                worst_variant = max(deviations, key=deviations.get)
                used = deviations[worst_variant]
                absolute = max(kind.absolute_deviation(run["values"][key], expected) for run in runs.values())
                headroom = 1.0 / used if used > 0 else float("inf")
                mistakes = [kind.deviation(m["value"], expected) for m in probe["mistakes"].values() if "value" in m]
                separation = min(mistakes, default=float("inf"))
                rows.append([assignment, key, kind.tolerance_text(), f"{absolute:.1e}", worst_variant,
                             "inf" if headroom == float("inf") else f"{headroom:.0f}",
                             "inf" if separation == float("inf") else f"{separation:.0f}", len(mistakes)])
                if headroom < BARS["headroom"] or separation < BARS["separation"]:
                    below.append(key)
            jitted = runs["XLA"]["jitted"]
            print(f"{assignment}: XLA variant jit-compiled {jitted} model calls "
                  "(blocks called directly on arrays run eagerly in every variant)")
    print(table(["assignment", "probe", "tolerance", "max abs dev", "worst variant", "headroom", "separation",
                 "mistakes"], rows))
    print(f"\nbars: headroom >= {BARS['headroom']:g}, separation >= {BARS['separation']:g}; "
          f"variants: {', '.join(VARIANTS)}")
    if below:
        print("BELOW A BAR: " + ", ".join(below))
    return 1 if below else 0


if __name__ == "__main__":
    sys.exit(main())
