"""End to end: one class graded with `course grade`, as an instructor would, with a hostile class in it.

The slow layer: real nbgrader, real kernels, each submission in its own sandbox, points from the
trusted judge. One run holds the demo class of every assignment, some known mistakes, files that
cannot be read, and students who attack the grader; the tests then read what an instructor reads
(grades.csv, cells.csv, the feedback, the gradebook).
"""

import csv
import json
import shutil
import socket
import subprocess
import sys
import threading

import pytest

from course import demo, grading, sandbox, spec

pytestmark = pytest.mark.slow

A = "01_happy_house"
NBGRADER_MISTAKES = ("conv_valid_padding",)  # every known mistake is checked in-process (test_assignments.py)
WRONG_FILTERS = ("tfl.Conv2D(32,", "tfl.Conv2D(16,")


def _wrong_happy() -> str:
    return grading.reference_answers(A)["happyModel"].replace(*WRONG_FILTERS)


def _attack(code: str, answer: str | None = None) -> dict:
    """A submission of 01 whose happyModel cell runs ``code`` first (then ``answer``, default: a wrong model)."""
    answers = grading.reference_answers(A)
    answers["happyModel"] = code + "\n" + (answer if answer is not None else _wrong_happy())
    return grading.submission(A, answers)


# Each attack was reproduced against the grader that trusted the kernel; here none may gain a point.
PATCH_CHECKS = "import utils.checking.grader as g\ng.check_probe = lambda *a, **k: None"
SILENCE_OBSERVER = "import utils.checking.observe as o\no.active = lambda: False"
FORGE_OBSERVATIONS = '''
import json, os, numpy as np, utils.checking.observe as o
from utils.checking import store
def forged(probe, fn):
    for part in ("public", "hidden"):
        try:
            stored = {p["key"]: p for p in store.load("01_happy_house", part)["probes"]}
        except Exception:
            continue
        if probe["key"] in stored:
            arrays = {}
            o._write(o.file_stem(probe["key"]), {"key": probe["key"], "value": o.encode(stored[probe["key"]]["expected"], arrays)}, arrays)
            return
o.observe_probe = forged'''
PATCH_COMPARISONS = '''
import builtins, utils.checking.compare as c
c.Close.difference = lambda *a, **k: None
c.Exact.difference = lambda *a, **k: None
c.Structure.difference = lambda *a, **k: None'''
READ_SECRETS = '''
import os
from utils import paths
root = paths.REPO_ROOT
secret = [str(p) for p in (root / "solutions", root / ".git", root / ".grading", root / "course",
                           paths.data_dir() / "references" / "01_happy_house.hidden.json") if os.path.exists(p)]
assert not secret, f"visible to the student: {secret}"'''
KILL_EVERYTHING = '''
import os, signal, subprocess, sys
subprocess.Popen([sys.executable, "-c", "import time\\nwhile True: time.sleep(1)"], start_new_session=True,
                 stdout=sys.stdout, stderr=sys.stderr)
for pid in os.listdir("/proc"):
    if pid.isdigit() and int(pid) not in (os.getpid(), 1):
        try:
            os.kill(int(pid), signal.SIGKILL)
        except OSError:
            pass'''
MEMORY_HOG = "hog = bytearray(16 << 30)"
NETWORK = '''
import socket
try:
    socket.create_connection(("127.0.0.1", PORT), timeout=3).sendall(b"answers")
except OSError:
    pass'''


@pytest.fixture(scope="module")
def listener():
    """A socket on this machine's loopback that a sandboxed submission must not reach."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.5)
    received, stop = [], threading.Event()

    def accept():
        while not stop.is_set():
            try:
                received.append(server.accept()[0].recv(100))
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1], received
    stop.set()
    thread.join(timeout=5)
    server.close()


@pytest.fixture(scope="module")
def graded(tmp_path_factory, listener):
    if not sandbox.available():
        pytest.skip("bubblewrap is not available (apt-get install bubblewrap); .ci/run installs it")
    port, received = listener
    submissions = tmp_path_factory.mktemp("submissions")

    def put(student, assignment, notebook, name=None):
        folder = submissions / student / assignment
        folder.mkdir(parents=True, exist_ok=True)
        name = name or spec.load(assignment).notebook
        (folder / name).write_text(notebook if isinstance(notebook, str) else json.dumps(notebook))

    # The hostile students come first: whatever they do must not touch the students graded after them.
    put("a_kills_everything", A, _attack(KILL_EVERYTHING, grading.reference_answers(A)["happyModel"]))
    put("a_memory_hog", A, _attack(MEMORY_HOG, grading.reference_answers(A)["happyModel"]))
    put("a_network", A, _attack(NETWORK.replace("PORT", str(port)), grading.reference_answers(A)["happyModel"]))
    put("a_patches_checks", A, _attack(PATCH_CHECKS))
    put("a_patches_comparisons", A, _attack(PATCH_COMPARISONS))  # what a builtins/import hook would reach
    put("a_silences_observer", A, _attack(SILENCE_OBSERVER))
    put("a_forges_observations", A, _attack(FORGE_OBSERVATIONS))
    put("a_reads_secrets", A, _attack(READ_SECRETS, grading.reference_answers(A)["happyModel"]))
    for assignment, per_student in [(a, s) for a in spec.ids() for s in [demo.class_submissions([a])]]:
        for student, notebooks in per_student.items():
            put(student, assignment, notebooks[assignment])
    for name in NBGRADER_MISTAKES:
        put(f"mistake_{name}", A, grading.submission(A, mutants=[spec.load(A).mistake(name)]))
    put("unreadable", A, "{ this is not json")
    put("empty_file", A, "")
    (submissions / "no_notebook" / A).mkdir(parents=True)
    stripped = grading.submission(A, grading.reference_answers(A))
    for cell in stripped["cells"]:
        cell["metadata"].pop("nbgrader", None)
    put("stripped_metadata", A, stripped)
    before = {p: p.read_bytes() for p in submissions.rglob("*") if p.is_file()}
    out = tmp_path_factory.mktemp("class") / "class"
    result = subprocess.run([sys.executable, "-m", "course.cli", "grade", str(submissions), "--out", str(out),
                             "--memory-mb", "3072"], capture_output=True, text=True, timeout=3600)
    rows = {(r["student"], r["assignment"]): r for r in csv.DictReader(open(out / "grades.csv"))} \
        if (out / "grades.csv").exists() else {}
    cells = {}
    if (out / "cells.csv").exists():
        for r in csv.DictReader(open(out / "cells.csv")):
            cells.setdefault((r["student"], r["assignment"]), {})[r["cell"]] = r
    return {"run": result, "out": out, "rows": rows, "cells": cells, "received": received,
            "submissions_untouched": before == {p: p.read_bytes() for p in submissions.rglob("*") if p.is_file()}}


def score(graded, student, assignment=A):
    return float(graded["rows"][(student, assignment)]["score"])


def test_the_run_completes_and_states_its_isolation(graded):
    run = graded["run"]
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "isolation: bubblewrap sandbox per submission" in run.stdout
    assert graded["submissions_untouched"]


def test_demo_students_get_exactly_the_expected_scores(graded):
    for assignment in spec.ids():
        for student, expected in demo.expected_scores(assignment).items():
            assert score(graded, student, assignment) == expected, (student, assignment)


def test_reference_full_marks_and_release_zero_on_every_cell(graded):
    for assignment in spec.ids():
        reference = graded["cells"][("reference", assignment)]
        assert all(c["score"] == c["max_score"] for c in reference.values())
        assert not any(c["verdicts_differ"] for c in reference.values())
        assert all(float(c["score"]) == 0 for c in graded["cells"][("untouched", assignment)].values())


def test_known_mistakes_lose_exactly_their_cells_under_nbgrader(graded):
    for name in NBGRADER_MISTAKES:
        cells = graded["cells"][(f"mistake_{name}", A)]
        lost = {cell for cell, c in cells.items() if float(c["score"]) < float(c["max_score"])}
        assert lost == set(spec.load(A).mistake(name).lost), name


@pytest.mark.parametrize("student", ["a_patches_checks", "a_patches_comparisons", "a_silences_observer",
                                     "a_forges_observations"])
def test_tampering_with_the_checks_in_the_kernel_gains_nothing(graded, student):
    """Each of these has a wrong happyModel and a correct convolutional_model: at most the 4 points of
    the correct one (tampering with the recorder also loses the cells after it), never 8."""
    happy = {cell: c for cell, c in graded["cells"][(student, A)].items() if cell.startswith("happyModel")}
    assert all(float(c["score"]) == 0 for c in happy.values()), happy
    assert score(graded, student) <= 4.0


def test_a_notebook_that_shows_passes_the_grader_rejects_is_flagged(graded):
    cells = graded["cells"][("a_patches_checks", A)]
    assert cells["happyModel_test_layers"]["notebook_verdict"] == "passed"
    assert cells["happyModel_test_layers"]["verdicts_differ"] == "yes"
    assert "verdicts differ" in graded["rows"][("a_patches_checks", A)]["reason"]
    feedback = next((graded["out"] / "feedback" / "a_patches_checks" / A).glob("*.html")).read_text()
    assert "course-trusted-grading" in feedback and "verdicts differ" in feedback


def test_the_sandbox_hides_solutions_hidden_references_and_the_network(graded):
    assert score(graded, "a_reads_secrets") == 8.0, graded["cells"][("a_reads_secrets", A)]
    assert score(graded, "a_network") == 8.0
    assert graded["received"] == []


def test_a_submission_that_kills_or_exhausts_only_hurts_itself(graded):
    hog = graded["rows"][("a_memory_hog", A)]
    # With a cgroup the kernel is killed at the cap; with the rlimit fallback the allocation fails.
    assert ("memory limit" in hog["reason"]) if hog["status"] == "partly graded" else float(hog["score"]) <= 4.0
    assert graded["rows"][("a_kills_everything", A)]["status"] in ("graded", "partly graded")
    # Graded after them, with full marks: nothing they did reached the run or the other students.
    assert score(graded, "reference") == 8.0
    leftover = subprocess.run(["pgrep", "-f", "while True: time.sleep"], capture_output=True, text=True)
    assert leftover.stdout.strip() == "", "a detached child of a submission outlived the run"


def test_every_submission_folder_has_a_row_with_a_status(graded):
    rows = graded["rows"]
    assert rows[("unreadable", A)]["status"] == "not graded" and "unreadable" in rows[("unreadable", A)]["reason"]
    assert rows[("empty_file", A)]["status"] == "not graded"
    assert rows[("no_notebook", A)]["status"] == "not graded"
    assert score(graded, "stripped_metadata") == 8.0 and "repaired" in rows[("stripped_metadata", A)]["reason"]


def test_feedback_and_gradebook_hold_the_trusted_scores(graded):
    from nbgrader.api import Gradebook

    out = graded["out"]
    with Gradebook(f"sqlite:///{out / 'gradebook.db'}") as gradebook:
        assert gradebook.find_submission(A, "a_patches_checks").score == 4.0
        assert gradebook.find_submission(A, "reference").score == 8.0
    for student in ("reference", "untouched", "partly_wrong", "hostile"):
        assert list((out / "feedback" / student / A).glob("*.html")), student


def test_a_second_run_never_deletes_a_folder_it_did_not_make(tmp_path):
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("mine")
    submissions = tmp_path / "submissions" / "ada" / A
    submissions.mkdir(parents=True)
    (submissions / "happy_house.ipynb").write_text("{}")
    result = subprocess.run([sys.executable, "-m", "course.cli", "grade", str(tmp_path / "submissions"), "--out",
                             str(precious), "--no-isolation"], capture_output=True, text=True, timeout=600)
    assert result.returncode != 0 and "not made by the course" in result.stdout + result.stderr
    assert (precious / "notes.txt").read_text() == "mine"
    shutil.rmtree(precious)
