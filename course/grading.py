"""Release, autograde and report, on top of nbgrader.

Two ways to run a notebook's tests:

* :func:`grade_class` -- the real thing: ``nbgrader generate_assignment`` into a
  class folder's own gradebook, then ``nbgrader autograde`` **one student per
  process**, each under a wall-clock limit, so a submission that hangs or
  crashes its kernel costs that student only. Feedback HTML and a gradebook
  CSV are written next to the class's gradebook.
* :func:`run_in_process` -- executes a notebook's set-up, answer and test cells
  in this Python process (no kernel, no nbgrader). It is only for trusted code
  (our solutions and known mutants): fast enough to check every mutant.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from course import cells as notebooks
from course import paths
from course import spec as specs

NBGRADER = [sys.executable, "-m", "nbgrader"]
# Wall-clock limit for autograding one student's notebook: the per-cell timeout
# (nbgrader_config.py) bounds each cell; this bounds a kernel that ignores interrupts.
STUDENT_TIMEOUT_S = 300


def assignment_ids() -> list[str]:
    """Assignments that have a spec in ``solutions/``, in course order."""
    return specs.ids()


def _nbgrader(args: list[str], *, root: Path, timeout: float | None = None, extra_env: dict | None = None):
    """Run an nbgrader command for the course rooted at ``root``; returns CompletedProcess."""
    command = NBGRADER + args + [
        f"--CourseDirectory.root={root}",
        f"--CourseDirectory.source_directory={paths.solutions_dir()}",
        f"--CourseDirectory.db_url=sqlite:///{root / 'gradebook.db'}",
    ]
    env = dict(os.environ, **(extra_env or {}))
    # nbgrader runs `alembic`, and the kernel spec runs `python`, from PATH: use this environment's.
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    # Own process group: on a timeout the kernel nbgrader started is killed too.
    process = subprocess.Popen(command, cwd=paths.REPO_ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        return subprocess.CompletedProcess(command, -9, output + f"\n[killed after {timeout:.0f} s]")
    return subprocess.CompletedProcess(command, process.returncode, output)


def release(assignments: list[str] | None = None) -> None:
    """Write each solution notebook's test cells from its spec, then regenerate ``assignments/<a>/``
    from ``solutions/<a>/`` (the student release)."""
    root = paths.grading_dir() / "release"
    root.mkdir(parents=True, exist_ok=True)
    for assignment in assignments or assignment_ids():
        notebooks.sync(specs.load(assignment))
        result = _nbgrader(["generate_assignment", assignment, "--force",
                            f"--CourseDirectory.release_directory={paths.assignments_dir()}"], root=root)
        if result.returncode != 0:
            raise RuntimeError(f"nbgrader could not release {assignment}:\n{result.stdout}")


# ---------------------------------------------------------------------------
# Building submissions
# ---------------------------------------------------------------------------


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
    if mutants and answers is None:
        replacements = reference_answers(assignment)
    for mutant in mutants:
        base = replacements.get(mutant.cell, reference_answers(assignment)[mutant.cell])
        patch = mutant.variant if variant else mutant.patch
        replacements[mutant.cell] = notebooks.apply_patch(base, list(patch), mutant.name)
    for cell in notebook["cells"]:
        gid = notebooks.grade_id(cell)
        if gid in replacements and notebooks.grading_meta(cell).get("solution"):
            cell["source"] = replacements[gid]
    if edit:
        edit(notebook)
    return notebook


def reference_answers(assignment: str) -> dict[str, str]:
    """grade_id -> the reference code of each answer cell."""
    notebook = notebooks.read(notebooks.solution_notebook(specs.load(assignment)))
    return {notebooks.grade_id(c): notebooks.answer_code(c) for c in notebook["cells"]
            if notebooks.grading_meta(c).get("solution")}


# ---------------------------------------------------------------------------
# In-process runs (trusted code only)
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


# ---------------------------------------------------------------------------
# Autograding a class
# ---------------------------------------------------------------------------


@dataclass
class StudentResult:
    student: str
    assignment: str
    score: float = 0.0
    max_score: float = 0.0
    cells: dict[str, tuple[float, float]] = field(default_factory=dict)  # grade_id -> (score, max)
    status: str = "graded"
    seconds: float = 0.0


CLASS_MARKER = ".course-class-folder"


def prepare_class_folder(root: Path) -> Path:
    """An empty class folder at ``root``, emptied only if the course made it.

    A folder that ``course grade`` or ``course demo`` created carries a marker
    file and is rebuilt on each run. Any other existing, non-empty folder is
    left alone: the run stops with a message instead of deleting it.
    """
    root = Path(root).resolve()
    if root.exists() and any(root.iterdir()):
        if not (root / CLASS_MARKER).exists():
            raise FileExistsError(f"{root} exists and was not made by the course; it is left untouched. "
                                  "Choose an empty or new folder for --out.")
        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)
    (root / CLASS_MARKER).write_text("A class folder of `course grade`: rebuilt on each run.\n")
    return root


def grade_class(root: Path, submissions: dict[str, dict[str, dict]], *, feedback: bool = True,
                timeout: float = STUDENT_TIMEOUT_S, hints: bool = True, log=print) -> list[StudentResult]:
    """Autograde ``submissions[student][assignment] = notebook`` in the class folder ``root``.

    ``root`` gets its own gradebook, ``submitted/``, ``autograded/`` and
    ``feedback/`` folders, plus ``grades.csv`` (one row per student and
    assignment) and ``cells.csv`` (one row per graded cell). ``hints=False``
    grades without known-mistake hints in the messages (``COURSE_HINTS=0``).
    """
    root = prepare_class_folder(root)
    assignments = sorted({a for per_student in submissions.values() for a in per_student})
    for assignment in assignments:
        result = _nbgrader(["generate_assignment", assignment, "--force"], root=root)
        if result.returncode != 0:
            raise RuntimeError(f"nbgrader generate_assignment {assignment} failed:\n{result.stdout}")
    results = []
    for student, per_assignment in submissions.items():
        for assignment, notebook in per_assignment.items():
            folder = root / "submitted" / student / assignment
            folder.mkdir(parents=True)
            (folder / release_notebook(assignment).name).write_text(json.dumps(notebook, indent=1))
            (folder / "timestamp.txt").write_text("2026-01-15 12:00:00.000000 UTC")
            started = time.perf_counter()
            run = _nbgrader(["autograde", assignment, f"--student={student}", "--create", "--force"],
                            root=root, timeout=timeout, extra_env=None if hints else {"COURSE_HINTS": "0"})
            elapsed = time.perf_counter() - started
            (folder.parent / f"{assignment}.autograde.log").write_text(run.stdout)
            status = "graded" if run.returncode == 0 else (
                f"not graded: killed after {timeout:.0f} s" if run.returncode == -9 else "not graded: nbgrader failed")
            results.append(StudentResult(student, assignment, status=status, seconds=elapsed))
            log(f"  {student:<14} {assignment:<22} {elapsed:5.1f} s  {status}")
    if feedback:
        for assignment in assignments:
            _nbgrader(["generate_feedback", assignment, "--force"], root=root)
    _collect_scores(root, results)
    _write_csv(root, results)
    return results


def _collect_scores(root: Path, results: list[StudentResult]) -> None:
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        for result in results:
            assignment = gradebook.find_assignment(result.assignment)
            result.max_score = float(assignment.max_score)
            if result.status != "graded":
                continue
            try:
                submission = gradebook.find_submission(result.assignment, result.student)
            except MissingEntry:
                result.status = "not graded: no submission recorded"
                continue
            result.score = float(submission.score)
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    result.cells[grade.name] = (float(grade.score), float(grade.max_score))


def _write_csv(root: Path, results: list[StudentResult]) -> None:
    with open(root / "grades.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "assignment", "score", "max_score", "status", "seconds"])
        for r in results:
            writer.writerow([r.student, r.assignment, f"{r.score:g}", f"{r.max_score:g}", r.status, f"{r.seconds:.1f}"])
    with open(root / "cells.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "assignment", "cell", "score", "max_score"])
        for r in results:
            for cell, (score, max_score) in r.cells.items():
                writer.writerow([r.student, r.assignment, cell, f"{score:g}", f"{max_score:g}"])


def score_table(results: list[StudentResult]) -> str:
    """A plain-text table: one row per student, one column per assignment."""
    students = list(dict.fromkeys(r.student for r in results))
    assignments = list(dict.fromkeys(r.assignment for r in results))
    by_key = {(r.student, r.assignment): r for r in results}
    width = max(len(s) for s in students + ["student"])
    header = f"{'student':<{width}}  " + "  ".join(f"{a:>16}" for a in assignments)
    lines = [header, "-" * len(header)]
    for student in students:
        cells = []
        for assignment in assignments:
            r = by_key.get((student, assignment))
            text = "-" if r is None else (f"{r.score:g}/{r.max_score:g}" if r.status == "graded" else "NOT GRADED")
            cells.append(f"{text:>16}")
        lines.append(f"{student:<{width}}  " + "  ".join(cells))
    return "\n".join(lines)
