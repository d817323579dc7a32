"""Reading course notebooks: nbgrader cell roles and the code of graded cells.

Used to build reference outputs from the solution notebooks, to apply known
mistakes (mutants) to a solution, and to run a notebook's tests in-process.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from utils import paths

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


def solution_notebook(assignment: str) -> Path:
    """The instructor notebook of an assignment, e.g. ``01_happy_house``."""
    return only_notebook(paths.solutions_dir() / assignment)


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
