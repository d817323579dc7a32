"""The ``course`` command: data, references, release, grading, self-checks, demo, lab.

Run ``course --help`` or ``course COMMAND --help``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from course import paths


def _assignments(requested: list[str] | None) -> list[str]:
    from course import spec

    try:
        return [spec.resolve(name) for name in requested] if requested else spec.ids()
    except KeyError as error:
        raise SystemExit(f"course: {error.args[0]}") from None


def cmd_data(args) -> int:
    from course import synth

    started = time.perf_counter()
    for path in synth.build_all():
        print(f"wrote {path.relative_to(paths.REPO_ROOT)} ({path.stat().st_size / 1e6:.1f} MB)")
    print(f"done in {time.perf_counter() - started:.1f} s; hashes recorded in datasets/manifest.json")
    return 0


def cmd_weights(args) -> int:
    from course import weights
    from utils import data
    from utils import paths as data_paths

    try:
        chosen = weights.slots_for(args.assignments)
    except (KeyError, ValueError) as error:
        raise SystemExit(f"course weights: {error.args[0]}") from None
    if not chosen:
        print("no assignment declares a pretrained network (course/weights/)")
        return 0
    for slot in chosen:
        if args.seed is not None and slot.SEED is None:
            raise SystemExit(f"course weights: the network of {slot.ASSIGNMENT} draws nothing at random "
                             "(it is imported, not trained); --seed does not apply")
    out = data_paths.data_dir()
    for slot in chosen:
        seed = slot.SEED if args.seed is None else args.seed
        started = time.perf_counter()
        written = slot.build(out, seed, log=lambda line: print(line, flush=True))
        details = {"seed": seed} if seed is not None else {}
        data.record_in_manifest(written, "course weights", **details, made_by=f"{slot.__name__}: build(seed={seed})")
        print(f"{slot.ASSIGNMENT}: built in {time.perf_counter() - started:.0f} s; wrote "
              + ", ".join(Path(p).relative_to(out).as_posix() for p in written)
              + f" under {out}; hashes recorded in {data.manifest_path().name}")
        print(f"Next: regenerate the references of {slot.ASSIGNMENT} (`course references {slot.ASSIGNMENT}`) "
              f"and update the sha256 in {slot.CARD}")
    return 0


def cmd_references(args) -> int:
    from course import references, spec
    from utils import data

    for assignment in _assignments(args.assignments):
        files = references.generate(spec.load(assignment))
        data.record_in_manifest(files, "course references")
        print(f"{assignment}: wrote " + ", ".join(str(f.relative_to(paths.REPO_ROOT)) for f in files))
    return 0


def cmd_new(args) -> int:
    from course import scaffold

    try:
        written = scaffold.create(args.assignment, title=args.title, function=args.function)
    except (ValueError, FileExistsError) as error:
        raise SystemExit(f"course new: {error}") from None
    for path in written:
        print(f"wrote {path.relative_to(paths.REPO_ROOT)}")
    print(f"next: `course sync {args.assignment}`, `course references {args.assignment}`, "
          f"`course release {args.assignment}` (docs/authoring.md)")
    return 0


def cmd_sync(args) -> int:
    from course import cells, spec

    status = 0
    for assignment in _assignments(args.assignments):
        changes = cells.sync(spec.load(assignment), write=not args.check)
        verb = "would change" if args.check else "changed"
        print(f"{assignment}: " + (f"{verb} " + "; ".join(changes) if changes else "test cells match the spec"))
        status |= bool(changes and args.check)
    return status


def cmd_release(args) -> int:
    from course import grading

    assignments = _assignments(args.assignments)
    grading.release(assignments)
    for assignment in assignments:
        print(f"released {assignment} -> assignments/{assignment}/")
    return 0


def _isolation(args) -> str:
    """``"bwrap"`` where bubblewrap runs, ``"none"`` only when asked for (or for the demo, with a warning)."""
    from course import sandbox

    if getattr(args, "no_isolation", False):
        print("WARNING: grading WITHOUT isolation (--no-isolation): " + sandbox.describe("none"))
        return "none"
    if sandbox.available():
        print("isolation: " + sandbox.describe("bwrap"))
        return "bwrap"
    if getattr(args, "demo", False):
        print("WARNING: bubblewrap is not installed (apt-get install bubblewrap), so the demo grades WITHOUT "
              "isolation: " + sandbox.describe("none"))
        return "none"
    raise SystemExit("course grade: bubblewrap is not available, so submissions cannot be isolated. Install it "
                     "(Debian/Ubuntu: apt-get install bubblewrap), grade in the container image (README), or "
                     "pass --no-isolation for trusted submissions only.")


def cmd_grade(args) -> int:
    """Autograde every submission folder under SUBMISSIONS/<student>/<assignment>/."""
    from course import grading, intake, judge

    source = Path(args.submissions).resolve()
    out = Path(args.out).resolve() if args.out else paths.grading_dir() / "class"
    if not source.is_dir():
        raise SystemExit(f"course grade: {source} is not a folder. Expected SUBMISSIONS/<student>/<assignment>/*.ipynb")
    if out == source or out in source.parents or source in out.parents:
        raise SystemExit("course grade: --out and the submissions folder must not contain each other")
    try:
        grading.check_class_folder(out)
    except FileExistsError as error:
        raise SystemExit(f"course grade: {error}") from None
    isolation = _isolation(args)
    found = intake.collect(source)
    if not found:
        raise SystemExit(f"course grade: no submission folders under {source}/<student>/<assignment>/")
    graded = sum(1 for entry in found if entry.graded)
    cannot = len(found) - graded
    print(f"grading {graded} notebooks into {out}"
          + (f"; {cannot} submission folders cannot be graded (listed with their reason)" if cannot else ""))
    print(_engine(args))
    results = grading.grade_class(out, found, hints=not args.no_hints, isolation=isolation,
                                  memory_mb=args.memory_mb, processes=args.processes, timeout=args.timeout,
                                  scratch_mb=args.scratch_mb,
                                  judge_limits=judge.JudgeLimits(memory_mb=args.judge_memory_mb,
                                                                 wall_s=args.judge_timeout),
                                  workers=args.workers, scheduler=args.scheduler, force=args.force,
                                  progress=not args.no_progress)
    _report(results, out)
    return 0


def _engine(args) -> str:
    if args.scheduler:
        return f"workers: the Dask cluster at {args.scheduler}"
    return f"workers: {args.workers} on this machine (a Dask LocalCluster)"


def _workers(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("--workers must be at least 1")
    return value


def _add_pool_options(p, default_workers: int) -> None:
    p.add_argument("--workers", type=_workers, default=default_workers,
                   help=f"grade this many submissions at once on this machine (default here: {default_workers}, "
                        "from its cores and memory)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="grade on the Dask cluster whose scheduler is at ADDRESS (tcp://host:8786) instead")
    p.add_argument("--force", action="store_true",
                   help="regrade every submission, even those an earlier run of this class folder graded")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _report(results, out: Path) -> None:
    from course import grading

    print()
    print(grading.score_table(results))
    print()
    print(f"gradebook CSV: {out / 'grades.csv'} (per cell: {out / 'cells.csv'})")
    print(f"feedback HTML: {out / 'feedback'}/<student>/<assignment>/")
    print(f"logs:          {out / 'logs'}/<student>.<assignment>.log")
    flagged = [f"{r.student}/{r.assignment}" for r in results if "verdicts differ" in r.reason]
    if flagged:
        print("VERDICTS DIFFER (the notebook showed a result the grader did not confirm; worth a look): "
              + ", ".join(flagged))


def cmd_bundle(args) -> int:
    """Write the zip a class receives (course/bundle.py says what is in it and what never is)."""
    from course import bundle

    out = Path(args.out).resolve() if args.out else bundle.default_out()
    try:
        written = bundle.build(out, _assignments(args.assignments) if args.assignments else None)
    except bundle.BundleError as error:
        raise SystemExit(f"course bundle: {error}") from None
    print(f"wrote {written} ({written.stat().st_size / 1e6:.1f} MB, {len(bundle.contents(written))} files)")
    return 0


def cmd_demo(args) -> int:
    from course import demo, grading, intake

    assignments = _assignments(args.assignments)
    print("1/3 regenerating the release from solutions/ ...")
    grading.release(assignments)
    out = paths.grading_dir() / "demo"
    print(f"2/3 autograding the demo class ({', '.join(demo.STUDENTS)}) into {out} ...")
    args.demo = True
    print(_engine(args))
    results = grading.grade_class(out, intake.handed_in(demo.class_submissions(assignments)),
                                  isolation=_isolation(args), workers=args.workers, scheduler=args.scheduler,
                                  force=args.force, progress=not args.no_progress)
    print("3/3 results")
    _report(results, out)
    problems = []
    for assignment in assignments:
        for student, expected in demo.expected_scores(assignment).items():
            got = next(r for r in results if r.student == student and r.assignment == assignment)
            if got.status != "graded" or abs(got.score - expected) > 1e-9:
                problems.append(f"{student}/{assignment}: expected {expected:g}, got {got.score:g} ({got.status})")
    if problems:
        print("\nUNEXPECTED SCORES:\n  " + "\n  ".join(problems))
        return 1
    print("\nEvery demo student got exactly the expected score.")
    return 0


def cmd_check(args) -> int:
    """The student's self-check: run the notebook like the grader, list failing cells."""
    from course import lab

    return lab.check(Path(args.notebook), args.timeout)


def cmd_lab(args) -> int:
    """Students: copy the release into a work folder (never overwriting) and open JupyterLab there with
    nbgrader's Validate button only. Instructors (--instructor): JupyterLab on the repository with
    everything nbgrader offers."""
    from course import lab

    extra = ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
    if args.instructor:
        print(f"instructor view of {paths.REPO_ROOT}: formgrader, assignment and course lists, create assignment")
        return 0 if args.copy_only else lab.run_lab(paths.REPO_ROOT, "instructor", extra)
    work = Path(args.workdir).resolve() if args.workdir else paths.REPO_ROOT / "my_work"
    for copied in lab.prepare_workdir(work):
        print(f"copied {copied.name} to {copied}")
    print(f"your notebooks are in {work} (your edits stay there; `git pull` never touches them)")
    print("in JupyterLab's terminal, `course check <notebook>` runs a notebook as the grader will")
    if args.copy_only:
        return 0
    return lab.run_lab(work, "student", extra)


def main(argv: list[str] | None = None) -> int:
    try:
        from course import judge, pool, sandbox
    except ImportError:  # the student bundle ships the student commands only
        judge = pool = sandbox = None

    parser = argparse.ArgumentParser(prog="course", description="The CNN course: data, release, grading, checks.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("data", help="regenerate datasets/ bit-for-bit and record hashes")
    p.set_defaults(func=cmd_data)
    p = sub.add_parser("weights", help="rebuild the assignments' pretrained networks (course/weights/) and "
                                       "record their hashes; training one can take most of an hour")
    p.add_argument("assignments", nargs="*", help="default: every assignment that declares a network")
    p.add_argument("--seed", type=int, default=None, help="override each network's own seed (its module's SEED)")
    p.set_defaults(func=cmd_weights)
    p = sub.add_parser("references", help="recompute the reference outputs of the solutions")
    p.add_argument("assignments", nargs="*")
    p.set_defaults(func=cmd_references)
    p = sub.add_parser("new", help="create the notebook, spec and helper module of a new assignment")
    p.add_argument("assignment", help="its id, e.g. 07_object_tracking")
    p.add_argument("--title", default="")
    p.add_argument("--function", default="my_function", help="the first graded function")
    p.set_defaults(func=cmd_new)
    p = sub.add_parser("sync", help="write the solution notebooks' test cells from their specs")
    p.add_argument("assignments", nargs="*")
    p.add_argument("--check", action="store_true", help="change nothing; exit 1 if a notebook differs from its spec")
    p.set_defaults(func=cmd_sync)
    p = sub.add_parser("release", help="sync test cells, then regenerate assignments/ from solutions/ with nbgrader")
    p.add_argument("assignments", nargs="*")
    p.set_defaults(func=cmd_release)
    if sandbox is not None:
        p = sub.add_parser("grade", help="autograde SUBMISSIONS/<student>/<assignment>/*.ipynb")
        p.add_argument("submissions", nargs="?", default=str(paths.grading_dir() / "submissions"))
        p.add_argument("--out", help="class folder for gradebook, feedback, CSV (default .grading/class)")
        p.add_argument("--no-hints", action="store_true", help="leave known-mistake hints out of the feedback (exams)")
        p.add_argument("--no-isolation", action="store_true",
                       help="run submissions without the bubblewrap sandbox (only for submissions you trust)")
        p.add_argument("--memory-mb", type=int, default=sandbox.DEFAULT_MEMORY_MB,
                       help=f"memory cap per submission (default {sandbox.DEFAULT_MEMORY_MB} MB)")
        p.add_argument("--processes", type=int, default=sandbox.DEFAULT_PROCESSES,
                       help=f"process cap per submission (default {sandbox.DEFAULT_PROCESSES})")
        p.add_argument("--timeout", type=int, default=300, help="wall limit per submission in seconds (default 300)")
        p.add_argument("--scratch-mb", type=int, default=sandbox.DEFAULT_SCRATCH_MB,
                       help=f"size of a submission's scratch folder (default {sandbox.DEFAULT_SCRATCH_MB} MB)")
        p.add_argument("--judge-memory-mb", type=int, default=judge.DEFAULT_JUDGE_MEMORY_MB,
                       help=f"memory cap of the judge of one submission (default {judge.DEFAULT_JUDGE_MEMORY_MB} MB)")
        p.add_argument("--judge-timeout", type=int, default=judge.DEFAULT_JUDGE_WALL_S,
                       help=f"wall limit of the judge of one submission (default {judge.DEFAULT_JUDGE_WALL_S} s)")
        _add_pool_options(p, pool.default_workers())
        p.set_defaults(func=cmd_grade)
    p = sub.add_parser("check", help="self-check a notebook before submitting (non-zero exit if a test fails)")
    p.add_argument("notebook")
    p.add_argument("--timeout", type=int, default=120, help="seconds per cell (default 120)")
    p.set_defaults(func=cmd_check)
    p = sub.add_parser("demo", help="release and autograde the demo class; print the score table")
    p.add_argument("assignments", nargs="*")
    if sandbox is not None:
        _add_pool_options(p, pool.default_workers())
    p.set_defaults(func=cmd_demo)
    p = sub.add_parser("bundle", help="write the zip a class receives: release, runtime, data, student commands")
    p.add_argument("assignments", nargs="*")
    p.add_argument("--out", help="the zip to write (default .grading/bundle/cnn-course-student.zip)")
    p.set_defaults(func=cmd_bundle)
    p = sub.add_parser("lab", help="open JupyterLab on your copy of the assignments")
    p.add_argument("--workdir", help="where your copies live (default my_work/)")
    p.add_argument("--copy-only", action="store_true", help="copy the notebooks, do not start JupyterLab")
    p.add_argument("--instructor", action="store_true",
                   help="JupyterLab on the repository with nbgrader's formgrader and lists "
                        "(students see Validate only)")
    p.set_defaults(func=cmd_lab)

    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130
    except ImportError as error:  # a student bundle (`course bundle`) ships the check and lab commands only
        if Path(__file__).with_name("spec.py").exists() or (error.name or "").split(".")[0] != "course":
            raise
        raise SystemExit(f"course {args.command}: an instructor command; this copy of the course "
                         "has the student commands (check, lab) only") from None


if __name__ == "__main__":
    sys.exit(main())
