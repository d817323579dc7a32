"""The `course` command as students and instructors use it."""

import json
import subprocess
import sys

import pytest

from course import inprocess

A = "01_happy_house"


def course(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "course.cli", *args], capture_output=True, text=True, cwd=cwd)


def test_unknown_assignment_is_named():
    result = course("release", "99_nothing")
    assert result.returncode != 0 and "unknown assignment '99_nothing'" in result.stderr


def test_grade_without_submissions_explains_the_layout(tmp_path):
    result = course("grade", str(tmp_path / "nowhere"))
    assert result.returncode != 0 and "<student>/<assignment>" in result.stderr


@pytest.mark.slow
def test_check_fails_on_the_release_and_lists_cells(tmp_path):
    notebook = tmp_path / "happy_house.ipynb"
    notebook.write_text(json.dumps(inprocess.submission(A)))
    result = course("check", str(notebook))
    assert result.returncode == 1, result.stdout
    assert "FAILED" in result.stdout and "cell(s) failed" in result.stdout


@pytest.mark.slow
def test_check_passes_on_a_correct_notebook(tmp_path):
    notebook = tmp_path / "happy_house.ipynb"
    notebook.write_text(json.dumps(inprocess.submission(A, inprocess.reference_answers(A))))
    result = course("check", str(notebook))
    assert result.returncode == 0, result.stdout
    assert "All test cells pass" in result.stdout
