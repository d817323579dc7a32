"""Class-scale grading without running a notebook: result keys, the result store, the worker pool.

The slow tests that grade real submissions through the pool, kill a run and
resume it, and compare engines are in test_class_scale.py.
"""

from __future__ import annotations

import copy
import json

import pytest

from course import grading, inprocess, intake, pool, sandbox

A = "01_happy_house"
SETTINGS = {"hints": True, "isolation": "bwrap", "wall_s": 300, "memory_mb": 4096, "processes": 256,
            "scratch_mb": 512, "judge": {"memory_mb": 3500, "cpu_s": 120, "wall_s": 180}}


@pytest.fixture(scope="module")
def notebook() -> dict:
    return inprocess.submission(A)


def entry(notebook: dict, student: str = "ada") -> intake.Submission:
    return intake.handed_in({student: {A: notebook}})[0]


def test_a_key_changes_with_the_notebook_the_student_the_settings_and_the_course(notebook, monkeypatch):
    key = grading.submission_key(entry(notebook), SETTINGS)
    assert key == grading.submission_key(entry(copy.deepcopy(notebook)), dict(SETTINGS))
    edited = copy.deepcopy(notebook)
    edited["cells"][-1]["source"] = "# an edit\n"
    assert grading.submission_key(entry(edited), SETTINGS) != key
    assert grading.submission_key(entry(notebook, "grace"), SETTINGS) != key
    assert grading.submission_key(entry(notebook), dict(SETTINGS, hints=False)) != key
    assert grading.submission_key(entry(notebook), dict(SETTINGS, memory_mb=2048)) != key
    monkeypatch.setattr(grading, "course_version", lambda assignment: "another release")
    assert grading.submission_key(entry(notebook), SETTINGS) != key


def test_the_course_version_follows_the_release_references_and_runtime():
    version = grading.course_version(A)
    assert len(version) == 20 and version == grading.course_version(A)
    assert grading.course_version("02_resnets") != version  # another release and other references


def payload(score: float) -> dict:
    result = grading.StudentResult("ada", A, score=score, max_score=8.0,
                                   cells={"happyModel_test_layers": grading.CellGrade(score, 8.0)})
    return {"result": grading.dataclasses.asdict(result), "notebook": {"cells": []},
            "logs": {"student.01_happy_house.log": b"log text"}, "store": True}


def test_the_store_keeps_what_is_needed_across_an_interrupted_and_a_complete_run(tmp_path):
    final, partial = tmp_path / "class", tmp_path / "class.partial"
    store = grading.ResultStore.carry_over(partial, final, {"k1", "k2"}, force=False)
    secret = store.secret
    store.save("k1", payload(8.0))
    assert store.load("k1")["result"]["score"] == 8.0 and store.load("k1")["logs"]["student.01_happy_house.log"] \
        == b"log text"
    assert store.load("k2") is None
    # Killed here: the next run keeps k1 and the secret, so the same submission gets the same seeds.
    again = grading.ResultStore.carry_over(partial, final, {"k1", "k2"}, force=False)
    assert again.load("k1") is not None and again.secret == secret
    assert again.rng("k2").integers(1 << 30) == store.rng("k2").integers(1 << 30)
    assert again.rng("k1").integers(1 << 30) != again.rng("k2").integers(1 << 30)
    again.save("k2", payload(4.0))
    partial.rename(final)  # the run completed
    later = grading.ResultStore.carry_over(partial, final, {"k2", "k3"}, force=False)
    assert later.load("k2")["result"]["score"] == 4.0 and later.secret == secret
    assert later.load("k1") is None  # no longer part of the class: not carried over
    forced = grading.ResultStore.carry_over(partial, final, {"k2"}, force=True)
    assert forced.load("k2") is None and forced.secret == secret


def test_a_half_written_result_is_no_result(tmp_path):
    store = grading.ResultStore.carry_over(tmp_path / "c.partial", tmp_path / "c", {"k1"}, force=False)
    (store.folder / "k1").mkdir()
    (store.folder / "k1" / "result.json").write_text('{"result": ')
    assert store.load("k1") is None
    store.save("k1", payload(8.0))
    assert store.load("k1")["result"]["score"] == 8.0
    assert [p.name for p in store.folder.iterdir() if p.name.startswith(".")] == []


def test_the_store_never_empties_a_folder_the_course_did_not_make(tmp_path):
    precious = tmp_path / "class.partial"
    precious.mkdir()
    (precious / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError):
        grading.ResultStore.carry_over(precious, tmp_path / "class", set(), force=False)
    assert (precious / "notes.txt").read_text() == "mine"


def test_a_worker_without_bubblewrap_refuses(monkeypatch, notebook):
    monkeypatch.setattr(grading, "_sandbox_available", lambda: False)
    task = {"assignment": A, "student": "ada", "notebook": notebook, "settings": SETTINGS}
    with pytest.raises(sandbox.IsolationUnavailable, match="refuses to grade without isolation"):
        grading.grade_task(task)


def _square(task: dict) -> dict:
    if task["n"] == 3:
        raise ValueError("three")
    return {"n": task["n"] ** 2}


def test_the_pool_returns_every_task_once_and_turns_failures_into_rows():
    seen = {}
    pool.run(_square, [{"n": n} for n in range(5)], lambda task, result: seen.setdefault(task["n"], result),
             workers=2, failed=lambda task, error: {"failed": str(error)})
    assert seen == {0: {"n": 0}, 1: {"n": 1}, 2: {"n": 4}, 3: {"failed": "three"}, 4: {"n": 16}}


def test_a_failed_worker_gives_a_row_that_is_not_stored(notebook):
    failed = grading._worker_failed({"assignment": A, "student": "ada"}, RuntimeError("worker died"))
    assert failed["store"] is False
    assert failed["result"]["status"] == "not graded" and "worker died" in failed["result"]["reason"]
    assert failed["result"]["max_score"] == 8.0


def test_workers_and_threads_fit_the_machine():
    assert pool.default_workers() >= 1
    assert pool.threads_per_worker(1) is None
    assert pool.threads_per_worker(2) >= 1
    assert grading.thread_environment(None) == {}
    assert grading.thread_environment(1)["TF_NUM_INTRAOP_THREADS"] == "1"


def test_grades_csv_has_no_timing_and_timing_csv_has(tmp_path):
    result = grading.StudentResult("ada", A, score=8.0, max_score=8.0, seconds=12.3,
                                   judge={"answer_s": 0.4, "peak_mb": 600.0})
    grading._write_csv(tmp_path, [result])
    assert "12.3" not in (tmp_path / "grades.csv").read_text()
    assert "12.3" in (tmp_path / "timing.csv").read_text()
    json.dumps(grading.dataclasses.asdict(result))  # a row travels from a worker as JSON-able data


# ---------------------------------------------------------------------------
# Cells grading does not run
# ---------------------------------------------------------------------------


def _code(notebook: dict, cell_id: str) -> str:
    from course import cells

    return next(cells.source(c) for c in notebook["cells"] if c.get("id") == cell_id)


def test_cells_after_the_last_test_and_display_cells_are_not_run_while_grading(notebook):
    from course import cells, spec

    a = spec.load(A)
    graded, skipped = cells.skipped_while_grading(a, inprocess.submission(A, inprocess.reference_answers(A)))
    release = cells.read(cells.release_notebook(a))
    ids = [c.get("id") for c in release["cells"] if c["cell_type"] == "code"]
    last_test = max(i for i, c in enumerate(release["cells"]) if cells.is_graded_test(c))
    after = [c.get("id") for c in release["cells"][last_test + 1:] if c["cell_type"] == "code"]
    assert after and set(after) <= set(skipped) and set(a.display_only) <= set(skipped)
    assert set(skipped) == set(after) | set(a.display_only)
    for cell in graded["cells"]:
        if cell.get("id") in skipped:
            assert cells.source(cell).startswith(cells.NOT_RUN_WHILE_GRADING)
        elif cell["cell_type"] == "code":
            assert not cells.source(cell).startswith("# Not run")
    assert [c.get("id") for c in graded["cells"] if c["cell_type"] == "code"] == ids  # every cell is still there
    # Set-up, answer and test cells always run.
    assert not {c.get("id") for c in release["cells"] if cells.grading_meta(c)} & set(skipped)


def test_a_display_cell_runs_when_a_student_uses_what_it_defines_or_edited_it(notebook):
    from course import cells, spec

    a = spec.load(A)
    answers = inprocess.reference_answers(A)
    # This student's happyModel reads the notebook's X_train, which the data cell defines.
    answers["happyModel"] = answers["happyModel"].replace("def happyModel():", "def happyModel():\n    _ = X_train")
    _, skipped = cells.skipped_while_grading(a, inprocess.submission(A, answers))
    assert "d55fa469" not in skipped and "ef7a224b" in skipped
    # A local of the same name is no use of the notebook's name.
    answers = inprocess.reference_answers(A)
    answers["happyModel"] = answers["happyModel"].replace("def happyModel():", "def happyModel(X_train=None):")
    _, skipped = cells.skipped_while_grading(a, inprocess.submission(A, answers))
    assert "d55fa469" in skipped
    # An edited display cell is the student's code now: it runs.
    edited = inprocess.submission(A, inprocess.reference_answers(A))
    for cell in edited["cells"]:
        if cell.get("id") == "ef7a224b":
            cell["source"] = "X_train = None  # mine\n"
    graded, skipped = cells.skipped_while_grading(a, edited)
    assert "ef7a224b" not in skipped and _code(graded, "ef7a224b") == "X_train = None  # mine\n"


def test_names_a_cell_binds_and_mentions():
    from course.cells import _names

    bound, mentioned = _names("import numpy as np\nx, y = f(a)\ndef g(b):\n    c = b + d\n    return c\n"
                              "for i in r: pass\nclass K: z = 1\n")
    assert bound == {"np", "x", "y", "g", "i", "K"}
    assert {"f", "a", "d", "r"} <= mentioned and not {"b", "c"} & mentioned
    assert _names("def h():\n    global q\n    q = 1\n")[0] == {"h", "q"}
    assert _names("%time x = X_train.sum()\n") == (set(), {"time", "x", "X_train", "sum"})
