"""The embedded demo class: four students who show what the grader does.

* ``reference``    -- the reference solution: full marks.
* ``untouched``    -- the release as handed out: 0 on every test cell.
* ``partly_wrong`` -- realistic mistakes (``PARTLY_WRONG`` in ``course.mutants.<assignment>``):
  loses exactly the cells those mistakes target.
* ``hostile``      -- tries to break the grader: its first answer cell writes to
  stderr and raises, its second loops forever, it deletes one test cell and
  replaces another with ``pass``. nbgrader restores the test cells; the loop
  costs one cell timeout; no other student is affected.
"""

from __future__ import annotations

import importlib

from course import grading, cells as notebooks, registry

STUDENTS = ("reference", "untouched", "partly_wrong", "hostile")

LOOP_FOREVER = "# A cell that never finishes.\nwhile True:\n    pass\n"
NOISY_AND_RAISES = "\nimport os\nos.write(2, b'hostile submission writing to stderr\\n')\nraise RuntimeError('hostile submission: this cell raises')\n"


def partly_wrong_mutants(assignment: str):
    module = importlib.import_module(f"course.mutants.{registry.module_name(assignment)}")
    chosen = set(module.PARTLY_WRONG)
    return [m for m in module.MUTANTS if m.name in chosen]


def hostile_submission(assignment: str) -> dict:
    answers = grading.reference_answers(assignment)
    first, second = list(answers)[:2]
    answers[first] = answers[first] + NOISY_AND_RAISES
    answers[second] = LOOP_FOREVER

    def vandalise(notebook: dict) -> None:
        tests = [c for c in notebook["cells"] if notebooks.is_graded_test(c)]
        notebook["cells"].remove(tests[0])  # delete the first test cell
        tests[-1]["source"] = "pass  # the test was here\n"  # and empty the last one

    return grading.submission(assignment, answers, edit=vandalise)


def class_submissions(assignments: list[str]) -> dict[str, dict[str, dict]]:
    """``{student: {assignment: notebook}}`` for the demo class."""
    return {
        "reference": {a: grading.submission(a, grading.reference_answers(a)) for a in assignments},
        "untouched": {a: grading.submission(a) for a in assignments},
        "partly_wrong": {a: grading.submission(a, mutants=partly_wrong_mutants(a)) for a in assignments},
        "hostile": {a: hostile_submission(a) for a in assignments},
    }


def expected_scores(assignment: str) -> dict[str, float]:
    """What each demo student must score, derived from the solution notebook and the mutants."""
    notebook = notebooks.read(notebooks.solution_notebook(assignment))
    tests = [c for c in notebook["cells"] if notebooks.is_graded_test(c)]
    points = {notebooks.grade_id(c): float(notebooks.grading_meta(c)["points"]) for c in tests}
    total = sum(points.values())
    lost = set().union(*(m.lost for m in partly_wrong_mutants(assignment)))
    second_answer = list(grading.reference_answers(assignment))[1]
    hostile_lost = {gid for gid in points if _tests_function(notebook, gid, second_answer)}
    return {
        "reference": total,
        "untouched": 0.0,
        "partly_wrong": total - sum(points[g] for g in lost),
        "hostile": total - sum(points[g] for g in hostile_lost),
    }


def _tests_function(notebook: dict, grade_id: str, function: str) -> bool:
    cell = next(c for c in notebook["cells"] if notebooks.grade_id(c) == grade_id)
    return function in notebooks.test_code(cell)
