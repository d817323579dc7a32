"""The committed release is generated from solutions/ and current; notebooks carry no outputs."""

import json
import subprocess

import pytest

from course import grading, inprocess, paths

ROOT = paths.REPO_ROOT


def _tracked_notebooks():
    listed = subprocess.run(["git", "ls-files", "*.ipynb"], cwd=ROOT, capture_output=True, text=True)
    names = listed.stdout.split() if listed.returncode == 0 else []
    return [ROOT / n for n in names] or sorted(ROOT.glob("[sa][os]*/*/*.ipynb"))


def test_committed_notebooks_have_no_outputs():
    notebooks = _tracked_notebooks()
    assert notebooks
    for path in notebooks:
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] == "code":
                assert not cell.get("outputs") and cell.get("execution_count") is None, \
                    f"{path.relative_to(ROOT)} has outputs: clear them before committing"


def test_every_solution_has_a_release():
    for assignment in grading.assignment_ids():
        assert (paths.assignments_dir() / assignment).is_dir(), f"run `make release` for {assignment}"


@pytest.mark.slow
def test_release_is_current(tmp_path):
    """Regenerating assignments/ from solutions/ gives exactly the committed files."""
    for assignment in grading.assignment_ids():
        result = grading._nbgrader(["generate_assignment", assignment, "--force",
                                    f"--CourseDirectory.release_directory={tmp_path / 'release'}"],
                                   root=tmp_path)
        assert result.returncode == 0, result.stdout
        fresh = tmp_path / "release" / assignment
        committed = paths.assignments_dir() / assignment
        fresh_files = sorted(p.relative_to(fresh) for p in fresh.rglob("*") if p.is_file())
        committed_files = sorted(p.relative_to(committed) for p in committed.rglob("*") if p.is_file())
        assert fresh_files == committed_files
        for name in fresh_files:
            assert (fresh / name).read_bytes() == (committed / name).read_bytes(), \
                f"assignments/{assignment}/{name} is stale: run `make release` and commit"


def test_release_hides_solutions_and_hidden_tests():
    for assignment in grading.assignment_ids():
        text = inprocess.release_notebook(assignment).read_text()
        assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text
        assert "raise NotImplementedError()" in text
