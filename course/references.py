"""Reference outputs of the solutions, and the checks that compare against them.

A **probe** is a reproducible experiment on one graded function: build the
model, give it seeded weights, run a seeded batch, summarise its layers.
``course references`` runs every probe on the reference solution (taken from
``solutions/<assignment>/*.ipynb``) and on every known mistake
(``course.mutants``), and stores the results in
``datasets/references/<assignment>.npz`` (arrays) and ``.json`` (layer summaries and
hints). Tests run the same probe on the student's function and compare.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable

import numpy as np

from utils import checks, paths
from course import cells as notebooks, registry
from utils.data import DatasetError, REGENERATE_HINT, verified_path


@dataclass(frozen=True)
class Probe:
    """One reproducible measurement of a graded function.

    ``run(fn)`` returns an array (kind ``"array"``, compared with ``tol``) or a
    layer summary (kind ``"summary"``, compared with the structure comparator).
    """

    key: str  # e.g. "happyModel/forward"
    function: str  # the graded function it calls
    what: str  # shown to the student: what was checked
    run: Callable[[Callable], Any]
    kind: str = "array"
    tol: dict = field(default_factory=lambda: dict(checks.TOL_NETWORK))


def probe(assignment: str, key: str) -> Probe:
    for candidate in registry.probes(assignment).PROBES:
        if candidate.key == key:
            return candidate
    raise KeyError(f"{assignment} has no probe {key!r}")


# ---------------------------------------------------------------------------
# Stored references
# ---------------------------------------------------------------------------


def _files(assignment: str):
    return f"references/{assignment}.json", f"references/{assignment}.npz"


@lru_cache(maxsize=None)
def load(assignment: str) -> tuple[dict, dict]:
    """``(meta, arrays)`` of an assignment's stored references, hash-checked."""
    json_name, npz_name = _files(assignment)
    try:
        meta = json.loads(verified_path(json_name).read_text())
        with np.load(verified_path(npz_name)) as store:
            arrays = {k: store[k] for k in store.files}
    except (OSError, ValueError) as error:
        raise DatasetError(f"Could not read the reference outputs of {assignment}: {error}. {REGENERATE_HINT}") from error
    return meta, arrays


def expected(assignment: str, key: str):
    """The reference value of a probe (an array or a layer summary)."""
    meta, arrays = load(assignment)
    entry = meta["probes"][key]
    return arrays[key] if entry["kind"] == "array" else entry["summary"]


def hints_enabled() -> bool:
    """Hints are on unless ``COURSE_HINTS=0`` (e.g. for an exam: `course grade --no-hints`)."""
    return os.environ.get("COURSE_HINTS", "1") != "0"


def fingerprints(assignment: str, key: str):
    """What each known mistake produces on this probe, with its hint.

    A generator: nothing is read or built until a failed check asks for it, so
    hints cost nothing while checks pass.
    """
    if not hints_enabled():
        return
    meta, arrays = load(assignment)
    entry = meta["probes"][key]
    for name, mutant in entry.get("mutants", {}).items():
        if "error" in mutant:
            continue
        value = arrays[f"{key}@{name}"] if entry["kind"] == "array" else mutant["summary"]
        yield checks.Fingerprint(name, value, mutant["hint"])


def known_mistake_hint(assignment: str, key: str, actual) -> str | None:
    """The hint of the known mistake whose output on probe ``key`` matches ``actual``, if any."""
    spec = probe(assignment, key)
    if spec.kind == "array":
        return checks.fingerprint_hint(actual, fingerprints(assignment, key), **spec.tol)
    for fingerprint in fingerprints(assignment, key):
        if checks.describe_difference(actual, fingerprint.value) is None:
            return fingerprint.hint
    return None


def assert_interface(assignment: str, summary_key: str, model, exercise: str, checked) -> None:
    """Compare ``(what, got, want, generic_hint)`` facts of a model (shapes, parameter counts).

    On the first mismatch the hint is the known mistake whose layer summary equals
    this model's, if any, else the generic hint.
    """
    __tracebackhide__ = True
    for what, got, want, generic_hint in checked:
        if got != want:
            hint = known_mistake_hint(assignment, summary_key, checks.summarize_model(model)) or generic_hint
            checks.fail(exercise, what, f"Expected {want!r}, got {got!r}.", hint)


def error_text(error: BaseException) -> str:
    """An exception as text, without the counters Keras puts in automatic layer names."""
    return re.sub(r"_\d+\b", "", f"{type(error).__name__}: {error}")


def error_hint(assignment: str, key: str, error: BaseException) -> str | None:
    """The hint of the known mistake that makes probe ``key`` raise this same error, if any."""
    if not hints_enabled():
        return None
    text = error_text(error)
    for mutant in load(assignment)[0]["probes"][key].get("mutants", {}).values():
        if mutant.get("error") == text:
            return mutant["hint"]
    return None


def run_probe(assignment: str, key: str, run: Callable, *args):
    """``run(*args)``; if it raises the error a known mistake raises, fail with that mistake's hint."""
    __tracebackhide__ = True
    try:
        return run(*args)
    except checks.CheckError:
        raise
    except Exception as error:
        hint = error_hint(assignment, key, error)
        if hint is None:
            raise
        spec = probe(assignment, key)
        checks.fail(spec.function, spec.what, f"Your code raised {type(error).__name__}: {error}", hint)


def check(assignment: str, key: str, fn: Callable) -> None:
    """Run probe ``key`` on the student's ``fn`` and compare with the reference.

    On failure the message names the first difference; if the student's output
    equals what a known mistake produces, it adds that mistake's hint.
    """
    __tracebackhide__ = True
    spec = probe(assignment, key)
    if not callable(fn):
        checks.fail(spec.function, spec.what, f"Expected a function, got {type(fn).__name__}.")
    actual = run_probe(assignment, key, spec.run, fn)
    if spec.kind == "array":
        checks.assert_close(actual, expected(assignment, key), exercise=spec.function, what=spec.what,
                            fingerprints=fingerprints(assignment, key), **spec.tol)
    else:
        difference = checks.describe_difference(actual, expected(assignment, key))
        if difference:
            checks.fail(spec.function, spec.what, difference[0].upper() + difference[1:],
                        known_mistake_hint(assignment, key, actual))


# ---------------------------------------------------------------------------
# Generating references from the solution notebook
# ---------------------------------------------------------------------------


def solution_namespace(assignment: str, mutant=None) -> dict:
    """Execute the solution notebook's set-up and answer cells (optionally with one mutant applied)."""
    import contextlib
    import io

    notebook = notebooks.read(notebooks.solution_notebook(assignment))
    namespace: dict = {"__name__": f"reference_{assignment}"}
    for cell in notebooks.graded_cells(notebook):
        if notebooks.is_graded_test(cell):
            continue
        code = notebooks.answer_code(cell)
        if mutant is not None and notebooks.grade_id(cell) == mutant.cell:
            code = notebooks.apply_patch(code, list(mutant.patch), mutant.name)
        with contextlib.redirect_stdout(io.StringIO()):  # the set-up cell's banner
            exec(compile(code, f"<{assignment}:{notebooks.grade_id(cell)}>", "exec"), namespace)
    return namespace


def _same(spec: Probe, a, b) -> bool:
    if spec.kind == "summary":
        return checks.describe_difference(a, b) is None
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return a.shape == b.shape and bool(np.all(np.abs(a - b) <= spec.tol["atol"] + spec.tol["rtol"] * np.abs(b)))


def compute(assignment: str) -> tuple[dict, dict]:
    """Run every probe on the reference solution and on every known mistake: ``(meta, arrays)``."""
    probes = registry.probes(assignment).PROBES
    reference = solution_namespace(assignment)
    meta: dict = {"assignment": assignment, "generator": "course references", "probes": {}}
    arrays: dict = {}
    for spec in probes:
        value = spec.run(reference[spec.function])
        entry: dict = {"kind": spec.kind, "function": spec.function, "mutants": {}}
        if spec.kind == "array":
            arrays[spec.key] = np.asarray(value, dtype=np.float32)
        else:
            entry["summary"] = value
        meta["probes"][spec.key] = entry
    for mutant in registry.mutants(assignment):
        namespace = solution_namespace(assignment, mutant)
        for spec in probes:
            if spec.function not in namespace:
                continue
            try:
                value = spec.run(namespace[spec.function])
            except Exception as error:  # the mistake makes the probe raise: remember the error
                meta["probes"][spec.key]["mutants"][mutant.name] = {"hint": mutant.hint, "error": error_text(error)}
                continue
            ref = arrays.get(spec.key, meta["probes"][spec.key].get("summary"))
            if _same(spec, value, ref):
                continue
            stored = {"hint": mutant.hint}
            if spec.kind == "array":
                arrays[f"{spec.key}@{mutant.name}"] = np.asarray(value, dtype=np.float32)
            else:
                stored["summary"] = value
            meta["probes"][spec.key]["mutants"][mutant.name] = stored
    return meta, arrays


def generate(assignment: str) -> list:
    """Recompute and write the references of ``assignment``. Returns the written paths."""
    meta, arrays = compute(assignment)
    out = paths.references_dir()
    out.mkdir(parents=True, exist_ok=True)
    json_path, npz_path = (paths.data_dir() / name for name in _files(assignment))
    json_path.write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")
    _write_npz(npz_path, arrays)
    load.cache_clear()
    return [json_path, npz_path]


def _write_npz(path, arrays: dict) -> None:
    """A byte-for-byte reproducible .npz (fixed zip timestamps, sorted keys)."""
    import io
    import zipfile

    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for key in sorted(arrays):
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(arrays[key]), allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, buffer.getvalue())
