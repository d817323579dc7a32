"""``course new NN_name``: the files of a new assignment, ready to fill in.

It writes, and touches nothing else:

* ``solutions/NN_name/<name>.ipynb`` -- the nbgrader source notebook: a set-up
  cell, one answer cell and one test cell (``course sync`` writes test cells);
* ``solutions/NN_name/spec.py`` -- the spec with one test cell and one probe;
* ``utils/<name>.py`` -- the runtime helper module with ``grade``.

``docs/authoring.md`` says what to do next.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

from course import paths

NOTEBOOK_SETUP = '''from utils.notebook import setup
info = setup(seed=0)

import numpy as np
import tensorflow as tf

from utils.{name} import grade'''

ANSWER = '''def {function}(x):
    """One line on what it computes.

    Args:
        x: float32 array (m, n).

    Returns:
        float32 array (m, n).
    """
    ### BEGIN SOLUTION
    result = x
    ### END SOLUTION
    return result'''

SPEC = '''"""Assignment {id}: {title}.

Read by the course's tools only (``course.spec``); students never see it.
"""

from course.spec import Assignment, Mistake, Probe, TestCell
from utils.checking.compare import Close

# Justify the tolerance from `python benchmarks/tolerances.py {id}` (docs/tolerances.md).
ELEMENT = Close(rtol=1e-5, atol=1e-6)

TESTS = (
    TestCell("{function}_test", "{function}", 1, "{function}: the output matches the reference.", (
        Probe("{function}/seeded", "utils.{name}:probe_{function}", "output on a seeded input", ELEMENT,
              {{"seed": 1}}),
    )),
)

MISTAKES = (
    Mistake("{function}_negated", "{function}",
            (("    result = x\\n", "    result = -x\\n"),),
            frozenset({{"{function}_test"}}),
            "The sign is wrong: return x itself.",
            variant=(("    result = x\\n", "    result = 0 - x\\n"),)),
)

SPEC = Assignment(
    id="{id}",
    title="{title}",
    notebook="{name}.ipynb",
    helper="utils.{name}",
    answers=("{function}",),
    tests=TESTS,
    mistakes=MISTAKES,
    partly_wrong=("{function}_negated",),
)
'''

HELPER = '''"""Assignment {id} ({title}): ``grade`` for its test cells, the probe runners its checks use,
and the notebook's helpers."""

from __future__ import annotations

import numpy as np

from utils.checking.grader import Grader

ASSIGNMENT = "{id}"
grade = Grader(ASSIGNMENT)


def probe_{function}(fn, seed: int) -> np.ndarray:
    """Probe: ``fn`` on a seeded float32 batch of shape (4, 3)."""
    x = np.random.default_rng(seed).uniform(-1, 1, (4, 3)).astype(np.float32)
    return np.asarray(fn(x))
'''


def _cell(kind: str, source: str, **nbgrader) -> nbformat.NotebookNode:
    make = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
    cell = make(source)
    if nbgrader:
        cell.metadata["nbgrader"] = {"schema_version": 3, "task": False, **nbgrader}
    return cell


def create(assignment: str, title: str = "", function: str = "my_function", root: Path | None = None) -> list[Path]:
    """Write the three files of a new assignment under ``root`` (default: the repository). Returns them."""
    if not re.fullmatch(r"\d\d_[a-z][a-z0-9_]*", assignment):
        raise ValueError(f"an assignment id looks like 07_object_tracking, got {assignment!r}")
    root = Path(root) if root else paths.REPO_ROOT
    name = assignment.split("_", 1)[1]
    title = title or name.replace("_", " ").capitalize()
    folder = root / "solutions" / assignment
    helper = root / "utils" / f"{name}.py"
    notebook_path = folder / f"{name}.ipynb"
    spec_path = folder / "spec.py"
    existing = [p for p in (notebook_path, spec_path, helper) if p.exists()]
    if existing:
        raise FileExistsError(f"not overwriting {', '.join(str(p) for p in existing)}")
    folder.mkdir(parents=True, exist_ok=True)
    helper.parent.mkdir(parents=True, exist_ok=True)
    fields = {"id": assignment, "title": title, "name": name, "function": function}
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    notebook.metadata["language_info"] = {"name": "python", "version": "3.11"}
    notebook.cells = [
        _cell("markdown",
              f"# Assignment {assignment[:2].lstrip('0')}: {title}\n\nWhat the student will build, and why."),
        _cell("code", NOTEBOOK_SETUP.format(**fields), grade=False, grade_id="setup", locked=True, solution=False),
        _cell("markdown", f"## Exercise 1: `{function}`\n\nInputs, outputs and shapes; the formula; how it is tested."),
        _cell("code", ANSWER.format(**fields), grade=False, grade_id=function, locked=False, solution=True),
        _cell("code", "", grade=True, grade_id=f"{function}_test", locked=True, points=1, solution=False),
    ]
    nbformat.write(notebook, notebook_path)
    spec_path.write_text(SPEC.format(**fields))
    helper.write_text(HELPER.format(**fields))
    return [notebook_path, spec_path, helper]
