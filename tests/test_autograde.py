"""End to end through nbgrader: the demo class and every known mistake, graded in one class.

This is the slow layer: real kernels, real `nbgrader autograde`, one student per process.
"""

import json
import time

import pytest

from course import demo, grading, spec

pytestmark = pytest.mark.slow

NBGRADER_MUTANTS = {"01_happy_house"}


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    assignments = grading.assignment_ids()
    submissions = demo.class_submissions(assignments)
    mutant_students = {}
    # Every known mistake of the light assignments also goes through nbgrader; the heavy
    # ones (a ResNet50 build costs seconds per cell) are checked in-process in their own test
    # file, and their demo students still go through nbgrader here.
    for assignment in [a for a in assignments if a in NBGRADER_MUTANTS]:
        for mutant in spec.load(assignment).mistakes:
            student = f"mutant_{mutant.name}"
            submissions.setdefault(student, {})[assignment] = grading.submission(assignment, mutants=[mutant])
            mutant_students[(student, assignment)] = mutant
    root = tmp_path_factory.mktemp("class")
    started = time.perf_counter()
    results = grading.grade_class(root, submissions, log=lambda line: None)
    elapsed = time.perf_counter() - started
    by_key = {(r.student, r.assignment): r for r in results}
    return root, by_key, mutant_students, elapsed


def test_every_submission_is_graded(graded_class):
    _, by_key, _, _ = graded_class
    not_graded = {k: r.status for k, r in by_key.items() if r.status != "graded"}
    assert not not_graded


def test_demo_students_get_exactly_the_expected_scores(graded_class):
    _, by_key, _, _ = graded_class
    for assignment in grading.assignment_ids():
        for student, expected in demo.expected_scores(assignment).items():
            assert by_key[(student, assignment)].score == expected, (student, assignment)


def test_reference_gets_full_marks_and_release_zero_on_every_cell(graded_class):
    _, by_key, _, _ = graded_class
    for assignment in grading.assignment_ids():
        reference = by_key[("reference", assignment)]
        assert reference.score == reference.max_score > 0
        assert all(score == maximum for score, maximum in reference.cells.values())
        untouched = by_key[("untouched", assignment)]
        assert untouched.cells and all(score == 0 for score, _ in untouched.cells.values())


def test_each_mistake_loses_exactly_its_cells_under_nbgrader(graded_class):
    _, by_key, mutant_students, _ = graded_class
    for (student, assignment), mutant in mutant_students.items():
        result = by_key[(student, assignment)]
        tests = {cell: v for cell, v in result.cells.items() if cell.split("_test_")[0] != cell}
        lost = {cell for cell, (score, maximum) in tests.items() if score < maximum}
        assert lost == set(mutant.lost), student


def test_no_stderr_in_the_reference_run(graded_class):
    root, _, _, _ = graded_class
    for path in (root / "autograded" / "reference").rglob("*.ipynb"):
        for cell in json.loads(path.read_text())["cells"]:
            for output in cell.get("outputs", []):
                assert not (output.get("output_type") == "stream" and output.get("name") == "stderr"), \
                    f"stderr in {path.name}: {output.get('text')!r}"


def test_hostile_submission_is_contained(graded_class):
    root, by_key, _, _ = graded_class
    for assignment in grading.assignment_ids():
        hostile = by_key[("hostile", assignment)]
        assert hostile.status == "graded"
        # One cell timeout (60 s) plus normal grading, far below the per-student limit.
        assert hostile.seconds < grading.STUDENT_TIMEOUT_S / 2
        autograded = next((root / "autograded" / "hostile" / assignment).glob("*.ipynb"))
        text = autograded.read_text()
        assert "was missing from the submission" in text  # the deleted test cell came back
        assert "pass  # the test was here" not in text  # the emptied test cell was restored


def test_feedback_and_gradebook_csv_are_written(graded_class):
    root, by_key, _, _ = graded_class
    for student, assignment in by_key:
        assert list((root / "feedback" / student / assignment).glob("*.html")), (student, assignment)
    rows = (root / "grades.csv").read_text().splitlines()
    assert rows[0].startswith("student,assignment,score,max_score")
    assert len(rows) == 1 + len(by_key)


NO_NETWORK_GRADE = """
import sys
from pathlib import Path
from course import grading
a = sys.argv[2]
results = grading.grade_class(Path(sys.argv[1]), {"reference": {a: grading.submission(a, grading.reference_answers(a))}},
                              feedback=False, log=lambda line: None)
print(results[0].status, results[0].score, results[0].max_score)
"""


def _network_namespace_available() -> bool:
    import shutil
    import subprocess

    if not (shutil.which("unshare") and shutil.which("ip")):
        return False
    return subprocess.run(["unshare", "-n", "ip", "link", "set", "lo", "up"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _network_namespace_available(), reason="needs `unshare -n` (root on Linux)")
def test_grading_needs_no_network(tmp_path):
    """Grade the reference inside a network namespace that has only loopback: still full marks."""
    import subprocess
    import sys

    assignment = grading.assignment_ids()[0]
    command = ["unshare", "-n", "sh", "-c", 'ip link set lo up && exec "$0" -c "$1" "$2" "$3"',
               sys.executable, NO_NETWORK_GRADE, str(tmp_path / "class"), assignment]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    status, score, maximum = result.stdout.split()[-3:]
    assert status == "graded" and float(score) == float(maximum) > 0
