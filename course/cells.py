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


# ---------------------------------------------------------------------------
# Cells not run while grading
# ---------------------------------------------------------------------------

NOT_RUN_WHILE_GRADING = ("# Not run while grading: this cell cannot change a grade (it comes after the last test, "
                         "or it only\n# shows or explores results). Run the notebook yourself to see its output.\n")


def _names(code: str) -> tuple[set[str], set[str]]:
    """``(names the code binds in the notebook's namespace, notebook-level names it mentions)``.

    Code Python cannot parse (IPython magics, a broken cell) binds nothing
    known and mentions every identifier-like word in it."""
    import ast

    try:
        tree = ast.parse(code)
    except SyntaxError:
        return set(), set(re.findall(r"[A-Za-z_]\w*", code))
    mentioned = _free_names(tree, set())
    bound = {name for n in ast.walk(tree) if isinstance(n, ast.Global) for name in n.names}

    def visit(node) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                bound.add(child.name)  # its body binds names of its own
            elif isinstance(child, ast.Lambda):
                continue
            elif isinstance(child, (ast.Import, ast.ImportFrom)):
                bound.update((alias.asname or alias.name).split(".")[0] for alias in child.names)
            else:
                if isinstance(child, ast.Name) and isinstance(child.ctx, (ast.Store, ast.Del)):
                    bound.add(child.id)
                visit(child)

    visit(tree)
    return bound, mentioned


def _free_names(node, local: set[str]) -> set[str]:
    """Identifiers ``node`` reads or writes that are not local to a function around them (its parameters
    and the names it assigns without ``global``): the notebook-level names it may use."""
    import ast

    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        arguments = node.args
        params = {a.arg for a in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs,
                                  *filter(None, [arguments.vararg, arguments.kwarg])]}
        outside = set()
        for default in [*arguments.defaults, *filter(None, arguments.kw_defaults)]:
            outside |= _free_names(default, local)
        if not isinstance(node, ast.Lambda):
            for decorator in node.decorator_list:
                outside |= _free_names(decorator, local)
        body = node.body if isinstance(node.body, list) else [node.body]
        declared = {name for n in body for inner in ast.walk(n) if isinstance(inner, ast.Global)
                    for name in inner.names}
        assigned = {inner.id for n in body for inner in ast.walk(n)
                    if isinstance(inner, ast.Name) and isinstance(inner.ctx, ast.Store)} - declared
        inner_local = local | params | assigned
        return outside | {name for n in body for name in _free_names(n, inner_local)}
    if isinstance(node, ast.Name):
        return set() if node.id in local else {node.id}
    found = set()
    for child in ast.iter_child_nodes(node):
        found |= _free_names(child, local)
    return found


def skipped_while_grading(spec, notebook: dict) -> tuple[dict, list[str]]:
    """``(the notebook to grade, ids of the cells it does not run)``.

    Two kinds of cells cannot change a grade, and grading does not run them (a
    learner running the notebook still does):

    * every cell that comes after the release's last test cell;
    * the cells the spec names in ``display_only`` (figures, printed examples,
      short experiments), where the student left them as released, and only
      while no cell that still runs (an answer cell included) mentions a name
      they bind.

    Answer, test and set-up cells always run. Each skipped cell keeps its id
    and shows its code commented out, under a line that says why."""
    import copy

    release = read(release_notebook(spec))
    released = {c.get("id"): c for c in release["cells"] if c["cell_type"] == "code" and c.get("id")}
    order = [c.get("id") for c in release["cells"]]
    tests = [i for i, c in enumerate(release["cells"]) if is_graded_test(c)]
    trailing = {cell_id for cell_id in order[tests[-1] + 1:]} if tests else set()
    display = set(spec.display_only)
    notebook = copy.deepcopy(notebook)
    skipped, still_used = [], set()
    for cell in reversed(notebook["cells"]):
        if cell.get("cell_type") != "code":
            continue
        cell_id, code = cell.get("id"), source(cell)
        candidate = cell_id in released and not grading_meta(cell) and not grading_meta(released[cell_id]) and (
            cell_id in trailing or (cell_id in display and code == source(released[cell_id])))
        bound, mentioned = _names(code)
        if candidate and (cell_id in trailing or not bound & still_used):
            lines = code.splitlines()
            cell["source"] = NOT_RUN_WHILE_GRADING + "".join(f"# {line}\n" for line in lines)
            skipped.append(cell_id)
        else:
            still_used |= mentioned
    return notebook, skipped[::-1]
