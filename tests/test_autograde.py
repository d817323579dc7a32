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
import time
from html.parser import HTMLParser

import pytest

from course import demo, inprocess, sandbox, spec
from course.judge import DEFAULT_JUDGE_WALL_S

pytestmark = pytest.mark.slow

A = "01_happy_house"
NBGRADER_MISTAKES = ("conv_valid_padding",)  # every known mistake is checked in-process (test_assignments.py)
WRONG_FILTERS = ("tfl.Conv2D(32,", "tfl.Conv2D(16,")


def _wrong_happy() -> str:
    return inprocess.reference_answers(A)["happyModel"].replace(*WRONG_FILTERS)


def _attack(code: str, answer: str | None = None) -> dict:
    """A submission of 01 whose happyModel cell runs ``code`` first (then ``answer``, default: a wrong model)."""
    answers = inprocess.reference_answers(A)
    answers["happyModel"] = code + "\n" + (answer if answer is not None else _wrong_happy())
    return inprocess.submission(A, answers)


def _judge_attack(student: str) -> dict:
    code, answer = JUDGE_ATTACKS[student]
    if answer == "stub":  # the release's empty stubs, nothing else
        release = inprocess.submission(A)
        stub = next(c for c in release["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("grade_id")
                    == "happyModel")
        stub["source"] = code + "\n" + "".join(stub["source"])
        return release
    notebook = _attack(code, inprocess.reference_answers(A)["happyModel"] if answer == "reference" else None)
    if student == "j_script_in_feedback":
        notebook["cells"].insert(1, {"cell_type": "markdown", "metadata": {}, "id": "attack",
                                     "source": "<script>document.title = 'owned'</script>"})
    return notebook


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
            value = o.encode(stored[probe["key"]]["expected"], arrays)
            o._write(o.file_stem(probe["key"]), {"key": probe["key"], "value": value}, arrays)
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

# Attacks on the judge through the files a submission leaves (each replaces the recorder, so that every probe's
# observation is the forged one). Each was measured to crash, stall or fool the grader that read them directly.
FORGE = '''
import json, os, zipfile, utils.checking.observe as o
from pathlib import Path
OUT = Path(os.environ.get("COURSE_OBSERVATIONS", "/nonexistent"))
def layer(name, **config):
    return {"module": "keras.layers", "class_name": name, "config": config, "registered_name": None}
def sequential(*layers):
    return json.dumps({"module": "keras", "class_name": "Sequential", "config": {"name": "m", "layers": [
        layer("InputLayer", batch_shape=[None, 64, 64, 3], dtype="float32"), *layers]}})
def model(probe, text):
    (OUT / f"{o.file_stem(probe['key'])}.json").write_text(json.dumps({"key": probe["key"], "model": text}))
def value(probe, npz_bytes, document=None):
    stem = o.file_stem(probe["key"])
    (OUT / f"{stem}.npz").write_bytes(npz_bytes)
    (OUT / f"{stem}.json").write_text(document or json.dumps({"key": probe["key"], "value": {"$array": "v"}}))
def forged(probe, fn):
    OUT.mkdir(parents=True, exist_ok=True)
BODY
o.observe_probe = forged'''
HUGE_LAYER = 'model(probe, sequential(layer("Flatten"), layer("Dense", units=170_000)))'  # an 8 GiB weight matrix
MANY_LAYERS = 'model(probe, sequential(*[layer("Conv2D", filters=2048, kernel_size=[3, 3], padding="same")] * 600))'
SAVED_MODEL_LAYER = 'model(probe, sequential(layer("TFSMLayer", filepath="/tmp/program", call_endpoint="serve")))'
NPZ_BOMB = '''
    global BOMB
    if "BOMB" not in globals():
        import io, numpy as np
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            with archive.open("v.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array_header_1_0(member, {"descr": "<f4", "fortran_order": False,
                                                              "shape": (512 << 20,)})
                for _ in range(2048):  # 2 GiB of zeros, about 2 MB compressed
                    member.write(bytes(1 << 20))
        BOMB = buffer.getvalue()
    value(probe, BOMB)'''
NAMED_PIPE = '''
    path = OUT / f"{o.file_stem(probe['key'])}.json"
    if not path.exists():
        os.mkfifo(path)'''
CORRUPT_FILES = '''
    global TURN
    TURN = globals().get("TURN", -1) + 1
    kind = TURN % 4
    if kind == 0:
        value(probe, b"")  # an empty archive
    elif kind == 1:
        value(probe, b"PK\\x03\\x04" + bytes(100))  # not a zip
    elif kind == 2:
        import io, numpy as np
        buffer = io.BytesIO(); np.savez_compressed(buffer, v=np.arange(10000.0)); data = bytearray(buffer.getvalue())
        data[60:260] = bytes(200)  # corrupt deflate data
        value(probe, bytes(data))
    else:
        (OUT / f"{o.file_stem(probe['key'])}.json").write_text("[" * 100_000 + "]" * 100_000)'''
LINK_TO_CLASSMATE = '''
import os, shutil
from pathlib import Path
OUT = Path(os.environ.get("COURSE_OBSERVATIONS", "/nonexistent"))
shutil.rmtree(OUT, ignore_errors=True)
os.symlink(str(OUT).replace("/submission/", "/a_0_control/"), OUT)'''
LINK_TO_SOLUTIONS = '''
import os
from utils import paths
here = os.getcwd()  # nbgrader runs the notebook in the folder it writes the autograded copy to
os.rename(here, here + ".moved")
os.symlink(str(paths.REPO_ROOT / "solutions" / "01_happy_house"), here)'''
FLOODS = '''
import os
for _ in range(300):  # 300 MB to the grader's log
    os.write(1, b"x" * (1 << 20))
try:
    with open(os.path.join(os.environ.get("HOME", "."), "fill.bin"), "wb") as handle:
        for _ in range(2048):  # 2 GB into the scratch folder
            handle.write(bytes(1 << 20))
except OSError:
    pass
os.remove(os.path.join(os.environ.get("HOME", "."), "fill.bin"))'''
SCRIPT_OUTPUT = '''
from IPython.display import HTML, Javascript, display
display(HTML("<script>document.title = 'owned'</script><img src=x onerror=\\"document.title = 'owned'\\">"))
display(Javascript("document.title = 'owned'"))'''
JUDGE_ATTACKS = {  # student: (code, the happyModel answer: None for a wrong one, "stub" for the release's)
    "j_huge_layer": (FORGE.replace("BODY", "    " + HUGE_LAYER), None),
    "j_many_layers": (FORGE.replace("BODY", "    " + MANY_LAYERS), None),
    "j_saved_model_layer": (FORGE.replace("BODY", "    " + SAVED_MODEL_LAYER), None),
    "j_npz_bomb": (FORGE.replace("BODY", NPZ_BOMB), None),
    "j_named_pipe": (FORGE.replace("BODY", NAMED_PIPE), None),
    "j_corrupt_files": (FORGE.replace("BODY", CORRUPT_FILES), None),
    "j_links_to_classmate": (LINK_TO_CLASSMATE, "stub"),
    "j_links_to_solutions": (LINK_TO_SOLUTIONS, None),
    "j_floods_log_and_scratch": (FLOODS, "reference"),
    "j_script_in_feedback": (SCRIPT_OUTPUT, "reference"),
}
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
    # Controls with full marks are graded before (a_0_control) and after (z_control) every attack.
    put("a_0_control", A, inprocess.submission(A, inprocess.reference_answers(A)))
    for student in JUDGE_ATTACKS:
        put(student, A, _judge_attack(student))
    put("z_control", A, inprocess.submission(A, inprocess.reference_answers(A)))
    put("a_kills_everything", A, _attack(KILL_EVERYTHING, inprocess.reference_answers(A)["happyModel"]))
    put("a_memory_hog", A, _attack(MEMORY_HOG, inprocess.reference_answers(A)["happyModel"]))
    put("a_network", A, _attack(NETWORK.replace("PORT", str(port)), inprocess.reference_answers(A)["happyModel"]))
    put("a_patches_checks", A, _attack(PATCH_CHECKS))
    put("a_patches_comparisons", A, _attack(PATCH_COMPARISONS))  # what a builtins/import hook would reach
    put("a_silences_observer", A, _attack(SILENCE_OBSERVER))
    put("a_forges_observations", A, _attack(FORGE_OBSERVATIONS))
    put("a_reads_secrets", A, _attack(READ_SECRETS, inprocess.reference_answers(A)["happyModel"]))
    for assignment, per_student in [(a, s) for a in spec.ids() for s in [demo.class_submissions([a])]]:
        for student, notebooks in per_student.items():
            put(student, assignment, notebooks[assignment])
    for name in NBGRADER_MISTAKES:
        put(f"mistake_{name}", A, inprocess.submission(A, mutants=[spec.load(A).mistake(name)]))
    put("unreadable", A, "{ this is not json")
    put("empty_file", A, "")
    (submissions / "no_notebook" / A).mkdir(parents=True)
    stripped = inprocess.submission(A, inprocess.reference_answers(A))
    for cell in stripped["cells"]:
        cell["metadata"].pop("nbgrader", None)
    put("stripped_metadata", A, stripped)
    before = {p: p.read_bytes() for p in submissions.rglob("*") if p.is_file()}
    out = tmp_path_factory.mktemp("class") / "class"
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "course.cli", "grade", str(submissions), "--out", str(out),
                             "--memory-mb", "3072", "--workers", "2"], capture_output=True, text=True, timeout=3600)
    rows = {(r["student"], r["assignment"]): r for r in csv.DictReader(open(out / "grades.csv"))} \
        if (out / "grades.csv").exists() else {}
    cells = {}
    if (out / "cells.csv").exists():
        for r in csv.DictReader(open(out / "cells.csv")):
            cells.setdefault((r["student"], r["assignment"]), {})[r["cell"]] = r
    return {"run": result, "out": out, "rows": rows, "cells": cells, "received": received,
            "seconds": time.perf_counter() - started,
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


# ---------------------------------------------------------------------------
# Attacks on the judge through the files a submission leaves
# ---------------------------------------------------------------------------


def problems(graded, student) -> str:
    return " ".join(c["problem"] for c in graded["cells"][(student, A)].values())


def test_the_controls_around_the_judge_attacks_get_full_marks(graded):
    for student in ("a_0_control", "z_control", "reference"):
        assert score(graded, student) == 8.0, graded["cells"][(student, A)]
        assert graded["rows"][(student, A)]["status"] == "graded"


def test_every_judge_attack_has_a_row_and_the_run_finishes_in_its_time_bound(graded):
    assert graded["run"].returncode == 0
    for student in JUDGE_ATTACKS:
        assert (student, A) in graded["rows"], student
    # Each submission is bounded by its sandbox's wall limit plus its judge's; the class by their sum.
    submissions = len(graded["rows"])
    assert graded["seconds"] < submissions * (300 + 60 + DEFAULT_JUDGE_WALL_S)


@pytest.mark.parametrize("student, why", [
    ("j_huge_layer", "larger than any answer in this course"),
    ("j_many_layers", "larger than any answer in this course"),
    ("j_saved_model_layer", "keras.layers.TFSMLayer, which the grader does not rebuild"),
    ("j_npz_bomb", "too large"),
    ("j_corrupt_files", "unreadable"),
])
def test_forged_observations_gain_nothing_and_say_why(graded, student, why):
    assert score(graded, student) == 0.0, graded["cells"][(student, A)]
    assert why in problems(graded, student)


def test_corrupt_files_of_every_kind_are_reported(graded):
    text = problems(graded, "j_corrupt_files")
    assert "BadZipFile" in text and "nested 100000 levels deep" in text


def test_a_named_pipe_is_refused_without_stalling_the_grader(graded):
    assert score(graded, "j_named_pipe") == 0.0
    assert "not a regular file" in graded["rows"][("j_named_pipe", A)]["reason"]


def test_links_out_of_the_scratch_folder_are_refused_and_reported(graded):
    assert score(graded, "j_links_to_classmate") == 0.0
    assert "refused observations: a link to" in graded["rows"][("j_links_to_classmate", A)]["reason"]
    assert score(graded, "j_links_to_solutions") <= 4.0
    assert "a link to" in graded["rows"][("j_links_to_solutions", A)]["reason"]


def test_no_solution_reaches_a_students_feedback_or_autograded_copy(graded):
    out = graded["out"]
    for student in [*JUDGE_ATTACKS, "a_reads_secrets", "hostile"]:
        for page in (out / "feedback" / student / A).glob("*.html"):
            assert "BEGIN SOLUTION" not in page.read_text(), student
        for notebook in (out / "autograded" / student / A).glob("*.ipynb"):
            assert "BEGIN SOLUTION" not in notebook.read_text(), student
            assert not notebook.is_symlink() and not notebook.parent.is_symlink()


def test_output_and_scratch_floods_are_capped(graded):
    assert score(graded, "j_floods_log_and_scratch") == 8.0, graded["cells"][("j_floods_log_and_scratch", A)]
    log = graded["out"] / "logs" / f"j_floods_log_and_scratch.{A}.log"
    assert log.stat().st_size <= sandbox.LOG_BYTES + 1024
    assert "bytes of output cut" in log.read_text(errors="replace")


class _ActiveContent(HTMLParser):
    """Scripts and event-handler attributes that carry the attack's marker."""

    def __init__(self):
        super().__init__()
        self.found, self._in_script = [], False

    def handle_starttag(self, tag, attrs):
        self._in_script = tag == "script"
        self.found += [f"{tag} {name}" for name, value in attrs if name.startswith("on") and "owned" in (value or "")]

    def handle_data(self, data):
        if self._in_script and "owned" in data:
            self.found.append("script")


def test_feedback_carries_no_script_from_a_students_outputs(graded):
    assert score(graded, "j_script_in_feedback") == 8.0
    page = next((graded["out"] / "feedback" / "j_script_in_feedback" / A).glob("*.html")).read_text()
    parser = _ActiveContent()
    parser.feed(page)
    assert parser.found == []
    assert "owned" in page  # the attack's text is shown, escaped, not dropped unseen
