"""Release, autograde and report, on top of nbgrader.

* :func:`release` writes the test cells from the specs and regenerates ``assignments/``;
* :func:`grade_class` -- ``nbgrader generate_assignment`` into a class folder's
  own gradebook, then ``nbgrader autograde`` for **one submission at a time, in
  its own sandbox** (:mod:`course.sandbox`), and points decided by its judge
  (:mod:`course.judge`) outside the student's process. Feedback HTML and
  gradebook CSVs are written next to the class's gradebook.

Running trusted notebooks here (solutions, known mistakes) is
:mod:`course.inprocess`; reading handed-in folders is :mod:`course.intake`.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from course import cells as notebooks
from course import inprocess, paths, sandbox
from course import spec as specs
from course.intake import Submission
from course.judge import Judge, JudgeFailed, JudgeLimits

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
# Autograding a class
# ---------------------------------------------------------------------------


CLASS_MARKER = ".course-class-folder"


def check_class_folder(root: Path) -> None:
    """Raise ``FileExistsError`` when ``root`` is a non-empty folder the course did not make."""
    root = Path(root)
    if root.exists() and any(root.iterdir()) and not (root / CLASS_MARKER).exists():
        raise FileExistsError(f"{root} exists and was not made by the course; it is left untouched. "
                              "Choose an empty or new folder for --out.")


def prepare_class_folder(root: Path) -> Path:
    """An empty class folder at ``root``, emptied only if the course made it.

    A folder that ``course grade`` or ``course demo`` created carries a marker
    file and is rebuilt on each run. Any other existing, non-empty folder is
    left alone: the run stops with a message instead of deleting it.
    """
    root = Path(root).resolve()
    check_class_folder(root)
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)
    (root / CLASS_MARKER).write_text("A class folder of `course grade`: rebuilt on each run.\n")
    return root


@dataclass
class CellGrade:
    score: float
    max_score: float
    kernel_passed: bool | None = None
    verdicts_differ: bool = False
    problem: str = ""


@dataclass
class StudentResult:
    student: str
    assignment: str
    score: float = 0.0
    max_score: float = 0.0
    cells: dict[str, CellGrade] = field(default_factory=dict)
    status: str = "graded"
    reason: str = ""
    seconds: float = 0.0
    judge: dict = field(default_factory=dict)  # how its judge ran (course.judge.Judge.usage), for benchmarks


def grade_class(root: Path, submissions: Iterable[Submission], *, feedback: bool = True,
                timeout: float = STUDENT_TIMEOUT_S, hints: bool = True, isolation: str = "bwrap",
                memory_mb: int = sandbox.DEFAULT_MEMORY_MB, processes: int = sandbox.DEFAULT_PROCESSES,
                scratch_mb: int = sandbox.DEFAULT_SCRATCH_MB, judge_limits: JudgeLimits | None = None,
                log=print) -> list[StudentResult]:
    """Autograde the submissions :func:`course.intake.collect` found (or :func:`course.intake.handed_in`
    made) in the class folder ``root``: a row for each, graded or not.

    Each gradable submission runs ``nbgrader autograde`` in its own sandbox
    (``isolation="bwrap"``, see :mod:`course.sandbox`; ``"none"`` only when asked
    for) with its own copy of the gradebook. Its points come from its judge
    (:mod:`course.judge`), which compares what its code produced with references
    its kernel cannot read; this process alone writes them into the class
    gradebook. ``root`` gets ``gradebook.db``, ``autograded/``, ``feedback/``,
    ``logs/``, ``grades.csv`` (a row per submission, with a status and a reason)
    and ``cells.csv`` (a row per test cell, with the in-kernel and the trusted
    verdict). A submission the intake could not read gets a ``not graded`` row
    with its status and notes; the intake's notes on a graded one (what it
    repaired) start its reason. The class folder is built next to ``root`` and
    replaces it only when the run is complete.
    """
    submissions = list(submissions)
    final = Path(root).resolve()
    check_class_folder(final)
    root = prepare_class_folder(final.with_name(final.name + ".partial"))
    assignments = sorted({s.assignment for s in submissions if s.graded})
    # Seeds are drawn afresh for every submission: one submission's observations never fit another's.
    rng = np.random.default_rng(secrets.randbits(128))
    for assignment in assignments:
        result = _nbgrader(["generate_assignment", assignment, "--force"], root=root)
        if result.returncode != 0:
            raise RuntimeError(f"nbgrader generate_assignment {assignment} failed:\n{result.stdout}")
    limits = sandbox.Limits(wall_s=timeout, memory_mb=memory_mb, processes=processes, scratch_mb=scratch_mb)
    results = [StudentResult(s.student, s.assignment, status="not graded",
                             reason="; ".join(filter(None, [s.status, *s.notes])))
               for s in submissions if not s.graded]
    (root / "logs").mkdir(exist_ok=True)
    for entry in (s for s in submissions if s.graded):
        result = _grade_one(root, specs.load(entry.assignment), entry.student, entry.notebook, rng, limits,
                            judge_limits or JudgeLimits(), isolation, hints)
        intake_notes = "; ".join(entry.notes)
        if intake_notes:
            prefix = intake_notes if entry.status == "ok" else f"{entry.status}: {intake_notes}"
            result.reason = "; ".join(filter(None, [prefix, result.reason]))
        results.append(result)
        log(f"  {entry.student:<14} {entry.assignment:<22} {result.seconds:5.1f} s  {result.status}"
            + (f" ({result.reason})" if result.reason else ""))
    _record_scores(root, results)
    if feedback:
        for assignment in assignments:
            _nbgrader(["generate_feedback", assignment, "--force"], root=root)
        _annotate_feedback(root, results)
    _write_csv(root, results)
    _remove(root / "work")
    _replace(root, final)
    return results


SANDBOX_STUDENT = "student"  # the submission's name inside its sandbox; the class gradebook has the real one


def _grade_one(root: Path, spec, student: str, notebook: dict, rng: np.random.Generator, limits: sandbox.Limits,
               judge_limits: JudgeLimits, isolation: str, hints: bool) -> StudentResult:
    """One submission: its own seeds, sandboxed run and judge; nothing of it is left when it returns.

    The grader writes the sandbox's inputs (the notebook, a gradebook copy, the
    plan); the sandbox exports ``autograded/`` and ``observations/`` as a capped
    stream, unpacked here as hostile input; the judge, a capped child process
    started with the sandbox, decides the cells. The work folder is removed
    before the next submission runs."""
    from course import trusted, untrusted

    plan, trusted_args = trusted.make_plan(spec, rng)
    (root / "work").mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="submission-", dir=root / "work"))
    inputs = work / "input"
    submitted = inputs / "submitted" / SANDBOX_STUDENT / spec.id
    submitted.mkdir(parents=True)
    (submitted / spec.notebook).write_text(json.dumps(notebook, indent=1))
    (submitted / "timestamp.txt").write_text("2026-01-15 12:00:00.000000 UTC")
    shutil.copy2(root / "gradebook.db", inputs / "gradebook.db")
    shutil.copy2(paths.REPO_ROOT / "nbgrader_config.py", inputs / "nbgrader_config.py")
    (inputs / "plan.json").write_text(json.dumps(plan))
    for folder in (inputs, *inputs.rglob("*")):  # readable by the sandbox's unprivileged user
        folder.chmod(0o755 if folder.is_dir() else 0o644)
    argv = NBGRADER + ["autograde", spec.id, f"--student={SANDBOX_STUDENT}", "--create", "--force",
                       "--CourseDirectory.root={work}", "--CourseDirectory.source_directory={work}/source",
                       "--CourseDirectory.db_url=sqlite:///{work}/gradebook.db"]
    env = {"PATH": os.pathsep.join([os.path.dirname(sys.executable), "/usr/local/bin", "/usr/bin", "/bin"]),
           "LANG": "C.UTF-8", "TF_CPP_MIN_LOG_LEVEL": "3", "COURSE_PLAN": "{work}/plan.json",
           # The runtime of this checkout, whatever the environment's own install points at.
           "PYTHONPATH": str(paths.REPO_ROOT),
           "COURSE_OBSERVATIONS": "{work}/observations", "COURSE_HINTS": "1" if hints else "0"}
    export = work / "export"
    result = StudentResult(student, spec.id, max_score=float(sum(spec.points().values())))
    judge = Judge(spec.id, trusted_args, work, isolation=isolation, limits=judge_limits,
                  log_path=root / "logs" / f"{student}.{spec.id}.judge.log")
    try:
        outcome = sandbox.run(argv, inputs=inputs, env=env, limits=limits, isolation=isolation,
                              log_path=root / "logs" / f"{student}.{spec.id}.log", export_path=work / "export.tar",
                              scratch=work / "scratch")
        result.seconds = outcome.seconds
        shown = f"autograded/{SANDBOX_STUDENT}/{spec.id}/{spec.notebook}"
        refused = untrusted.extract_export(work / "export.tar", export, (shown, "observations/*"))
        judged = judge.verdicts(shown, submitted / spec.notebook)
    except JudgeFailed as failure:
        result.status = "not graded"
        result.reason = f"the grader could not judge what this submission left: {failure}"
        result.cells = {c.grade_id: CellGrade(0.0, float(c.points), problem=str(failure)[:500]) for c in spec.tests}
        _write_feedback_notebook(root, result, notebooks.read(inprocess.release_notebook(spec.id)), spec.notebook)
        return result
    finally:  # the judge and the work folder never outlive the submission, whatever happened
        judge.close()
        _remove(work)
    result.judge = judge.usage
    for cell in spec.tests:
        verdict = judged["verdicts"].get(cell.grade_id) or {"passed": False, "problems": ["not judged"]}
        result.cells[cell.grade_id] = CellGrade(float(cell.points if verdict["passed"] else 0), float(cell.points),
                                                verdict.get("kernel_passed"), bool(verdict.get("verdicts_differ")),
                                                "; ".join(map(str, verdict.get("problems", [])))[:500])
    result.score = sum(c.score for c in result.cells.values())
    reasons = []
    if outcome.killed:
        result.status = "partly graded"
        reasons.append(f"stopped at the {outcome.killed}; cells that ran are scored")
    elif outcome.returncode != 0:
        result.status = "partly graded"
        reasons.append(f"nbgrader or the kernel failed (exit {outcome.returncode}); "
                       f"see logs/{student}.{spec.id}.log")
    differ = [g for g, c in result.cells.items() if c.verdicts_differ]
    if differ:
        reasons.append("verdicts differ: " + ", ".join(differ))
    scratch_notes = refused + [n for n in outcome.notes if n.startswith("the submission's files")] \
        + judged.get("notes", [])
    if scratch_notes:
        reasons.append("from its scratch folder: " + "; ".join(scratch_notes))
    result.reason = "; ".join(reasons)
    _write_feedback_notebook(root, result, judged["notebook"], spec.notebook)
    return result


def _remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)


def _write_feedback_notebook(root: Path, result: StudentResult, notebook: dict, name: str) -> None:
    """The autograded copy feedback is made from: always a file the grader writes itself."""
    target = root / "autograded" / result.student / result.assignment
    target.mkdir(parents=True, exist_ok=True)
    (target / name).write_text(json.dumps(notebook, indent=1))


def _record_scores(root: Path, results: list[StudentResult]) -> None:
    """The one writer of the class gradebook: each graded submission with its trusted points."""
    from nbgrader.api import Gradebook, MissingEntry
    from sqlalchemy.exc import SAWarning

    # nbgrader's add_submission trips SQLAlchemy's autoflush warnings; they say nothing to an instructor.
    with warnings.catch_warnings(), Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        warnings.simplefilter("ignore", SAWarning)
        for result in results:
            if not result.cells:
                continue
            gradebook.update_or_create_student(result.student)
            with contextlib.suppress(MissingEntry):
                gradebook.remove_submission(result.assignment, result.student)
            submission = gradebook.add_submission(result.assignment, result.student,
                                                  timestamp="2026-01-15 12:00:00.000000 UTC")
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    cell = result.cells.get(grade.name)
                    grade.auto_score = cell.score if cell else 0.0
                    grade.manual_score = None
            gradebook.db.commit()


def _annotate_feedback(root: Path, results: list[StudentResult]) -> None:
    """Put the trusted verdict of every test cell at the top of each feedback page."""
    import html

    for result in results:
        for page in (root / "feedback" / result.student / result.assignment).glob("*.html"):
            rows = "".join(
                f"<tr><td>{html.escape(g)}</td><td>{c.score:g} / {c.max_score:g}</td><td>{_differ_text(c)}</td>"
                f"<td>{html.escape(c.problem)}</td></tr>" for g, c in result.cells.items())
            banner = (f'<div id="course-trusted-grading" style="border:1px solid #888;padding:8px;margin:8px">'
                      f"<b>Trusted grading</b>: {result.score:g} / {result.max_score:g} ({html.escape(result.status)}"
                      f"{': ' + html.escape(result.reason) if result.reason else ''}). Points are decided outside "
                      "your notebook, by running the same checks on fresh inputs."
                      f"<table><tr><th>test cell</th><th>points</th><th></th><th>why</th></tr>{rows}</table></div>")
            text = page.read_text()
            page.write_text(text.replace("<body>", "<body>" + banner, 1) if "<body>" in text else banner + text)


def _differ_text(cell: CellGrade) -> str:
    if not cell.verdicts_differ:
        return ""
    return "verdicts differ: the notebook passed it, the grader did not" if cell.kernel_passed else "verdicts differ"


def _replace(partial: Path, final: Path) -> None:
    """Swap the finished class folder in; the previous run's folder is removed only now."""
    if final.exists():
        check_class_folder(final)
        shutil.rmtree(final)
    partial.rename(final)


def _write_csv(root: Path, results: list[StudentResult]) -> None:
    with open(root / "grades.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "assignment", "score", "max_score", "status", "reason", "seconds"])
        for r in results:
            writer.writerow([r.student, r.assignment, f"{r.score:g}", f"{r.max_score:g}", r.status, r.reason,
                             f"{r.seconds:.1f}"])
    with open(root / "cells.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "assignment", "cell", "score", "max_score", "notebook_verdict", "verdicts_differ",
                         "problem"])
        for r in results:
            for cell, c in r.cells.items():
                notebook = "" if c.kernel_passed is None else ("passed" if c.kernel_passed else "failed")
                writer.writerow([r.student, r.assignment, cell, f"{c.score:g}", f"{c.max_score:g}", notebook,
                                 "yes" if c.verdicts_differ else "", c.problem])


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
            if r is None:
                text = "-"
            elif r.status == "not graded":
                text = "NOT GRADED"
            else:
                text = f"{r.score:g}/{r.max_score:g}" + ("" if r.status == "graded" else " *")
            cells.append(f"{text:>16}")
        lines.append(f"{student:<{width}}  " + "  ".join(cells))
    if any(r.status not in ("graded", "not graded") for r in results):
        lines.append("* partly graded (a limit was reached or the kernel failed): see grades.csv")
    return "\n".join(lines)
