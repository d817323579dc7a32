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
import dataclasses
import functools
import hashlib
import hmac
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from course import cells as notebooks
from course import inprocess, paths, pool, sandbox, trusted
from course import spec as specs
from course.intake import Submission
from course.judge import SKIP_IRI_GRAMMAR, Judge, JudgeFailed, JudgeLimits

# `python -m nbgrader`, without the import that only slows it down (course.judge.SKIP_IRI_GRAMMAR).
NBGRADER = [sys.executable, "-c", f"{SKIP_IRI_GRAMMAR}; from nbgrader.apps.nbgraderapp import main; main()"]
# Wall-clock limit for autograding one student's notebook: the per-cell timeout
# (nbgrader_config.py) bounds each cell; this bounds a kernel that ignores interrupts.
STUDENT_TIMEOUT_S = 300
# What nbclient logs when a cell passes nbgrader's per-cell timeout (nbgrader_config.py) and is interrupted.
CELL_TIMED_OUT = "Timeout waiting for execute reply"


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
                workers: int = 1, scheduler: str | None = None, force: bool = False, progress: bool = False,
                log=print) -> list[StudentResult]:
    """Autograde the submissions :func:`course.intake.collect` found (or :func:`course.intake.handed_in`
    made) in the class folder ``root``: a row for each, graded or not.

    Each gradable submission runs ``nbgrader autograde`` in its own sandbox
    (``isolation="bwrap"``, see :mod:`course.sandbox`; ``"none"`` only when asked
    for) with its own copy of the gradebook, on one of ``workers`` worker
    processes here or on the Dask cluster at ``scheduler`` (:mod:`course.pool`).
    Its points come from its judge (:mod:`course.judge`), which compares what its
    code produced with references its kernel cannot read; this process alone
    writes them into the class gradebook.

    Each result is stored in ``root/results/`` as it arrives, keyed by the
    submission's content, the course version and the grading settings
    (:func:`submission_key`). A later run, after an interruption or with new
    submissions, grades only what it has no result for; ``force`` regrades
    everything. Seeds come from a secret kept with the results, so a resumed
    run gives the same rows as an uninterrupted one.

    ``root`` gets ``gradebook.db``, ``autograded/``, ``feedback/``, ``logs/``,
    ``results/``, ``grades.csv`` (a row per submission, with a status and a
    reason), ``cells.csv`` (a row per test cell, with the in-kernel and the
    trusted verdict) and ``timing.csv``. A submission the intake could not read
    gets a ``not graded`` row with its status and notes; the intake's notes on a
    graded one (what it repaired) start its reason. The class folder is built
    next to ``root`` and replaces it only when the run is complete.
    """
    submissions = list(submissions)
    final = Path(root).resolve()
    check_class_folder(final)
    settings = {"hints": hints, "isolation": isolation, "wall_s": timeout, "memory_mb": memory_mb,
                "processes": processes, "scratch_mb": scratch_mb,
                "judge": dataclasses.asdict(judge_limits or JudgeLimits())}
    graded = [s for s in submissions if s.graded]
    keys = [submission_key(s, settings) for s in graded]
    root = final.with_name(final.name + ".partial")
    store = ResultStore.carry_over(root, final, set(keys), force=force)
    assignments = sorted({s.assignment for s in graded})
    for assignment in assignments:
        result = _nbgrader(["generate_assignment", assignment, "--force"], root=root)
        if result.returncode != 0:
            raise RuntimeError(f"nbgrader generate_assignment {assignment} failed:\n{result.stdout}")
    for folder in ("logs", "autograded"):
        (root / folder).mkdir(exist_ok=True)
    threads = pool.threads_per_worker(workers) if not scheduler else None
    gradebook = (root / "gradebook.db").read_bytes() if graded else b""
    tasks, done = [], {}
    for index, (entry, key) in enumerate(zip(graded, keys)):
        stored = store.load(key)
        if stored is not None:
            done[index] = stored
            continue
        spec = specs.load(entry.assignment)
        # Seeds drawn for this submission alone: one submission's observations never fit another's.
        plan, trusted_args = trusted.make_plan(spec, store.rng(key))
        notebook, _ = notebooks.skipped_while_grading(spec, entry.notebook)
        tasks.append({"index": index, "key": key, "student": entry.student, "assignment": entry.assignment,
                      "notebook": notebook, "plan": plan, "trusted_args": trusted_args,
                      "gradebook": gradebook, "settings": settings, "threads": threads})
    results: dict[int, StudentResult] = {}
    counter = _Progress(len(graded), len(done), progress)

    def finish(index: int, payload: dict, fresh: bool) -> None:
        entry = graded[index]
        result = _apply(root, payload)
        intake_notes = "; ".join(entry.notes)
        if intake_notes:
            prefix = intake_notes if entry.status == "ok" else f"{entry.status}: {intake_notes}"
            result.reason = "; ".join(filter(None, [prefix, result.reason]))
        results[index] = result
        counter.add(result)
        if fresh:
            counter.write(log, f"  {entry.student:<14} {entry.assignment:<22} {result.seconds:5.1f} s  "
                               f"{result.status}" + (f" ({result.reason})" if result.reason else ""))

    for index, payload in done.items():
        finish(index, payload, fresh=False)
    if done:
        counter.write(log, f"  {len(done)} submissions already graded by an earlier run (their results are "
                           "reused; --force regrades them)")

    def arrived(task: dict, payload: dict) -> None:
        if payload.get("store"):
            store.save(task["key"], payload)
        finish(task["index"], payload, fresh=True)

    try:
        pool.run(grade_task, tasks, arrived, workers=workers, scheduler=scheduler, failed=_worker_failed)
    finally:
        counter.close()
    rows = [StudentResult(s.student, s.assignment, status="not graded",
                          reason="; ".join(filter(None, [s.status, *s.notes])))
            for s in submissions if not s.graded]
    rows += [results[index] for index in range(len(graded))]
    _record_scores(root, rows)
    if feedback:
        for assignment in assignments:
            _nbgrader(["generate_feedback", assignment, "--force"], root=root)
        _annotate_feedback(root, rows)
    _write_csv(root, rows)
    _replace(root, final)
    return rows


def submission_key(entry: Submission, settings: dict) -> str:
    """What a stored result is valid for: the student, the notebook's content, the course version of its
    assignment and the grading settings."""
    notebook = hashlib.sha256(json.dumps(entry.notebook, sort_keys=True).encode()).hexdigest()
    text = json.dumps({"student": entry.student, "assignment": entry.assignment, "notebook": notebook,
                       "course": course_version(entry.assignment), "settings": settings}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:40]


@functools.cache
def course_version(assignment: str) -> str:
    """A hash of everything that decides a grade besides the notebook: the release of ``assignment`` and its
    spec, its references, the runtime the kernel imports, the grader and its configuration, and the lock."""
    root = paths.REPO_ROOT
    files = [*sorted((paths.assignments_dir() / assignment).rglob("*")), specs.spec_path(assignment),
             *sorted(paths.references_dir().glob(f"{assignment}.*")),
             *sorted((root / "utils").rglob("*.py")), *sorted((root / "course").rglob("*.py")),
             root / "nbgrader_config.py", root / "requirements.txt"]
    digest = hashlib.sha256()
    for file in files:
        if file.is_file():
            digest.update(str(file.relative_to(root)).encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()[:20]


class ResultStore:
    """``results/``: one folder per graded submission, written once, complete or absent.

    Each ``results/<key>/`` holds ``result.json`` (the row, its cells, the
    autograded notebook feedback is made from) and the two logs. A folder is
    written under a temporary name and renamed, so a run killed at any point
    leaves only whole results. ``class-secret`` seeds every submission's probes.
    """

    SECRET = "class-secret"

    def __init__(self, folder: Path):
        self.folder = folder
        secret = folder / self.SECRET
        if not secret.exists():
            secret.write_bytes(secrets.token_bytes(32))
            secret.chmod(0o600)
        self.secret = secret.read_bytes()

    @classmethod
    def carry_over(cls, partial: Path, final: Path, keys: set[str], *, force: bool) -> ResultStore:
        """An empty class folder at ``partial`` that keeps the results (and the secret) of an interrupted
        run there and of the last complete run at ``final`` for the submissions in ``keys``."""
        check_class_folder(partial)
        previous = partial / "results"
        kept = partial.with_name(partial.name + ".results")
        _remove(kept)
        if previous.is_dir():
            previous.rename(kept)
        prepare_class_folder(partial)
        folder = partial / "results"
        if kept.is_dir():
            kept.rename(folder)
        else:
            folder.mkdir()
        earlier = final / "results"
        for source in ([earlier / cls.SECRET] if (earlier / cls.SECRET).is_file() else []):
            if not (folder / cls.SECRET).exists():
                shutil.copy2(source, folder / cls.SECRET)
        for entry in list(folder.iterdir()):
            if entry.name != cls.SECRET and (force or entry.name not in keys):
                _remove(entry) if entry.is_dir() else entry.unlink()
        if not force and earlier.is_dir():
            for key in keys:
                if (earlier / key / "result.json").is_file() and not (folder / key).exists():
                    shutil.copytree(earlier / key, folder / key, copy_function=os.link)
        return cls(folder)

    def rng(self, key: str) -> np.random.Generator:
        seed = hmac.new(self.secret, key.encode(), hashlib.sha256).digest()
        return np.random.default_rng(int.from_bytes(seed, "big"))

    def load(self, key: str) -> dict | None:
        folder = self.folder / key
        try:
            payload = json.loads((folder / "result.json").read_text())
            payload["logs"] = {name: (folder / name).read_bytes() for name in payload.get("log_names", [])}
            return payload
        except (OSError, ValueError):
            return None

    def save(self, key: str, payload: dict) -> None:
        temporary = self.folder / f".{key}.{os.getpid()}"
        _remove(temporary)
        temporary.mkdir()
        logs = payload.get("logs", {})
        for name, data in logs.items():
            (temporary / name).write_bytes(data)
        document = {k: v for k, v in payload.items() if k != "logs"}
        (temporary / "result.json").write_text(json.dumps(dict(document, log_names=sorted(logs))))
        _remove(self.folder / key)
        temporary.rename(self.folder / key)


class _Progress:
    """A progress bar with an ETA and the counts of each status (tqdm), or nothing when not asked for."""

    def __init__(self, total: int, done: int, show: bool):
        self.counts = {"graded": 0, "partly graded": 0, "not graded": 0, "timed out": 0}
        self.bar = None
        if show and total:
            from tqdm import tqdm

            self.bar = tqdm(total=total, initial=0, unit="submission", dynamic_ncols=True, file=sys.stderr,
                            desc="grading", smoothing=0.1)

    def add(self, result: StudentResult) -> None:
        self.counts[result.status] = self.counts.get(result.status, 0) + 1
        if "wall limit" in result.reason or "per-cell time limit" in result.reason:
            self.counts["timed out"] += 1
        if self.bar is not None:
            self.bar.set_postfix_str(", ".join(f"{v} {k}" for k, v in self.counts.items()), refresh=False)
            self.bar.update(1)

    def write(self, log, line: str) -> None:
        if self.bar is not None and log is print:
            self.bar.write(line)
        else:
            log(line)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def grade_task(task: dict) -> dict:
    """Grade one submission wherever this runs (a pool worker here or on a cluster): a folder of its own,
    everything the class folder needs returned, nothing of it left behind."""
    settings = task["settings"]
    if settings["isolation"] == "bwrap" and not _sandbox_available():
        raise sandbox.IsolationUnavailable(
            f"bubblewrap is not available on the worker {socket.gethostname()}: it refuses to grade without "
            "isolation (install bubblewrap there, or use the course's container image)")
    spec = specs.load(task["assignment"])
    limits = sandbox.Limits(wall_s=settings["wall_s"], memory_mb=settings["memory_mb"],
                            processes=settings["processes"], scratch_mb=settings["scratch_mb"])
    threads = task.get("threads") or _threads_from_environment()
    with tempfile.TemporaryDirectory(prefix="course-grade-") as folder:
        root = Path(folder)
        (root / "gradebook.db").write_bytes(task["gradebook"])
        (root / "logs").mkdir()
        result, notebook = _grade_one(root, spec, task["student"], task["notebook"], task["plan"],
                                      task["trusted_args"], limits, JudgeLimits(**settings["judge"]),
                                      settings["isolation"], settings["hints"], threads)
        logs = {path.name: path.read_bytes() for path in (root / "logs").iterdir() if path.is_file()}
    return {"result": dataclasses.asdict(result), "notebook": notebook, "logs": logs, "store": True}


@functools.cache
def _sandbox_available() -> bool:
    return sandbox.available()


def _threads_from_environment() -> int | None:
    """``COURSE_GRADING_THREADS`` on a cluster's workers: TensorFlow threads per submission."""
    value = os.environ.get("COURSE_GRADING_THREADS", "")
    return int(value) if value.isdigit() and int(value) > 0 else None


def _worker_failed(task: dict, error: BaseException) -> dict:
    """The row of a submission whose worker raised or died: not graded, not stored (a later run retries it)."""
    reason = f"the grading worker failed ({type(error).__name__}: {str(error)[:300]}); run `course grade` again"
    spec = specs.load(task["assignment"])
    result = StudentResult(task["student"], task["assignment"], max_score=float(sum(spec.points().values())),
                           status="not graded", reason=reason)
    return {"result": dataclasses.asdict(result), "notebook": notebooks.read(inprocess.release_notebook(spec.id)),
            "logs": {}, "store": False}


def _apply(root: Path, payload: dict) -> StudentResult:
    """Write one submission's logs and autograded notebook into the class folder; its row."""
    fields = dict(payload["result"])
    fields["cells"] = {grade_id: CellGrade(**cell) for grade_id, cell in fields.get("cells", {}).items()}
    result = StudentResult(**fields)
    for name, data in payload.get("logs", {}).items():
        if name.startswith(f"{SANDBOX_STUDENT}.") and "/" not in name:
            (root / "logs" / (f"{result.student}." + name[len(SANDBOX_STUDENT) + 1:])).write_bytes(data)
    spec = specs.load(result.assignment)
    _write_feedback_notebook(root, result, payload["notebook"], spec.notebook)
    return result


SANDBOX_STUDENT = "student"  # the submission's name inside its sandbox; the class gradebook has the real one


def _grade_one(root: Path, spec, student: str, notebook: dict, plan: dict, trusted_args: dict,
               limits: sandbox.Limits, judge_limits: JudgeLimits, isolation: str, hints: bool,
               threads: int | None = None) -> tuple[StudentResult, dict]:
    """One submission in the folder ``root`` (its gradebook copy, ``logs/``): its sandboxed run and its
    judge; ``(row, the notebook feedback is made from)``. Nothing of the run is left when it returns.

    The grader writes the sandbox's inputs (the notebook, a gradebook copy, the
    plan); the sandbox exports ``autograded/`` and ``observations/`` as a capped
    stream, unpacked here as hostile input; the judge, a capped child process
    started with the sandbox, decides the cells. Logs are named after
    :data:`SANDBOX_STUDENT`; the class folder renames them."""
    from course import untrusted

    work = Path(tempfile.mkdtemp(prefix="submission-", dir=root))
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
           "COURSE_OBSERVATIONS": "{work}/observations", "COURSE_HINTS": "1" if hints else "0",
           **thread_environment(threads)}
    export = work / "export"
    result = StudentResult(student, spec.id, max_score=float(sum(spec.points().values())))
    judge = Judge(spec.id, trusted_args, work, isolation=isolation, limits=judge_limits,
                  log_path=root / "logs" / f"{SANDBOX_STUDENT}.{spec.id}.judge.log",
                  extra_env=thread_environment(threads))
    try:
        outcome = sandbox.run(argv, inputs=inputs, env=env, limits=limits, isolation=isolation,
                              log_path=root / "logs" / f"{SANDBOX_STUDENT}.{spec.id}.log",
                              export_path=work / "export.tar", scratch=work / "scratch")
        result.seconds = outcome.seconds
        shown = f"autograded/{SANDBOX_STUDENT}/{spec.id}/{spec.notebook}"
        refused = untrusted.extract_export(work / "export.tar", export, (shown, "observations/*"))
        judged = judge.verdicts(shown, submitted / spec.notebook)
    except JudgeFailed as failure:
        result.status = "not graded"
        result.reason = f"the grader could not judge what this submission left: {failure}"
        result.cells = {c.grade_id: CellGrade(0.0, float(c.points), problem=str(failure)[:500]) for c in spec.tests}
        return result, notebooks.read(inprocess.release_notebook(spec.id))
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
    if CELL_TIMED_OUT in outcome.log:
        reasons.append("a cell ran past the per-cell time limit and was interrupted")
    differ = [g for g, c in result.cells.items() if c.verdicts_differ]
    if differ:
        reasons.append("verdicts differ: " + ", ".join(differ))
    scratch_notes = refused + [n for n in outcome.notes if n.startswith("the submission's files")] \
        + judged.get("notes", [])
    if scratch_notes:
        reasons.append("from its scratch folder: " + "; ".join(scratch_notes))
    result.reason = "; ".join(reasons)
    return result, judged["notebook"]


def thread_environment(threads: int | None) -> dict[str, str]:
    """Environment that holds TensorFlow (and OpenMP) to ``threads`` threads; empty for its default."""
    if not threads:
        return {}
    return {"TF_NUM_INTRAOP_THREADS": str(threads), "TF_NUM_INTEROP_THREADS": str(threads),
            "OMP_NUM_THREADS": str(threads)}


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
    """``grades.csv`` and ``cells.csv`` (the same for a run resumed after a kill as for one that was not),
    and ``timing.csv`` (how long each submission took, in the run that graded it)."""
    with open(root / "grades.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "assignment", "score", "max_score", "status", "reason"])
        for r in results:
            writer.writerow([r.student, r.assignment, f"{r.score:g}", f"{r.max_score:g}", r.status, r.reason])
    with open(root / "timing.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "assignment", "sandbox_seconds", "judge_answer_seconds", "judge_peak_mb"])
        for r in results:
            writer.writerow([r.student, r.assignment, f"{r.seconds:.1f}", f"{r.judge.get('answer_s', 0):.1f}",
                             f"{r.judge.get('peak_mb', 0):.0f}"])
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
