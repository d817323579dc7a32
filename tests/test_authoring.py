"""docs/authoring.md is true: an assignment lives in its own files, and shared code names none of them.

* No shared module (the course's tools, the checking API, the shared runtime,
  the benchmark scripts, the Makefile) names a particular assignment in its code.
* Adding an assignment the way docs/authoring.md says (``course new``, then a
  data generator, a loader, a network slot, a model card and a benchmark) in a
  copy of the repository changes no file outside the ones the guide lists, and
  every slot discovers the new parts.
"""

import ast
import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from course import paths, spec

ROOT = paths.REPO_ROOT
SLOT_PACKAGES = ("course/synth", "course/weights", "course/bench")  # assignment-owned modules live here


def _assignment_words() -> dict[str, set[str]]:
    words = {}
    for assignment in spec.ids():
        loaded = spec.load(assignment)
        short = assignment.split("_", 1)[1]
        words[assignment] = {assignment, short, loaded.helper.rsplit(".", 1)[-1]}
    return words


def _owned_runtime_modules() -> set[str]:
    """The runtime modules an assignment owns: its helper module and ``utils/<helper>_*.py``."""
    helpers = {spec.load(a).helper.rsplit(".", 1)[-1] for a in spec.ids()}
    return {p.stem for p in (ROOT / "utils").glob("*.py") if p.stem in helpers
            or any(p.stem.startswith(h + "_") for h in helpers)}


def shared_modules() -> list[Path]:
    owned = _owned_runtime_modules()
    found = [p for p in (ROOT / "course").glob("*.py")]
    found += [ROOT / package / "__init__.py" for package in SLOT_PACKAGES if (ROOT / package / "__init__.py").exists()]
    found += list((ROOT / "utils" / "checking").glob("*.py"))
    found += [p for p in (ROOT / "utils").glob("*.py") if p.stem not in owned]
    found += list((ROOT / "benchmarks").glob("*.py"))
    return sorted(found)


def code_words(path: Path) -> list[str]:
    """Identifiers, imported module names and string constants of a module, docstrings left out."""
    tree = ast.parse(path.read_text())
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
    words = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            words.append(node.value)
        elif isinstance(node, ast.Name):
            words.append(node.id)
        elif isinstance(node, ast.Attribute):
            words.append(node.attr)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            words += [alias.name for alias in node.names] + [getattr(node, "module", None) or ""]
    return words


def test_no_shared_module_names_an_assignment():
    offenders = []
    for assignment, words in _assignment_words().items():
        pattern = re.compile(r"(?<![A-Za-z0-9])(" + "|".join(map(re.escape, sorted(words))) + r")(?![A-Za-z0-9])")
        for path in shared_modules():
            hits = sorted({w for text in code_words(path) for w in pattern.findall(text)})
            if hits:
                offenders.append(f"{path.relative_to(ROOT)} names {assignment} ({', '.join(hits)})")
        make = (ROOT / "Makefile").read_text()
        if pattern.search(make):
            offenders.append(f"Makefile names {assignment}")
    assert offenders == [], "shared code that names an assignment (move it into the assignment's own files):\n" \
        + "\n".join(offenders)


def test_the_scan_sees_a_shared_module_that_names_an_assignment(tmp_path):
    leak = tmp_path / "leak.py"
    leak.write_text('"""Docstrings may give 03_car_detection as an example."""\nSPEC = load("03_car_detection")\n')
    assert "03_car_detection" in code_words(leak) and code_words(leak).count("03_car_detection") == 1


# ---------------------------------------------------------------------------
# Adding an assignment
# ---------------------------------------------------------------------------

NEW, SHORT = "07_x", "x"
GENERATOR = '''"""Data of the example assignment."""


def build(out):
    return []
'''
NETWORK = '''"""The example assignment's network, imported from a pinned package."""

ASSIGNMENT = "07_x"
SEED = None
CARD = "docs/model_cards/07_x.md"


def build(out, seed=None, log=print):
    return []
'''
BENCHMARK = '''"""The example assignment's own benchmark."""

ASSIGNMENT = "07_x"


def main(argv):
    return 0
'''
LOADER = '''

def load_x_dataset():
    """The example assignment's data."""
    return None
'''


def listed_paths() -> list[str]:
    """The paths of an assignment's own files in docs/authoring.md's first table, for NN_name = 07_x."""
    rows = [line for line in (ROOT / "docs" / "authoring.md").read_text().splitlines() if line.startswith("|")]
    assert rows, "docs/authoring.md has no table of an assignment's files"
    found = []
    for row in rows:
        for path in re.findall(r"`([^`]+)`", row):
            if "name" in path:
                found.append(path.replace("NN_name", NEW).replace("name", SHORT))
    return found


def _snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in root.rglob("*") if p.is_file() and ".git" not in p.parts and "__pycache__" not in p.parts}


@pytest.mark.slow
def test_adding_an_assignment_touches_only_the_files_the_guide_lists(tmp_path):
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split()
    copy = tmp_path / "course"
    for name in files:
        if (ROOT / name).is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, copy / name)
    before = _snapshot(copy)
    env = dict(os.environ, PYTHONPATH=str(copy))

    def run(*code_or_args):
        return subprocess.run([sys.executable, *code_or_args], cwd=copy, env=env, capture_output=True,
                              text=True, timeout=300)

    made = run("-m", "course.cli", "new", NEW, "--function", "double")
    assert made.returncode == 0, made.stdout + made.stderr
    (copy / "course" / "synth" / f"{SHORT}.py").write_text(GENERATOR)
    (copy / "course" / "weights" / f"{SHORT}.py").write_text(NETWORK)
    (copy / "course" / "bench" / f"{SHORT}.py").write_text(BENCHMARK)
    with open(copy / "utils" / f"{SHORT}.py", "a") as helper:
        helper.write(LOADER)
    card = copy / "docs" / "model_cards" / f"{NEW}.md"
    card.parent.mkdir(parents=True, exist_ok=True)
    card.write_text("# Model card\n")

    found = run("-c", "from course import bench, spec, synth, weights\n"
                      "print(spec.load('07_x').id)\n"
                      "print([m.__name__ for m in synth.generators()])\n"
                      "print([m.ASSIGNMENT for m in weights.slots()])\n"
                      "print([m.ASSIGNMENT for m in bench.benchmarks()])\n"
                      "import utils.x; print(utils.x.load_x_dataset.__name__)")
    assert found.returncode == 0, found.stderr
    lines = found.stdout.splitlines()
    assert lines[0] == NEW and "course.synth.x" in lines[1] and NEW in lines[2] and NEW in lines[3]
    assert lines[4] == "load_x_dataset"

    changed = {name for name, digest in _snapshot(copy).items() if before.get(name) != digest}
    patterns = listed_paths()
    outside = sorted(name for name in changed
                     if not any(name == p or name.startswith(p.rstrip("/") + "/") or Path(name).match(p)
                                for p in patterns))
    assert outside == [], f"files docs/authoring.md does not list: {outside} (it lists {patterns})"
    assert changed, "nothing was added"
