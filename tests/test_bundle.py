"""`course bundle`: the student zip holds what a class needs and nothing it must not see."""

import ast
import hashlib
import json
import os
import re
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest

from course import bundle, paths, spec

ROOT = paths.REPO_ROOT
GENERATED = {"README.md", "pyproject.toml", "datasets/manifest.json"}
FORBIDDEN_FOLDERS = ("solutions/", "tests/", "benchmarks/", "docs/", ".git/", ".grading/", "my_work/", "build/",
                     ".venv/", ".ci/", "course/synth/")


def _tracked() -> set[str]:
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    if listed.returncode != 0:
        pytest.skip("not a git checkout")
    return {name for name in listed.stdout.splitlines() if (ROOT / name).is_file()}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = bundle.build(tmp_path_factory.mktemp("bundle") / bundle.DEFAULT_NAME)
    with zipfile.ZipFile(out) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    return out, members


def test_no_solutions_specs_hidden_references_or_tool_modules(built):
    _, members = built
    for name in members:
        assert not name.startswith(FORBIDDEN_FOLDERS), name
        assert Path(name).name != "spec.py", name
        assert ".hidden." not in name, name
        assert "__pycache__" not in name and not name.endswith(".pyc"), name
    assert {n for n in members if n.startswith("course/")} == set(bundle.STUDENT_CLI)


def test_last_guard_names_what_never_ships():
    for name in ("solutions/01_x/x.ipynb", "assignments/01_x/spec.py", "datasets/references/01_x.hidden.json"):
        assert bundle._forbidden(name), name
    for name in ("assignments/01_x/x.ipynb", "utils/checking/grader.py", "datasets/references/01_x.public.npz"):
        assert not bundle._forbidden(name), name


def test_only_tracked_files_ship(built):
    _, members = built
    untracked = set(members) - _tracked() - GENERATED
    assert not untracked, f"members that git does not track: {sorted(untracked)}"


def test_no_member_contains_solutions_hidden_tests_or_known_mistakes(built):
    _, members = built
    mistakes = {m.name for a in spec.ids() for m in spec.load(a).mistakes}
    assert mistakes
    # The public references carry each known mistake's name, output and hint: the in-notebook
    # checks match a student's output against them to print the hint. Nothing else may.
    public_references = {n for n in members if re.fullmatch(r"datasets/references/[^/]+\.public\.(json|npz)", n)}
    for name, data in members.items():
        for marker in (b"BEGIN SOLUTION", b"END SOLUTION", b"BEGIN HIDDEN TESTS", b"END HIDDEN TESTS"):
            assert marker not in data, f"{name} contains {marker.decode()!r}"
        if name not in public_references:
            leaked = sorted(m for m in mistakes if m.encode() in data)
            assert not leaked, f"{name} names known mistakes {leaked}"


def test_no_solution_region_ships(built):
    """The code between the solution markers (regions of 3 lines or more) is in no member."""
    _, members = built
    regions = []
    for assignment in spec.ids():
        notebook = json.loads((paths.solutions_dir() / assignment / spec.load(assignment).notebook).read_text())
        for cell in notebook["cells"]:
            source = "".join(cell["source"])
            for match in re.finditer(r"### BEGIN SOLUTION\n(.*?)\n\s*### END SOLUTION", source, re.S):
                body = "\n".join(line for line in match.group(1).splitlines() if line.strip())
                if body.count("\n") >= 2:
                    regions.append(body)
    assert regions
    for name, data in members.items():
        text = "\n".join(line for line in data.decode(errors="replace").splitlines() if line.strip())
        for region in regions:
            assert region not in text, f"{name} contains a solution:\n{region}"


def test_required_items_are_present(built):
    _, members = built
    tracked = _tracked()
    for assignment in spec.ids():
        released = {n for n in tracked if n.startswith(f"assignments/{assignment}/")}
        assert f"assignments/{assignment}/{spec.load(assignment).notebook}" in released
        assert released <= set(members)
        for suffix in (".json", ".npz"):
            assert f"datasets/references/{assignment}.public{suffix}" in members
    assert {n for n in tracked if n.startswith("utils/")} <= set(members)
    for name in ("requirements.txt", "nbgrader_config.py", *bundle.STUDENT_CLI):
        assert members[name] == (ROOT / name).read_bytes(), name
    data_files = {n for n in tracked if n.startswith("datasets/") and "/references/" not in n}
    data_files -= {"datasets/manifest.json"}
    assert data_files and data_files <= set(members)
    readme = members["README.md"].decode()
    for needed in ("python3.11 -m venv .venv", ".venv/bin/pip install -r requirements.txt",
                   "--no-deps", "-e .", ".venv/bin/course lab", "course check", "Validate"):
        assert needed in readme, needed


def test_pyproject_installs_the_runtime_and_the_student_command(built):
    _, members = built
    config = tomllib.loads(members["pyproject.toml"].decode())
    repo = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert config["project"]["scripts"] == {"course": "course.cli:main"}
    assert config["project"]["dependencies"] == repo["project"]["dependencies"]
    assert config["project"]["requires-python"] == repo["project"]["requires-python"]
    packages = set(config["tool"]["setuptools"]["packages"])
    assert packages == {str(Path(n).parent).replace("/", ".") for n in members if n.endswith("/__init__.py")}
    assert {"utils", "utils.checking", "course"} <= packages
    assert "tool" not in config or "pytest" not in config["tool"]


def test_manifest_lists_exactly_the_data_members_with_their_hashes(built):
    _, members = built
    manifest = json.loads(members["datasets/manifest.json"])["files"]
    repo_manifest = json.loads((ROOT / "datasets" / "manifest.json").read_text())["files"]
    data_members = {n[len("datasets/"):] for n in members if n.startswith("datasets/")} - {"manifest.json"}
    assert set(manifest) == data_members
    for relative, entry in manifest.items():
        assert entry == repo_manifest[relative], relative
        assert hashlib.sha256(members["datasets/" + relative]).hexdigest() == entry["sha256"], relative
        assert len(members["datasets/" + relative]) == entry["bytes"], relative


def test_build_is_reproducible(built, tmp_path):
    out, _ = built
    again = bundle.build(tmp_path / out.name)
    assert again.read_bytes() == out.read_bytes()
    with zipfile.ZipFile(again) as archive:
        infos = archive.infolist()
    names = [info.filename for info in infos]
    assert names == sorted(names) == bundle.contents(again)
    for info in infos:
        assert info.date_time == (1980, 1, 1, 0, 0, 0), info.filename
        assert info.external_attr >> 16 == 0o100644, info.filename


def test_fallback_walk_skips_what_git_ignores():
    walked = set(bundle._walk(ROOT))
    assert _tracked() <= walked
    for name in walked:
        parts = Path(name).parts
        assert not {".git", ".venv", ".grading", "my_work", "__pycache__", ".pytest_cache"} & set(parts), name
        assert not name.endswith(".pyc"), name


def test_some_assignments_only(tmp_path):
    first, *others = spec.ids()
    names = bundle.contents(bundle.build(tmp_path / "one.zip", [first]))
    assert any(n.startswith(f"assignments/{first}/") for n in names)
    for other in others:
        assert not any(other in n for n in names), other
    manifest_members = {n for n in names if n.startswith("datasets/references/")}
    assert manifest_members == {f"datasets/references/{first}.public.json", f"datasets/references/{first}.public.npz"}


def test_unknown_assignment_is_refused(tmp_path):
    with pytest.raises(bundle.BundleError, match="99_nothing"):
        bundle.build(tmp_path / "x.zip", ["99_nothing"])
    assert not (tmp_path / "x.zip").exists()


def test_student_cli_imports_no_tool_module_at_module_level():
    """Why shipping course/cli.py works: the tool modules are imported inside the commands."""
    shipped = {Path(n).stem for n in bundle.STUDENT_CLI} - {"__init__"}
    for name in bundle.STUDENT_CLI:
        tree = ast.parse((ROOT / name).read_text())
        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "course":
                modules = [node.module] if node.module != "course" else [f"course.{a.name}" for a in node.names]
                for module in modules:
                    assert module.split(".")[1] in shipped, f"{name} imports {module} at module level"
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("course."):
                        assert alias.name.split(".")[1] in shipped, f"{name} imports {alias.name} at module level"


def test_build_refuses_code_that_imports_a_file_it_does_not_ship():
    ok = {
        "utils/__init__.py": b"from utils.data import load\n",
        "utils/data.py": b"try:\n    load = 1\nexcept Exception:\n    pass\n",
        "course/__init__.py": b"",
        "course/cli.py": b"from course import paths\ndef f():\n    from course import grading\n",  # lazy: allowed
        "course/paths.py": b"import utils.data\n",
    }
    bundle._check_imports(ok)
    for name, source, message in [
        ("utils/data.py", b"from utils.checking import observe\n", "utils.checking"),
        ("utils/data.py", b"def f():\n    from utils import missing\n", "utils.missing"),
        ("utils/data.py", b"from course import spec\n", "must not import course"),
        ("course/cli.py", b"from course import grading\n", "course.grading"),
    ]:
        with pytest.raises(bundle.BundleError, match=message):
            bundle._check_imports({**ok, name: source})


def _student_environment(tmp_path: Path, unpacked: Path) -> tuple[Path, dict]:
    """A fresh virtual environment that sees the course venv's third-party packages and installs the
    bundle the way its README says (``pip install --no-deps --no-build-isolation -e .``).

    The course venv's packages come in through a plain path line in a ``.pth`` file, so the course
    venv's own ``.pth`` files, among them the editable install of this repository (whose import hook
    would find ``course.grading`` here), are not processed: ``utils`` and ``course`` come from the
    bundle only.
    """
    venv = tmp_path / "venv"
    subprocess.run([sys._base_executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    shared = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    Path(site, "course-venv-packages.pth").write_text("\n".join(shared) + "\n")
    env = {k: v for k, v in os.environ.items()
           if k not in ("COURSE_DATA_DIR", "COURSE_GRADING_DIR", "PYTHONPATH", "VIRTUAL_ENV")}
    env.update(PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1", TF_CPP_MIN_LOG_LEVEL="3",
               PATH=str(venv / "bin") + os.pathsep + env.get("PATH", ""))
    installed = subprocess.run([python, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "-e", "."],
                               cwd=unpacked, env=env, capture_output=True, text=True)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return venv, env


@pytest.mark.slow
def test_unpacked_bundle_installs_and_checks_a_notebook(built, tmp_path):
    out, _ = built
    unpacked = tmp_path / "cnn-course"
    with zipfile.ZipFile(out) as archive:
        archive.extractall(unpacked)
    venv, env = _student_environment(tmp_path, unpacked)
    python, course = venv / "bin" / "python", venv / "bin" / "course"

    def run(*command, cwd=tmp_path):
        return subprocess.run([str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True)

    where = run(python, "-c", "import utils, course.cli, utils.paths as p; print(utils.__file__); "
                              "print(course.cli.__file__); print(p.data_dir())")
    assert where.returncode == 0, where.stderr
    for line in where.stdout.split():
        assert Path(line).resolve().is_relative_to(unpacked.resolve()), where.stdout
    for module in ("course.grading", "course.spec", "course.references", "course.synth"):
        missing = run(python, "-c", f"import {module}")
        assert missing.returncode != 0 and "ModuleNotFoundError" in missing.stderr, module

    helped = run(course, "--help")
    assert helped.returncode == 0 and "check" in helped.stdout and "lab" in helped.stdout, helped.stderr

    work = tmp_path / "my_work"
    copied = run(course, "lab", "--copy-only", "--workdir", work)
    assert copied.returncode == 0, copied.stderr
    assignment = spec.ids()[0]
    notebook = work / assignment / spec.load(assignment).notebook
    assert notebook.read_bytes() == (ROOT / "assignments" / assignment / notebook.name).read_bytes()

    checked = run(course, "check", notebook, cwd=work)
    assert checked.returncode == 1, checked.stdout + checked.stderr
    failures = checked.stdout.split("\nFAILED:\n")[1:]
    assert len(failures) == len(spec.load(assignment).tests), checked.stdout
    for failure in failures:
        assert "NotImplementedError" in failure and "grade(" in failure, failure
    for problem in ("DatasetError", "ModuleNotFoundError", "No module named"):
        assert problem not in checked.stdout, checked.stdout
    assert f"{len(failures)} test cell(s) failed" in checked.stdout
