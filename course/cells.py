"""Course notebooks as nbgrader sees them: cell roles, the code of graded cells, and the
test cells that ``course sync`` writes from the spec.

Used to compile references from the solution notebooks, to apply known
mistakes to a solution, to run a notebook's tests in-process, and to keep the
solution notebook's test cells equal to what its spec says.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from course import paths

_SOLUTION_BLOCK = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n", re.MULTILINE)
_HIDDEN_MARKERS = re.compile(r"^[ \t]*### (BEGIN|END) HIDDEN TESTS[ \t]*\n", re.MULTILINE)


def read(path: Path) -> dict:
    return json.loads(Path(path).read_text())


def source(cell: dict) -> str:
    text = cell.get("source", "")
    return "".join(text) if isinstance(text, list) else text


def grading_meta(cell: dict) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def grade_id(cell: dict) -> str | None:
    return grading_meta(cell).get("grade_id")


def is_graded_test(cell: dict) -> bool:
    meta = grading_meta(cell)
    return bool(meta.get("grade")) and not meta.get("solution") and cell["cell_type"] == "code"


def only_notebook(folder: Path, fix: str = "") -> Path:
    """The one ``.ipynb`` in an assignment folder."""
    found = sorted(Path(folder).glob("*.ipynb"))
    if len(found) != 1:
        raise FileNotFoundError(f"expected exactly one notebook in {folder}, found {len(found)}. {fix}".strip())
    return found[0]


def solution_notebook(spec) -> Path:
    """The instructor notebook of an assignment (its spec)."""
    return paths.solutions_dir() / spec.id / spec.notebook


def release_notebook(spec) -> Path:
    """The student notebook of an assignment, as ``course release`` generated it."""
    return paths.assignments_dir() / spec.id / spec.notebook


def answer_code(cell: dict) -> str:
    """The reference answer of a solution cell, with nbgrader's markers removed."""
    return _SOLUTION_BLOCK.sub("", source(cell))


def test_code(cell: dict) -> str:
    """A test cell's code including its hidden tests (markers removed)."""
    return _HIDDEN_MARKERS.sub("", source(cell))


def graded_cells(notebook: dict) -> list[dict]:
    """The code cells nbgrader knows about (locked set-up, answers, tests), in order."""
    return [c for c in notebook["cells"] if c["cell_type"] == "code" and grading_meta(c)]


def apply_patch(code: str, replacements: list[tuple[str, str]], label: str) -> str:
    """Apply ``(old, new)`` text replacements; each ``old`` must occur exactly once."""
    for old, new in replacements:
        count = code.count(old)
        if count != 1:
            raise ValueError(f"{label}: expected {old!r} exactly once in the solution cell, found it {count} times")
        code = code.replace(old, new)
    return code


# ---------------------------------------------------------------------------
# Test cells written from the spec
# ---------------------------------------------------------------------------


def test_source(test) -> str:
    """The code of a test cell: one visible line, and one hidden line when the cell has hidden probes."""
    lines = [f"# {test.comment}"] if test.comment else []
    lines.append(f'grade("{test.grade_id}", {test.function})')
    if any(p.hidden for p in test.probes):
        lines += ["### BEGIN HIDDEN TESTS", f'grade("{test.grade_id}", {test.function}, hidden=True)',
                  "### END HIDDEN TESTS"]
    return "\n".join(lines)


def sync(spec, write: bool = True) -> list[str]:
    """Make the solution notebook's test cells say what the spec says (source and points).

    Returns one line per change; with ``write=False`` nothing is written (a
    check). A test cell of the spec that the notebook lacks is an error: add a
    code cell with that grade_id where it belongs, then sync again.
    """
    import nbformat

    path = solution_notebook(spec)
    notebook = nbformat.read(path, as_version=4)
    by_id = {grade_id(c): c for c in notebook.cells if grading_meta(c)}
    missing = [t.grade_id for t in spec.tests if t.grade_id not in by_id]
    if missing:
        raise ValueError(f"{path} has no cell with grade_id {', '.join(missing)}: add a code cell with nbgrader "
                         f"metadata for each where it belongs, then run `course sync {spec.id}` again")
    answers = [a for a in spec.answers if a not in by_id or not grading_meta(by_id[a]).get("solution")]
    if answers:
        raise ValueError(f"{path}: the answer cells {', '.join(answers)} are missing or not solution cells")
    changes = []
    for test in spec.tests:
        cell = by_id[test.grade_id]
        wanted = test_source(test)
        meta = {"grade": True, "grade_id": test.grade_id, "locked": True, "points": test.points,
                "schema_version": 3, "solution": False, "task": False}
        if source(cell) != wanted:
            changes.append(f"{test.grade_id}: source")
            cell.source = wanted
        if dict(grading_meta(cell)) != meta:
            changes.append(f"{test.grade_id}: nbgrader metadata (points {test.points})")
            cell.metadata["nbgrader"] = meta
    stale = [gid for gid, c in by_id.items() if is_graded_test(c) and gid not in {t.grade_id for t in spec.tests}]
    if stale:
        raise ValueError(f"{path}: graded test cells {', '.join(stale)} are not in the spec; add them to "
                         f"solutions/{spec.id}/spec.py or delete the cells")
    if changes and write:
        nbformat.write(notebook, path)
    return changes
