"""The compiled references a notebook's checks read: probes, expected values, known mistakes.

``course references`` compiles each assignment's spec into two pairs of files
under ``datasets/references/``: ``<assignment>.public.json/.npz`` (the probes
of the visible test lines) and ``<assignment>.hidden.json/.npz`` (the probes
of the hidden tests). Each JSON file holds, per test cell, the function it
tests and the line printed when it passes, and per probe: the cell, what it
checks, the runner and its arguments, the comparison, the expected value and
what each known mistake produces on it (with the mistake's hint). Arrays live
in the ``.npz`` beside it. Both are hash-checked against the manifest.
"""

from __future__ import annotations

import importlib
import json
from functools import lru_cache

import numpy as np

from utils.checking import compare
from utils.data import REGENERATE_HINT, DatasetError, verified_path

PARTS = ("public", "hidden")


def resolve_runner(name: str):
    """The probe runner ``"utils.module:function"``; only the course runtime's own functions run."""
    module, _, function = name.partition(":")
    if not module.startswith("utils."):
        raise ValueError(f"probe runner {name!r} is not a function of the course runtime")
    return getattr(importlib.import_module(module), function)


def file_names(assignment: str, part: str) -> tuple[str, str]:
    """The data-relative names of one part's JSON and NPZ files."""
    return f"references/{assignment}.{part}.json", f"references/{assignment}.{part}.npz"


@lru_cache(maxsize=None)
def load(assignment: str, part: str) -> dict:
    """``{"cells": {grade_id: {...}}, "probes": [probe, ...]}`` with comparisons and values decoded."""
    json_name, npz_name = file_names(assignment, part)
    try:
        raw = json.loads(verified_path(json_name).read_text())
        with np.load(verified_path(npz_name)) as store:
            arrays = {k: store[k] for k in store.files}
    except (OSError, ValueError) as error:
        raise DatasetError(f"Could not read the reference outputs of {assignment}: {error}. "
                           f"{REGENERATE_HINT}") from error
    probes = []
    for probe in raw["probes"]:
        probe = dict(probe)
        probe["compare"] = compare.from_json(probe["compare"])
        probe["expected"] = compare.decode(probe["expected"], arrays)
        probe["mistakes"] = {name: compare.decode(m, arrays) for name, m in probe.get("mistakes", {}).items()}
        probes.append(probe)
    return {"cells": raw["cells"], "probes": probes}
