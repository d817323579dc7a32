"""Compile each assignment's spec into the references its notebook checks read.

``course references`` runs every probe of the spec on the reference solution
(the answer cells of ``solutions/<id>/<notebook>``) and on every known mistake,
and writes ``datasets/references/<id>.{public,hidden}.{json,npz}`` (see
:mod:`utils.checking.store` for the layout). A probe with an ``expected``
value in the spec (a published or hand-worked number) must be reproduced by
the reference solution, or compilation stops.
"""

from __future__ import annotations

import io
import json

import numpy as np

from course import paths
from course.inprocess import solution_namespace
from course.spec import Assignment
from utils.checking import compare, store
from utils.checking.grader import error_text
from utils.checking.store import resolve_runner


def run(probe, fn):
    """The probe's result for ``fn`` (the reference, or a known mistake)."""
    return resolve_runner(probe.run)(fn, **probe.args)


def compute(spec: Assignment) -> dict[str, tuple[dict, dict]]:
    """``{part: (json document, arrays)}`` for the public and hidden parts of ``spec``."""
    reference = solution_namespace(spec)
    results = {}
    for cell, probe in spec.probes():
        value = run(probe, reference[cell.function])
        if probe.expected is not None:
            problem = probe.compare.difference(value, probe.expected)
            if problem:
                raise ValueError(f"{spec.id}: the reference solution does not reproduce the expected value of "
                                 f"{probe.key} given in the spec: {problem}")
        results[probe.key] = {"value": value, "mistakes": {}}
    for mistake in spec.mistakes:
        namespace = solution_namespace(spec, mistake)
        for cell, probe in spec.probes():
            try:
                value = run(probe, namespace[cell.function])
            except Exception as error:  # the mistake makes the probe raise: its error text is the fingerprint
                results[probe.key]["mistakes"][mistake.name] = {"hint": mistake.hint, "error": error_text(error)}
                continue
            if probe.compare.difference(value, results[probe.key]["value"]) is not None:
                results[probe.key]["mistakes"][mistake.name] = {"hint": mistake.hint, "value": value}
    return {part: _document(spec, results, part) for part in store.PARTS}


def _document(spec: Assignment, results: dict, part: str) -> tuple[dict, dict]:
    arrays: dict = {}
    probes = []
    for cell, probe in spec.probes():
        if probe.hidden != (part == "hidden"):
            continue
        found = results[probe.key]
        mistakes = {}
        for name, mistake in found["mistakes"].items():
            stored = {"hint": mistake["hint"]}
            if "error" in mistake:
                stored["error"] = mistake["error"]
            else:
                stored["value"] = compare.encode(mistake["value"], f"{probe.key}@{name}", arrays, probe.compare)
            mistakes[name] = stored
        entry = {"key": probe.key, "cell": cell.grade_id, "function": cell.function, "what": probe.what,
                 "run": probe.run, "args": probe.args, "compare": probe.compare.to_json(),
                 "expected": compare.encode(found["value"], probe.key, arrays, probe.compare), "mistakes": mistakes}
        if probe.advice:
            entry["advice"] = probe.advice
        probes.append(entry)
    cells_info = {c.grade_id: {"function": c.function, "passed": c.passed} for c in spec.tests}
    return {"assignment": spec.id, "part": part, "generator": "course references", "cells": cells_info,
            "probes": probes}, arrays


def generate(spec: Assignment) -> list:
    """Recompute and write the compiled references of ``spec``. Returns the written paths."""
    written = []
    paths.references_dir().mkdir(parents=True, exist_ok=True)
    for part, (document, arrays) in compute(spec).items():
        json_name, npz_name = store.file_names(spec.id, part)
        json_path, npz_path = paths.data_dir() / json_name, paths.data_dir() / npz_name
        json_path.write_text(json.dumps(document, indent=1) + "\n")  # keys in the order the probes give them
        write_npz(npz_path, arrays)
        written += [json_path, npz_path]
    store.load.cache_clear()
    return written


def write_npz(path, arrays: dict) -> None:
    """A byte-for-byte reproducible .npz (fixed zip timestamps, sorted keys)."""
    import zipfile

    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for key in sorted(arrays):
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(arrays[key]), allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, buffer.getvalue())


def stale(spec: Assignment, fraction: float = 0.5) -> list[str]:
    """How the stored references differ from what the spec and the solution give now (empty: current).

    Values compare within ``fraction`` of each probe's own tolerance, so a
    reference computed on another CPU model (whose last digits differ, see
    docs/tolerances.md) still counts as current, while a changed solution or
    probe does not.
    """
    problems = []
    for part, (document, arrays) in compute(spec).items():
        stored = store.load(spec.id, part)
        if document["cells"] != stored["cells"]:
            problems.append(f"{part}: test cells changed")
        stored_probes = {p["key"]: p for p in stored["probes"]}
        if [p["key"] for p in document["probes"]] != list(stored_probes):
            fresh_keys = [p["key"] for p in document["probes"]]
            problems.append(f"{part}: probes changed: {fresh_keys} != {list(stored_probes)}")
            continue
        for fresh in document["probes"]:
            old = stored_probes[fresh["key"]]
            key, kind = fresh["key"], compare.from_json(fresh["compare"])
            tight = kind.scaled(fraction)
            for field in ("cell", "function", "what", "run", "args", "advice"):
                if fresh.get(field) != old.get(field):
                    problems.append(f"{key}: {field} changed")
            if kind != old["compare"]:
                problems.append(f"{key}: comparison changed")
            found = tight.difference(compare.decode(fresh["expected"], arrays), old["expected"])
            if found:
                problems.append(f"{key}: expected value moved by more than {fraction:g} of its tolerance: {found}")
            if set(fresh["mistakes"]) != set(old["mistakes"]):
                problems.append(f"{key}: the known mistakes that change it are now {sorted(fresh['mistakes'])}, "
                                f"stored {sorted(old['mistakes'])}")
                continue
            for name, mistake in fresh["mistakes"].items():
                was = old["mistakes"][name]
                if mistake["hint"] != was["hint"] or mistake.get("error") != was.get("error"):
                    problems.append(f"{key}@{name}: hint or error text changed")
                elif "value" in mistake and tight.difference(compare.decode(mistake["value"], arrays), was["value"]):
                    problems.append(f"{key}@{name}: fingerprint moved by more than {fraction:g} of its tolerance")
    return problems


def reference_values(spec: Assignment, args: dict | None = None) -> dict:
    """``{probe key: value}`` of the reference solution (no known mistakes), each probe run on
    ``args[probe key]`` when given (a grading run's fresh seeds), else on the spec's arguments."""
    reference = solution_namespace(spec)
    chosen = args or {}
    return {probe.key: resolve_runner(probe.run)(reference[cell.function], **chosen.get(probe.key, probe.args))
            for cell, probe in spec.probes()}
