"""What the student's code produces, recorded for the grader outside the kernel.

When ``course grade`` runs a notebook in its sandbox it sets two variables:
``COURSE_PLAN``, a JSON file naming, for every probe of every test cell, the
runner and the arguments to use (seeds drawn for this submission), and
``COURSE_OBSERVATIONS``, a folder this module writes to. Each ``grade(...)``
call then records, per probe of its cell:

* for a probe that measures a Keras model (a runner made with
  :func:`utils.checking.models.model_probe`): the model's Keras configuration
  (``model.to_json()``); the grader rebuilds and measures it itself;
* for any other probe: the runner's result on the plan's arguments.

None of this decides points: the grader outside compares the observations
with references the kernel cannot read. Code that tampers with this module can only make its own
observations wrong. Outside grading, nothing here does anything.
"""

from __future__ import annotations

import io
import json
import os
import re
from functools import lru_cache
from pathlib import Path

import numpy as np

from utils.checking.store import resolve_runner

PLAN_ENV = "COURSE_PLAN"
OUT_ENV = "COURSE_OBSERVATIONS"


def active() -> bool:
    return bool(os.environ.get(PLAN_ENV) and os.environ.get(OUT_ENV))


@lru_cache(maxsize=1)
def plan() -> dict:
    return json.loads(Path(os.environ[PLAN_ENV]).read_text())


def file_stem(key: str) -> str:
    """A file name for a probe key (``happyModel/forward`` -> ``happyModel__forward``)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", key.replace("/", "__"))


def encode(value, arrays: dict, name: str = "v"):
    """JSON for ``value``; arrays and tensors go to ``arrays`` as ``{"$array": name}``."""
    if hasattr(value, "numpy") and callable(value.numpy):
        value = value.numpy()
    if isinstance(value, np.ndarray):
        arrays[name] = value
        return {"$array": name}
    if isinstance(value, (tuple, list)):
        return [encode(v, arrays, f"{name}.{i}") for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {str(k): encode(v, arrays, f"{name}.{k}") for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    return value


def _write(stem: str, document: dict, arrays: dict) -> None:
    folder = Path(os.environ[OUT_ENV])
    folder.mkdir(parents=True, exist_ok=True)
    if arrays:
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        (folder / f"{stem}.npz").write_bytes(buffer.getvalue())
    (folder / f"{stem}.json").write_text(json.dumps(document))


def observe_probe(probe: dict, fn) -> None:
    """Run one planned probe on ``fn`` and write what came out (or the error it raised)."""
    arrays: dict = {}
    try:
        runner = resolve_runner(probe["run"])
        if probe["mode"] == "model":
            document = {"key": probe["key"], "model": runner.build(fn, **probe["args"]).to_json()}
        else:
            document = {"key": probe["key"], "value": encode(runner(fn, **probe["args"]), arrays)}
    except Exception as error:  # the student's code failed: that is the observation
        document, arrays = {"key": probe["key"], "error": f"{type(error).__name__}: {error}"[:2000]}, {}
    _write(file_stem(probe["key"]), document, arrays)


def record(assignment: str, cell: str, fn, hidden: bool) -> None:
    """Record every planned probe of ``cell`` (its hidden probes with ``hidden=True``)."""
    current = plan()
    if current.get("assignment") != assignment:
        return
    for probe in current["probes"]:
        if probe["cell"] == cell and probe["hidden"] == hidden:
            observe_probe(probe, fn)
