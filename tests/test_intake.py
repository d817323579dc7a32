"""course.intake: every submission folder becomes one row, damaged nbgrader metadata is repaired.

Submission trees are built in tmp dirs from the real release notebook of 01;
nothing runs a notebook, so these tests need neither TensorFlow nor nbgrader's
autograde.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import nbformat
import pytest

from course import cells, intake, spec

A = "01_happy_house"
NAME = "happy_house.ipynb"


@pytest.fixture(scope="module")
def release_text() -> str:
    return cells.release_notebook(spec.load(A)).read_text()


@pytest.fixture
def release(release_text) -> dict:
    return json.loads(release_text)


def graded(notebook: dict) -> dict[str, dict]:
    """grade_id -> nbgrader metadata of the graded cells (each grade_id once)."""
    found = [(cells.grade_id(c), dict(cells.grading_meta(c))) for c in notebook["cells"] if cells.grade_id(c)]
    ids = [gid for gid, _ in found]
    assert len(ids) == len(set(ids)), f"repeated grade_ids: {ids}"
    return dict(found)


def index(notebook: dict, grade_id: str) -> int:
    return next(i for i, c in enumerate(notebook["cells"]) if cells.grade_id(c) == grade_id)


def strip(notebook: dict) -> dict:
    """The notebook with every cell's nbgrader metadata removed (cells copied into a fresh notebook)."""
    for cell in notebook["cells"]:
        cell["metadata"].pop("nbgrader", None)
    return notebook


def put(root: Path, student: str, content, name: str = NAME, assignment: str = A) -> Path:
    folder = root / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, str):
        path.write_text(content)
    else:
        path.write_text(json.dumps(content, indent=1))
    return path


def one(root: Path) -> intake.Submission:
    rows = intake.collect(root, [A])
    assert len(rows) == 1, rows
    return rows[0]


def sources(notebook: dict) -> list[str]:
    return [cells.source(c) for c in notebook["cells"]]


def assert_release_metadata(row: intake.Submission, release: dict) -> None:
    assert row.notebook is not None
    assert graded(row.notebook) == graded(release)
    nbformat.validate(row.notebook)


# ---------------------------------------------------------------------------
# Clean submissions
# ---------------------------------------------------------------------------


def test_clean_submission_is_ok_and_unchanged(tmp_path, release_text):
    path = put(tmp_path, "alice", release_text)
    row = one(tmp_path)
    assert (row.student, row.assignment, row.status, row.notes) == ("alice", A, "ok", [])
    assert row.path == path and row.graded
    assert row.notebook == nbformat.reads(release_text, as_version=4)
    assert nbformat.writes(row.notebook) + "\n" == release_text


def test_answered_submission_keeps_its_code(tmp_path, release):
    release["cells"][index(release, "happyModel")]["source"] = "def happyModel():\n    return 42\n"
    put(tmp_path, "alice", release)
    row = one(tmp_path)
    assert row.status == "ok"
    assert cells.source(row.notebook["cells"][index(release, "happyModel")]) == "def happyModel():\n    return 42\n"


# ---------------------------------------------------------------------------
# Repairs of nbgrader metadata
# ---------------------------------------------------------------------------


def test_stripped_metadata_is_restored(tmp_path, release):
    submitted = strip(copy.deepcopy(release))
    answer = index(release, "happyModel")
    submitted["cells"][answer]["source"] = "def happyModel():\n    return 'my model'\n"
    put(tmp_path, "bob", submitted)
    row = one(tmp_path)
    assert row.status == "repaired"
    assert_release_metadata(row, release)
    assert sources(row.notebook) == sources(submitted)  # only metadata changed
    assert f"cell {answer + 1}: nbgrader metadata restored (happyModel: defines happyModel())" in row.notes
    assert f"cell {index(release, 'setup') + 1}: nbgrader metadata restored (setup: same source)" in row.notes
    assert all(n.startswith("cell ") and "restored" in n for n in row.notes)


def test_renamed_grade_ids_are_restored(tmp_path, release):
    test = index(release, "happyModel_test_forward")
    answer = index(release, "convolutional_model")
    release_meta = graded(release)
    submitted = copy.deepcopy(release)
    submitted["cells"][test]["metadata"]["nbgrader"]["grade_id"] = "my_test"
    submitted["cells"][answer]["metadata"]["nbgrader"]["grade_id"] = "conv"
    put(tmp_path, "bob", submitted)
    row = one(tmp_path)
    assert row.status == "repaired"
    assert graded(row.notebook) == release_meta
    assert row.notes == [
        f"cell {test + 1}: nbgrader metadata restored (happyModel_test_forward: same source)",
        f"cell {answer + 1}: nbgrader metadata restored (convolutional_model: defines convolutional_model())",
    ]


def test_unknown_grade_id_is_removed(tmp_path, release):
    submitted = copy.deepcopy(release)
    free = 4  # a plain code cell of the release
    assert not cells.grading_meta(submitted["cells"][free])
    submitted["cells"][free]["metadata"]["nbgrader"] = {"grade": True, "grade_id": "bonus", "locked": True,
                                                         "points": 100, "schema_version": 3, "solution": False,
                                                         "task": False}
    put(tmp_path, "eve", submitted)
    row = one(tmp_path)
    assert row.status == "repaired"
    assert row.notes == [f"cell {free + 1}: unknown grade_id 'bonus' removed"]
    assert_release_metadata(row, release)
    assert "nbgrader" not in row.notebook["cells"][free]["metadata"]


def test_duplicate_grade_id_keeps_the_first_answer(tmp_path, release):
    answer = index(release, "happyModel")
    submitted = copy.deepcopy(release)
    submitted["cells"][answer]["source"] = "def happyModel():\n    return 1\n"
    scratch = copy.deepcopy(submitted["cells"][answer])
    scratch["id"] = "scratch1"
    scratch["source"] = "def happyModel():\n    return 2\n"
    submitted["cells"].append(scratch)
    put(tmp_path, "bob", submitted)
    row = one(tmp_path)
    last = len(submitted["cells"])
    assert row.status == "repaired"
    assert row.notes == [f"cell {last}: duplicate grade_id 'happyModel' removed (cell {answer + 1} has it)"]
    assert_release_metadata(row, release)
    assert index(row.notebook, "happyModel") == answer
    assert sources(row.notebook) == sources(submitted)


def test_duplicate_prefers_the_answered_copy_over_the_stub(tmp_path, release):
    answer = index(release, "happyModel")
    submitted = copy.deepcopy(release)
    copied = copy.deepcopy(submitted["cells"][answer])
    copied["id"] = "copy1"
    copied["source"] = "def happyModel():\n    return 'answered'\n"
    submitted["cells"].insert(answer + 1, copied)
    put(tmp_path, "bob", submitted)
    row = one(tmp_path)
    assert row.notes == [f"cell {answer + 1}: duplicate grade_id 'happyModel' removed (cell {answer + 2} has it)"]
    assert index(row.notebook, "happyModel") == answer + 1


def test_split_answer_cell(tmp_path, release):
    """Jupyter's split keeps the metadata on both halves; the half that defines the function keeps it."""
    answer = index(release, "happyModel")
    submitted = copy.deepcopy(release)
    helper = copy.deepcopy(submitted["cells"][answer])
    helper["id"] = "helper1"
    helper["source"] = "def conv_block(x):\n    return x\n"
    submitted["cells"].insert(answer, helper)
    put(tmp_path, "bob", submitted)
    row = one(tmp_path)
    assert row.status == "repaired"
    assert row.notes == [f"cell {answer + 1}: duplicate grade_id 'happyModel' removed (cell {answer + 2} has it)"]
    assert index(row.notebook, "happyModel") == answer + 1
    assert_release_metadata(row, release)


def test_split_answer_cell_without_metadata(tmp_path, release):
    answer = index(release, "happyModel")
    submitted = strip(copy.deepcopy(release))
    code = cells.source(submitted["cells"][answer])
    submitted["cells"][answer]["source"] = "import math\n\ndef helper():\n    return 1\n"
    extra = nbformat.v4.new_code_cell(code)
    submitted["cells"].insert(answer + 1, json.loads(json.dumps(extra)))
    put(tmp_path, "bob", submitted)
    row = one(tmp_path)
    assert row.status == "repaired"
    assert index(row.notebook, "happyModel") == answer + 1
    assert_release_metadata(row, release)


def test_merged_answer_cells(tmp_path, release):
    """Two answers merged into one cell: the first keeps its metadata, the second answer is reported missing."""
    first, second = index(release, "happyModel"), index(release, "convolutional_model")
    submitted = copy.deepcopy(release)
    merged = cells.source(submitted["cells"][first]) + "\n\n" + cells.source(submitted["cells"][second])
    submitted["cells"][first]["source"] = merged
    del submitted["cells"][second]
    put(tmp_path, "bob", submitted)
    row = one(tmp_path)
    assert row.status == "ok"  # nothing to change; the missing answer is reported
    assert row.notes == [f"no answer for convolutional_model found (cell {first + 1} defines it but holds "
                         "another graded cell)"]
    assert cells.source(row.notebook["cells"][first]) == merged
    assert set(graded(row.notebook)) == set(graded(release)) - {"convolutional_model"}


def test_reordered_cells_without_metadata(tmp_path, release):
    submitted = strip(copy.deepcopy(release))
    submitted["cells"].reverse()
    put(tmp_path, "bob", submitted)
    row = one(tmp_path)
    assert row.status == "repaired"
    assert_release_metadata(row, release)
    assert sources(row.notebook) == sources(submitted)


def test_reordered_cells_with_metadata_are_ok(tmp_path, release):
    submitted = copy.deepcopy(release)
    submitted["cells"].reverse()
    put(tmp_path, "bob", submitted)
    row = one(tmp_path)
    assert (row.status, row.notes) == ("ok", [])


def test_edited_locked_cell_is_matched_by_likeness(tmp_path, release):
    setup = index(release, "setup")
    submitted = strip(copy.deepcopy(release))
    submitted["cells"][setup]["source"] = cells.source(submitted["cells"][setup]) + "\nprint('hello')\n"
    put(tmp_path, "bob", submitted)
    row = one(tmp_path)
    assert_release_metadata(row, release)
    note = next(n for n in row.notes if n.startswith(f"cell {setup + 1}:"))
    assert "(setup: similar source" in note


def test_wrong_role_and_changed_points_are_restored(tmp_path, release):
    answer, test = index(release, "happyModel"), index(release, "happyModel_test_forward")
    submitted = copy.deepcopy(release)
    submitted["cells"][answer]["metadata"]["nbgrader"].update(solution=False, locked=True)
    submitted["cells"][test]["metadata"]["nbgrader"]["points"] = 50
    put(tmp_path, "bob", submitted)
    row = one(tmp_path)
    assert row.status == "repaired"
    assert row.notes == [
        f"cell {answer + 1}: nbgrader metadata restored (happyModel: defines happyModel())",
        f"cell {test + 1}: nbgrader metadata of happyModel_test_forward differed from the release (points); "
        "restored",
    ]
    assert_release_metadata(row, release)


def test_invalid_nbgrader_metadata_is_removed(tmp_path, release):
    submitted = copy.deepcopy(release)
    submitted["cells"][4]["metadata"]["nbgrader"] = "garbage"
    submitted["cells"][5]["metadata"]["nbgrader"] = {"solution": True, "grade": False, "locked": False}
    submitted["cells"][13]["metadata"]["nbgrader"] = {"solution": False, "grade": False, "locked": False}
    put(tmp_path, "bob", submitted)
    row = one(tmp_path)
    assert row.notes == ["cell 5: nbgrader metadata that is not an object removed",
                         "cell 6: nbgrader metadata without a grade_id removed"]
    assert row.notebook["cells"][13]["metadata"]["nbgrader"] == submitted["cells"][13]["metadata"]["nbgrader"]
    assert_release_metadata(row, release)


def test_deleted_test_cell_is_left_to_nbgrader(tmp_path, release):
    submitted = copy.deepcopy(release)
    del submitted["cells"][index(release, "happyModel_test_layers")]
    put(tmp_path, "bob", submitted)
    row = one(tmp_path)
    assert row.status == "ok"
    assert row.notes == ["test cell happyModel_test_layers not found; nbgrader adds it back when grading"]


def test_deleted_answer_and_its_first_test_is_flagged(tmp_path, release):
    submitted = copy.deepcopy(release)
    for gid in ("happyModel_test_interface", "happyModel"):
        del submitted["cells"][index(submitted, gid)]
    put(tmp_path, "bob", submitted)
    row = one(tmp_path)
    assert row.notes[0] == "no answer for happyModel found"
    assert row.notes[1].startswith("test cell happyModel_test_interface not found; nbgrader adds it back when "
                                   "grading, but it cannot: happyModel")
    assert len(row.notes) == 2


def test_deleted_setup_cell_is_reported(tmp_path, release):
    submitted = copy.deepcopy(release)
    del submitted["cells"][index(release, "setup")]
    put(tmp_path, "bob", submitted)
    row = one(tmp_path)
    assert row.status == "ok"
    assert row.notes == ["locked cell setup not found; nbgrader does not add it back, so the notebook runs "
                         "without it"]


def test_repaired_notebooks_pass_nbgrader_metadata_checks(tmp_path, release):
    validator = pytest.importorskip("nbgrader.nbgraderformat").MetadataValidator()
    stripped = strip(copy.deepcopy(release))
    duplicated = copy.deepcopy(release)
    duplicated["cells"].append(dict(copy.deepcopy(duplicated["cells"][index(release, "setup")]), id="dup1"))
    renamed = copy.deepcopy(release)
    renamed["cells"][index(release, "happyModel")]["metadata"]["nbgrader"]["grade_id"] = "x"
    for student, notebook in [("a", stripped), ("b", duplicated), ("c", renamed)]:
        put(tmp_path, student, notebook)
    with pytest.raises(Exception, match="Duplicate grade id"):
        validator.validate_nb(nbformat.from_dict(duplicated))
    rows = intake.collect(tmp_path, [A])
    assert [r.status for r in rows] == ["repaired"] * 3
    for row in rows:
        validator.validate_nb(nbformat.from_dict(copy.deepcopy(row.notebook)))


# ---------------------------------------------------------------------------
# Unreadable files and invalid notebooks
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("content, note", [
    (b"", "empty file"),
    (b"  \n", "empty file"),
    (b"\xff\xfe{}", "not UTF-8 text"),
    (b"{\"cells\": [", "invalid JSON"),
    (b"<html>not json</html>", "invalid JSON"),
])
def test_unreadable(tmp_path, content, note):
    path = put(tmp_path, "dan", content)
    row = one(tmp_path)
    assert (row.status, row.path, row.notebook) == ("unreadable", path, None)
    assert row.notes[-1].startswith(note)


@pytest.mark.parametrize("edit, note", [
    (lambda nb: [1, 2], "the JSON is list"),
    (lambda nb: "a string", "the JSON is str"),
    (lambda nb: None, "the JSON is null"),
    (lambda nb: {}, "no nbformat version number"),
    (lambda nb: {k: v for k, v in nb.items() if k != "cells"}, "nbformat cannot read it"),
    (lambda nb: dict(nb, nbformat=5), "nbformat cannot read it"),
    (lambda nb: dict(nb, nbformat="4"), "no nbformat version number"),
    (lambda nb: dict(nb, cells=7), "nbformat cannot read it"),
    (lambda nb: dict(nb, cells=[7]), "nbformat cannot read it"),
    (lambda nb: dict(nb, cells=[dict(nb["cells"][4], source=5)]), "not a valid nbformat 4 notebook"),
    (lambda nb: dict(nb, cells=[dict(nb["cells"][4], cell_type="weird")]), "not a valid nbformat 4 notebook"),
])
def test_not_a_notebook(tmp_path, release, edit, note):
    put(tmp_path, "dan", json.dumps(edit(copy.deepcopy(release))))
    row = one(tmp_path)
    assert (row.status, row.notebook) == ("not a notebook", None)
    assert row.notes[-1].startswith(note), row.notes


def test_invalid_notebook_metadata_is_stripped(tmp_path, release):
    release["metadata"]["kernelspec"] = "python"
    put(tmp_path, "dan", release)
    row = one(tmp_path)
    assert row.status == "repaired"
    assert row.notes == ["metadata that nbformat's schema rejects removed ('python' is not of type 'object' "
                         "(at metadata/kernelspec))"]
    assert "kernelspec" not in row.notebook["metadata"]


def test_cell_ids_are_repaired(tmp_path, release):
    del release["cells"][3]["id"]
    release["cells"][5]["id"] = release["cells"][4]["id"]
    put(tmp_path, "dan", release)
    row = one(tmp_path)
    assert row.status == "repaired"
    assert row.notes == ["cell 4: missing cell id replaced by a fresh one",
                         "cell 6: duplicate cell id replaced by a fresh one"]
    ids = [c["id"] for c in row.notebook["cells"]]
    assert len(set(ids)) == len(ids)


def test_byte_order_mark(tmp_path, release_text):
    put(tmp_path, "dan", b"\xef\xbb\xbf" + release_text.encode())
    row = one(tmp_path)
    assert (row.status, row.notes) == ("repaired", ["UTF-8 byte order mark removed"])


def test_old_nbformat_is_converted(tmp_path):
    v3 = {"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": [
        {"cells": [{"cell_type": "code", "input": "x = 1", "language": "python", "outputs": [],
                    "metadata": {}}], "metadata": {}}]}
    put(tmp_path, "dan", v3)
    row = one(tmp_path)
    assert row.status == "repaired"
    assert row.notes[0] == "converted from nbformat 3 to 4"
    assert row.notebook["nbformat"] == 4 and cells.source(row.notebook["cells"][0]) == "x = 1"


# ---------------------------------------------------------------------------
# Folders and choice of notebook
# ---------------------------------------------------------------------------


def test_release_name_wins_over_a_newer_draft(tmp_path, release_text):
    path = put(tmp_path, "fay", release_text)
    draft = put(tmp_path, "fay", release_text, name="draft.ipynb")
    os.utime(path, (1_000_000, 1_000_000))
    os.utime(draft, (2_000_000, 2_000_000))
    row = one(tmp_path)
    assert (row.status, row.path, row.notes) == ("ok", path, ["also found draft.ipynb (not graded)"])


def test_newest_notebook_when_none_has_the_release_name(tmp_path, release_text):
    old = put(tmp_path, "fay", release_text, name="a_old.ipynb")
    new = put(tmp_path, "fay", release_text, name="b_new.ipynb")
    os.utime(old, (2_000_000, 2_000_000))
    os.utime(new, (3_000_000, 3_000_000))
    row = one(tmp_path)
    assert row.path == new and row.status == "ok"
    assert row.notes == [f"graded b_new.ipynb, the most recently modified of 2 notebooks; none is named {NAME}",
                         "also found a_old.ipynb (not graded)"]


def test_single_notebook_with_another_name(tmp_path, release_text):
    path = put(tmp_path, "fay", release_text, name="Happy House (1).ipynb")
    row = one(tmp_path)
    assert (row.status, row.path) == ("ok", path)
    assert row.notes == [f"graded Happy House (1).ipynb; the release calls it {NAME}"]


def test_an_unreadable_release_name_is_not_swapped(tmp_path, release_text):
    path = put(tmp_path, "fay", "")
    put(tmp_path, "fay", release_text, name="copy.ipynb")
    row = one(tmp_path)
    assert (row.status, row.path) == ("unreadable", path)
    assert row.notes == ["also found copy.ipynb (not graded)", "empty file"]


def test_checkpoints_and_hidden_files_are_ignored(tmp_path, release_text):
    path = put(tmp_path, "gus", release_text)
    checkpoints = path.parent / ".ipynb_checkpoints"
    checkpoints.mkdir()
    (checkpoints / "happy_house-checkpoint.ipynb").write_text(release_text)
    (path.parent / ".hidden.ipynb").write_text("")
    (tmp_path / ".cache" / A).mkdir(parents=True)
    (tmp_path / "gus" / ".git").mkdir()
    row = one(tmp_path)
    assert (row.student, row.status, row.notes) == ("gus", "ok", [])


def test_every_folder_gives_one_sorted_row(tmp_path, release_text):
    put(tmp_path, "zoe", release_text)
    (tmp_path / "amy" / A).mkdir(parents=True)  # empty assignment folder
    (tmp_path / "amy" / "02_resnets").mkdir()
    put(tmp_path, "amy", "notes", name="README.txt", assignment="02_resnets")
    (tmp_path / "kim").mkdir()  # no assignment folder
    (tmp_path / "kim" / NAME).write_text(release_text)
    (tmp_path / "lee" / "happy_house").mkdir(parents=True)  # unknown assignment
    (tmp_path / "lee" / "03_misc").mkdir()
    (tmp_path / "stray.txt").write_text("a file beside the student folders")

    rows = intake.collect(tmp_path)
    table = [(r.student, r.assignment, r.status) for r in rows]
    assert table == [
        ("amy", A, "no notebook"),
        ("amy", "02_resnets", "no notebook"),
        ("kim", "", "no assignment folder"),
        ("lee", "03_misc", "unknown assignment"),
        ("lee", "happy_house", "unknown assignment"),
        ("zoe", A, "ok"),
    ]
    by = {(r.student, r.assignment): r for r in rows}
    assert by["amy", A].notes == [f"no .ipynb file in amy/{A}/; expected {NAME}"]
    assert by["amy", "02_resnets"].notes[-1] == "found only: README.txt"
    assert by["kim", ""].notes[-1] == f"found {NAME} directly in the student folder (not graded)"
    assert "01_happy_house, 02_resnets" in by["lee", "happy_house"].notes[0]
    assert by["lee", "happy_house"].notes[0].endswith("(did you mean 01_happy_house?)")
    assert all(r.notebook is None and r.path is None for r in rows if r.status not in intake.GRADED)

    only_01 = intake.collect(tmp_path, ["01"])
    assert [(r.student, r.assignment) for r in only_01] == [
        ("amy", A), ("kim", ""), ("lee", "03_misc"), ("lee", "happy_house"), ("zoe", A)]


def test_root_must_be_a_folder(tmp_path):
    with pytest.raises(NotADirectoryError):
        intake.collect(tmp_path / "missing")


def test_files_under_root_are_never_modified(tmp_path, release, release_text):
    put(tmp_path, "a", release_text)
    put(tmp_path, "b", strip(copy.deepcopy(release)))
    put(tmp_path, "c", b"")
    put(tmp_path, "d", b"\xef\xbb\xbf" + release_text.encode())
    put(tmp_path, "e", dict(release, nbformat=5))
    bad_ids = copy.deepcopy(release)
    del bad_ids["cells"][0]["id"]
    bad_ids["metadata"]["kernelspec"] = 3
    put(tmp_path, "f", bad_ids)
    put(tmp_path, "f", release_text, name="draft.ipynb")
    (tmp_path / "g").mkdir()

    def snapshot():
        return {p: (p.read_bytes(), p.stat().st_mtime_ns) if p.is_file() else None for p in tmp_path.rglob("*")}

    before = snapshot()
    rows = intake.collect(tmp_path)
    assert [r.status for r in rows] == ["ok", "repaired", "unreadable", "repaired", "not a notebook", "repaired",
                                        "no assignment folder"]
    for row in rows:  # the returned notebooks are copies: changing them changes no file
        if row.notebook is not None:
            row.notebook["cells"].clear()
    assert snapshot() == before
