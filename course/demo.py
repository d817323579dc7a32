"""The embedded demo class: four students who show what the grader does.

* ``reference``    -- the reference solution: full marks.
* ``untouched``    -- the release as handed out: 0 on every test cell.
* ``partly_wrong`` -- realistic mistakes (``partly_wrong`` in the assignment's spec):
  loses exactly the cells those mistakes target.
* ``hostile``      -- tries to break the grader: its first answer cell writes to
  stderr and raises, its second loops forever, it deletes one test cell and
  replaces another with ``pass``. nbgrader restores the test cells; the loop
  costs one cell timeout; no other student is affected.
"""

from __future__ import annotations

from course import cells as notebooks
from course import inprocess
from course import spec as specs

STUDENTS = ("reference", "untouched", "partly_wrong", "hostile")

LOOP_FOREVER = "# A cell that never finishes.\nwhile True:\n    pass\n"
NOISY_AND_RAISES = ("\nimport os\nos.write(2, b'hostile submission writing to stderr\\n')\n"
                    "raise RuntimeError('hostile submission: this cell raises')\n")


# What the grader's per-cell timeout does to the looping cell, for the in-process measurement.
INTERRUPTED = "raise KeyboardInterrupt('the cell timeout interrupted this cell')\n"


def partly_wrong_mutants(assignment: str):
    spec = specs.load(assignment)
    return [spec.mistake(name) for name in spec.partly_wrong]


def hostile_answers(assignment: str, loop: str = LOOP_FOREVER) -> dict[str, str]:
    answers = inprocess.reference_answers(assignment)
    first, second = list(answers)[:2]
    answers[first] = answers[first] + NOISY_AND_RAISES
    answers[second] = loop
    return answers


def hostile_submission(assignment: str) -> dict:
    answers = hostile_answers(assignment)

    def vandalise(notebook: dict) -> None:
        tests = [c for c in notebook["cells"] if notebooks.is_graded_test(c)]
        notebook["cells"].remove(tests[0])  # delete the first test cell
        tests[-1]["source"] = "pass  # the test was here\n"  # and empty the last one

    return inprocess.submission(assignment, answers, edit=vandalise)


def class_submissions(assignments: list[str]) -> dict[str, dict[str, dict]]:
    """``{student: {assignment: notebook}}`` for the demo class."""
    return {
        "reference": {a: inprocess.submission(a, inprocess.reference_answers(a)) for a in assignments},
        "untouched": {a: inprocess.submission(a) for a in assignments},
        "partly_wrong": {a: inprocess.submission(a, mutants=partly_wrong_mutants(a)) for a in assignments},
        "hostile": {a: hostile_submission(a) for a in assignments},
    }


def expected_scores(assignment: str) -> dict[str, float]:
    """What each demo student must score, measured by running the submissions' code in-process.

    The partly-wrong student's notebook is run as it is. The hostile one is run
    with its looping cell replaced by what the grader's cell timeout turns it
    into (an interrupted cell) and with its test cells intact, because the
    grader restores deleted and edited test cells.
    """
    points = specs.load(assignment).points()

    def measured(notebook) -> float:
        from utils.notebook import _stderr_silenced

        with _stderr_silenced():  # the hostile cell writes to file descriptor 2
            results = inprocess.run_in_process(notebook, assignment, catch_interrupts=True)
        return float(sum(points[g] for g, result in results.items() if result.passed))

    return {
        "reference": float(sum(points.values())),
        "untouched": 0.0,
        "partly_wrong": measured(inprocess.submission(assignment, mutants=partly_wrong_mutants(assignment))),
        "hostile": measured(inprocess.submission(assignment, hostile_answers(assignment, loop=INTERRUPTED))),
    }
