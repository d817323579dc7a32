"""The specs are the single source of each assignment: they are consistent, the notebooks and the
compiled references follow them, and the student runtime never reaches into the instructor's tools."""

import ast
import json

import pytest

from course import cells, inprocess, paths, spec
from utils.checking import store
from utils.checking.store import resolve_runner

ASSIGNMENTS = spec.ids()


def test_every_assignment_folder_has_a_spec_and_a_release():
    assert ASSIGNMENTS
    for assignment in ASSIGNMENTS:
        s = spec.load(assignment)
        assert cells.solution_notebook(s).exists()
        assert cells.release_notebook(s).exists(), f"run `make release` for {assignment}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_notebook_test_cells_follow_the_spec(assignment):
    changes = cells.sync(spec.load(assignment), write=False)
    assert not changes, f"run `course sync {assignment}`: {changes}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_probe_runner_exists(assignment):
    for _, probe in spec.load(assignment).probes():
        assert callable(resolve_runner(probe.run)), probe.key
        json.dumps(probe.args)  # arguments must survive the trip through the compiled JSON


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_mistake_and_its_variant_apply_once_and_differ(assignment):
    s = spec.load(assignment)
    answers = inprocess.reference_answers(assignment)
    for mistake in s.mistakes:
        assert mistake.variant, f"{mistake.name} needs a second spelling (variant) for the hint test"
        patched = cells.apply_patch(answers[mistake.cell], list(mistake.patch), mistake.name)
        variant = cells.apply_patch(answers[mistake.cell], list(mistake.variant), mistake.name)
        assert patched != variant != answers[mistake.cell], mistake.name


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_compiled_references_hold_every_probe_of_the_spec(assignment):
    s = spec.load(assignment)
    for part in store.PARTS:
        compiled = store.load(assignment, part)
        keys = [p["key"] for p in compiled["probes"]]
        assert keys == [p.key for _, p in s.probes() if p.hidden == (part == "hidden")], \
            "run `make references`: the compiled references do not match the spec"
        for probe in compiled["probes"]:
            declared = next(p for _, p in s.probes() if p.key == probe["key"])
            assert probe["compare"] == declared.compare and probe["args"] == declared.args, probe["key"]
    public = store.load(assignment, "public")
    assert set(public["cells"]) == {t.grade_id for t in s.tests}


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_published_values_are_the_stored_references(assignment):
    """A probe with a hand-worked or published value in the spec stores that value (exactly for Exact
    probes, within the probe's tolerance for float results such as 1/7)."""
    for cell, probe in spec.load(assignment).probes():
        if probe.expected is not None:
            stored = next(p for part in store.PARTS for p in store.load(assignment, part)["probes"]
                          if p["key"] == probe.key)
            assert probe.compare.difference(stored["expected"], probe.expected) is None, probe.key


def _imports(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


def test_the_student_runtime_never_imports_the_instructors_tools():
    runtime = sorted((paths.REPO_ROOT / "utils").rglob("*.py"))
    assert runtime
    for path in runtime:
        for name in _imports(path):
            assert name.split(".")[0] != "course", f"{path.relative_to(paths.REPO_ROOT)} imports {name}"


def test_the_checking_layers_only_import_downwards():
    """grader -> observe -> store -> models -> compare -> messages."""
    order = ["grader", "observe", "store", "models", "compare", "messages"]
    folder = paths.REPO_ROOT / "utils" / "checking"
    for level, name in enumerate(order):
        for imported in _imports(folder / f"{name}.py"):
            if imported.startswith("utils.checking."):
                target = imported.rsplit(".", 1)[1]
                assert order.index(target) > level, f"utils/checking/{name}.py imports {imported}, a layer above it"


def test_notebooks_import_only_the_runtime():
    for assignment in ASSIGNMENTS:
        s = spec.load(assignment)
        for path in (cells.solution_notebook(s), cells.release_notebook(s)):
            text = "".join(cells.source(c) for c in cells.read(path)["cells"] if c["cell_type"] == "code")
            assert "import course" not in text and "from course" not in text, path
            assert f"from {s.helper} import" in text and "grade" in text, path


def test_course_new_writes_an_assignment_that_compiles(tmp_path, monkeypatch, tf):
    """`course new` gives a notebook, spec and helper that sync, validate and compile as they are."""
    import utils
    from course import references, scaffold

    written = scaffold.create("98_scaffold_check", function="double_it", root=tmp_path)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in written) == [
        "solutions/98_scaffold_check/scaffold_check.ipynb", "solutions/98_scaffold_check/spec.py",
        "utils/scaffold_check.py"]
    monkeypatch.setattr(paths, "solutions_dir", lambda: tmp_path / "solutions")
    monkeypatch.setattr(utils, "__path__", [*utils.__path__, str(tmp_path / "utils")])
    spec.load.cache_clear()
    try:
        s = spec.load("98_scaffold_check")
        assert cells.sync(s) == ["double_it_test: source"]
        assert cells.sync(s, write=False) == []
        compiled = references.compute(s)
        mistakes = compiled["public"][0]["probes"][0]["mistakes"]
        assert set(mistakes) == {"double_it_negated"}
    finally:
        spec.load.cache_clear()
    with pytest.raises(FileExistsError):
        scaffold.create("98_scaffold_check", root=tmp_path)
    with pytest.raises(ValueError):
        scaffold.create("Scaffold", root=tmp_path)
