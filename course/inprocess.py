"""Notebooks run in this Python process: the reference solution, known mistakes, demo students.

Only for trusted code (our solutions and their known mistakes): nothing here
is sandboxed. One place builds a notebook with answers and known mistakes
applied, and runs it, for the references (:mod:`course.references`), the
tests, the demo and the benchmarks alike:

* :func:`reference_answers`, :func:`with_mistakes` and :func:`submission`
  build a student notebook from the release;
* :func:`solution_namespace` executes the solution's set-up and answer cells
  (a known mistake applied, if given) and returns their namespace;
* :func:`run_in_process` executes a notebook's graded cells and scores its test
  cells like nbgrader would, fast enough to check every mistake.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from pathlib import Path

from course import cells as notebooks
from course import spec as specs
from course.spec import Assignment, Mistake


def release_notebook(assignment: str) -> Path:
    path = notebooks.release_notebook(specs.load(assignment))
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist. Run `make release`.")
    return path


def submission(assignment: str, answers: dict[str, str] | None = None, mutants=(), edit=None,
               variant: bool = False) -> dict:
    """A student notebook: the release with answer cells filled in.

    Args:
        answers: grade_id -> code for answer cells; ``None`` leaves the release untouched.
        mutants: known mistakes (``course.spec.Mistake``) applied on top of the reference answers.
        edit: optional function ``edit(notebook) -> None`` for hostile changes.
        variant: apply each mistake's second spelling instead of its main patch.
    """
    notebook = notebooks.read(release_notebook(assignment))
    replacements = dict(answers or {})
    if mutants:
        replacements = with_mistakes(replacements if answers is not None else reference_answers(assignment),
                                     assignment, mutants, variant)
    for cell in notebook["cells"]:
        gid = notebooks.grade_id(cell)
        if gid in replacements and notebooks.grading_meta(cell).get("solution"):
            cell["source"] = replacements[gid]
    if edit:
        edit(notebook)
    return notebook


def with_mistakes(answers: dict[str, str], assignment: str, mistakes, variant: bool = False) -> dict[str, str]:
    """``answers`` (grade_id -> code) with each known mistake's patch applied to its cell (the reference
    code where ``answers`` has none); ``variant`` applies each mistake's second spelling."""
    patched = dict(answers)
    for mistake in mistakes:
        base = patched.get(mistake.cell, reference_answers(assignment)[mistake.cell])
        patch = mistake.variant if variant else mistake.patch
        patched[mistake.cell] = notebooks.apply_patch(base, list(patch), mistake.name)
    return patched


def reference_answers(assignment: str) -> dict[str, str]:
    """grade_id -> the reference code of each answer cell."""
    notebook = notebooks.read(notebooks.solution_notebook(specs.load(assignment)))
    return {notebooks.grade_id(c): notebooks.answer_code(c) for c in notebook["cells"]
            if notebooks.grading_meta(c).get("solution")}


# ---------------------------------------------------------------------------
# Running here
# ---------------------------------------------------------------------------


@dataclass
class CellResult:
    grade_id: str
    points: float
    passed: bool
    message: str = ""


def run_in_process(notebook: dict, assignment: str, catch_interrupts: bool = False) -> dict[str, CellResult]:
    """Execute a notebook's nbgrader cells here and score its test cells like nbgrader would.

    As in ``nbgrader autograde``, locked and test cells (with their hidden tests)
    come from the solution notebook, whatever the submission holds. A test cell
    earns its points when it raises nothing and writes nothing to stderr. With
    ``catch_interrupts`` a cell that raises ``KeyboardInterrupt`` fails like a
    cell the grader's timeout interrupted, and the run goes on.
    """
    source_cells = {notebooks.grade_id(c): c for c in notebooks.graded_cells(
        notebooks.read(notebooks.solution_notebook(specs.load(assignment))))}
    namespace: dict = {"__name__": "__main__"}
    results: dict[str, CellResult] = {}
    for cell in notebooks.graded_cells(notebook):
        gid = notebooks.grade_id(cell)
        if not notebooks.grading_meta(cell).get("solution") and gid in source_cells:
            cell = source_cells[gid]
        code = notebooks.test_code(cell) if notebooks.is_graded_test(cell) else notebooks.source(cell)
        err = io.StringIO()
        message = ""
        try:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
                exec(compile(code, f"<cell {gid}>", "exec"), namespace)
        except BaseException as error:  # noqa: BLE001  (a student cell may raise anything)
            if isinstance(error, SystemExit) or (isinstance(error, KeyboardInterrupt) and not catch_interrupts):
                raise
            message = f"{type(error).__name__}: {error}"
        if notebooks.is_graded_test(cell):
            if not message and err.getvalue():
                message = "wrote to stderr: " + err.getvalue()[:200]
            points = float(notebooks.grading_meta(cell)["points"])
            results[gid] = CellResult(gid, points, not message, message)
    return results


def solution_namespace(spec: Assignment, mistake: Mistake | None = None, variant: bool = False) -> dict:
    """Execute the solution notebook's set-up and answer cells (with one known mistake applied, if given)."""
    notebook = notebooks.read(notebooks.solution_notebook(spec))
    answers = with_mistakes(reference_answers(spec.id), spec.id, [mistake] if mistake else [], variant)
    namespace: dict = {"__name__": f"reference_{spec.id}"}
    for cell in notebooks.graded_cells(notebook):
        if notebooks.is_graded_test(cell):
            continue
        gid = notebooks.grade_id(cell)
        code = answers.get(gid, notebooks.answer_code(cell))
        with contextlib.redirect_stdout(io.StringIO()):  # the set-up cell's banner
            exec(compile(code, f"<{spec.id}:{gid}>", "exec"), namespace)
    return namespace
