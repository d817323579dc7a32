"""The student bundle: one zip with everything a class needs and nothing it must not see.

Usage::

    from course import bundle

    zip_path = bundle.build(Path(".grading/bundle/cnn-course-student.zip"))   # every assignment
    bundle.build(out, ["01_happy_house"])                                       # some of them
    bundle.contents(zip_path)                                                   # member names

What goes in (member names; the zip has no top folder, students unzip it with ``-d FOLDER``)::

    assignments/<id>/...            the released notebooks and any files next to them
    utils/...                       the student runtime, all of it
    course/__init__.py, cli.py, lab.py, paths.py   the student side of the `course` command
    datasets/<data files>           every data file (happy/happy.h5, signs/signs.h5, images/...)
    datasets/references/<id>.public.json/.npz      what the in-notebook checks read
    datasets/manifest.json          the repository's manifest entries of exactly these files
    pyproject.toml                  installs `utils`, the student `course` and the `course` command
                                    (distribution cnn-course-student, so it never replaces cnn-course)
    requirements.txt                the lock, unchanged
    nbgrader_config.py              unchanged: JupyterLab's Validate button reads it
    README.md                       written for students (install, lab, check, submit)

Never in it: ``solutions/`` and every ``spec.py`` (solutions, hidden probes, known mistakes and
their patches), ``datasets/references/*.hidden.*``, the other ``course`` modules (specs,
references, grading, demo, scaffold, cells, synth), tests, benchmarks, docs, and anything
untracked or git-ignored. The known mistakes' names and hints do appear in the public references:
the in-notebook checks need them to print hints, as they do in the repository.

The student command line is the repository's own ``course/cli.py``, shipped with ``lab.py`` and
``paths.py`` and without the other tool modules. This works because ``cli.py`` imports at module
level only the standard library and ``course.paths`` (which imports ``utils.paths``), and every
command imports the tool modules it needs inside its function: ``course --help``, ``course check``
(nbgrader's Validator) and ``course lab`` (``course.lab``) run from the bundle, while the
instructor commands (``grade``, ``release``, ...) still appear in ``--help`` and stop with
``ModuleNotFoundError`` when called there. Shipping the same file, rather than a generated entry
point, keeps one implementation of ``check`` and ``lab``; ``tests/test_bundle.py`` runs both from an
unpacked bundle, so a module-level import of a tool module in ``cli.py`` fails the tests.

The file list comes from ``git ls-files`` (contents as they are in the working tree), so
untracked scratch files never ship; outside a git checkout the tree is walked, skipping the
patterns of ``.gitignore``. Two checks make the build refuse (:class:`BundleError`) rather than
ship a broken bundle: each data file must match its manifest entry, and every import of ``utils``
or ``course`` in the shipped code (module-level ones only in the student CLI) must resolve to a
shipped file, which catches a tracked module importing a new file not yet added to git.

The zip is reproducible: members sorted, every timestamp 1980-01-01 00:00, permissions 0644,
deflated at a fixed level (stored where deflating saves under 1%, as for the h5 files and
pictures).
"""

from __future__ import annotations

import ast
import fnmatch
import hashlib
import io
import json
import os
import subprocess
import tomllib
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from course import paths

DEFAULT_NAME = "cnn-course-student.zip"
DISTRIBUTION = "cnn-course-student"
STUDENT_CLI = ("course/__init__.py", "course/cli.py", "course/lab.py", "course/paths.py")
COPIED_AS_IS = ("requirements.txt", "nbgrader_config.py")
PUBLIC_REFERENCE_SUFFIXES = (".json", ".npz")

_EPOCH = (1980, 1, 1, 0, 0, 0)
_FILE_MODE = 0o100644 << 16  # a regular file, rw-r--r--
_COMPRESS_LEVEL = 9
# Never shipped, whatever the file list says.
_NEVER = ("__pycache__", ".ipynb_checkpoints", ".git")


class BundleError(RuntimeError):
    """The bundle cannot be built from the repository as it is; the message says what to do."""


def default_out() -> Path:
    """Where ``course bundle`` writes unless told otherwise (git-ignored)."""
    return paths.grading_dir() / "bundle" / DEFAULT_NAME


def contents(zip_path: Path) -> list[str]:
    """The member names of a bundle, in the order they are stored (sorted)."""
    with zipfile.ZipFile(zip_path) as archive:
        return archive.namelist()


def build(out: Path, assignments: list[str] | None = None) -> Path:
    """Write the student bundle of ``assignments`` (default: every assignment) to ``out``.

    ``assignments`` are assignment ids (``01_happy_house``); each needs its release in
    ``assignments/<id>/`` (``course release``) and its public references (``course references``).
    Returns ``out``. Raises :class:`BundleError` (and writes nothing) when something the bundle
    needs is missing, a data file does not match the manifest, or the shipped code imports a
    module the bundle lacks.
    """
    root = paths.REPO_ROOT
    out = Path(out).resolve()
    ids = _assignment_ids(assignments)
    members = {name: (root / name).read_bytes() for name in _select(_file_list(root), ids)}
    members["datasets/manifest.json"] = _manifest(root, members)
    members["README.md"] = _readme(ids, out.name).encode()
    members["pyproject.toml"] = _pyproject(root, _packages(members)).encode()
    _check_imports(members)

    out.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(members):
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.create_system = 3  # unix, so external_attr holds the permissions
            info.external_attr = _FILE_MODE
            info.compress_type = zipfile.ZIP_DEFLATED if _deflates(members[name]) else zipfile.ZIP_STORED
            archive.writestr(info, members[name], compresslevel=_COMPRESS_LEVEL)
    partial = out.with_name(out.name + ".partial")
    partial.write_bytes(buffer.getvalue())
    os.replace(partial, out)
    return out


def _deflates(data: bytes) -> bool:
    """Whether deflating ``data`` (as the zip does, raw deflate) saves at least 1%."""
    deflate = zlib.compressobj(_COMPRESS_LEVEL, zlib.DEFLATED, -15)
    return len(deflate.compress(data) + deflate.flush()) < 0.99 * len(data)


def _assignment_ids(requested: list[str] | None) -> list[str]:
    from course import spec

    known = spec.ids()
    if not requested:
        return known
    unknown = [a for a in requested if a not in known]
    if unknown:
        raise BundleError(f"unknown assignment(s) {', '.join(unknown)}; the course has: {', '.join(known)}")
    return sorted(set(requested), key=known.index)


def _file_list(root: Path) -> list[str]:
    """Repository-relative POSIX paths of the tracked files that exist in the working tree."""
    try:
        listed = subprocess.run(
            ["git", "-C", str(root), "ls-files", "-z", "--cached"],
            capture_output=True, check=True,
        ).stdout.decode().split("\0")
    except (OSError, subprocess.CalledProcessError):
        listed = _walk(root)
    return sorted(
        name for name in listed
        if name and (root / name).is_file() and not set(PurePosixPath(name).parts) & set(_NEVER)
    )


def _walk(root: Path) -> list[str]:
    """The tree without what ``.gitignore`` ignores (its simple patterns; the fallback without git)."""
    ignore = [".git"]  # a folder in a clone, a file in a git worktree
    gitignore = root / ".gitignore"
    if gitignore.exists():
        ignore += [line.strip() for line in gitignore.read_text().splitlines()
                   if line.strip() and not line.lstrip().startswith(("#", "!"))]

    def ignored(relative: PurePosixPath, is_dir: bool) -> bool:
        for pattern in ignore:
            if pattern.endswith("/") and not is_dir:
                continue
            bare = pattern.strip("/")
            target = relative.as_posix() if "/" in bare else relative.name
            if fnmatch.fnmatch(target, bare):
                return True
        return False

    found = []
    for directory, dirnames, filenames in os.walk(root):
        here = PurePosixPath(Path(directory).relative_to(root).as_posix())
        dirnames[:] = sorted(d for d in dirnames if not ignored(here / d, True))
        found += [(here / f).as_posix() for f in filenames if not ignored(here / f, False)]
    return [name[2:] if name.startswith("./") else name for name in found]


def _select(tracked: list[str], ids: list[str]) -> list[str]:
    """The repository files the bundle copies as they are (manifest, README, pyproject are generated)."""
    chosen = []
    for assignment in ids:
        released = [name for name in tracked if name.startswith(f"assignments/{assignment}/")]
        if not any(name.endswith(".ipynb") for name in released):
            raise BundleError(f"assignments/{assignment}/ holds no released notebook: "
                              f"run `course release {assignment}`")
        chosen += released
    chosen += [name for name in tracked if name.startswith("utils/")]
    missing = [name for name in (*STUDENT_CLI, *COPIED_AS_IS) if name not in tracked]
    if missing:
        raise BundleError(f"the bundle needs {', '.join(missing)}, which git does not track")
    chosen += [*STUDENT_CLI, *COPIED_AS_IS]
    public = {f"datasets/references/{a}.public{suffix}" for a in ids for suffix in PUBLIC_REFERENCE_SUFFIXES}
    absent = sorted(public - set(tracked))
    if absent:
        raise BundleError(f"missing public references {', '.join(absent)}: run `course references`")
    for name in tracked:
        if not name.startswith("datasets/") or name == "datasets/manifest.json":
            continue
        if name.startswith("datasets/references/"):
            if name in public:
                chosen.append(name)
        else:
            chosen.append(name)
    forbidden = [name for name in chosen if _forbidden(name)]
    if forbidden:
        raise BundleError(f"refusing to ship {', '.join(forbidden)} (solutions, specs or hidden references)")
    return sorted(set(chosen))


def _forbidden(name: str) -> bool:
    """A last guard: what must never reach students, wherever it was put."""
    path = PurePosixPath(name)
    return path.parts[0] == "solutions" or path.name == "spec.py" or ".hidden." in path.name


def _check_imports(members: dict[str, bytes]) -> None:
    """Raise :class:`BundleError` unless every import of ``utils`` and ``course`` in the shipped code
    resolves to a shipped file.

    All imports of ``utils/`` count (the runtime imports lazily too), and it must not import
    ``course``; in the student CLI only the module-level ones count, since its instructor commands
    import the tool modules, which are absent by design. This catches a tracked module that imports
    a new file nobody has added to git yet (it would not ship).
    """
    problems = []
    for name, data in sorted(members.items()):
        if not name.endswith(".py") or not name.startswith(("utils/", "course/")):
            continue
        tree = ast.parse(data, filename=name)
        runtime = name.startswith("utils/")
        for node in ast.walk(tree) if runtime else tree.body:
            if isinstance(node, ast.Import):
                wanted = [(alias.name, None) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _absolute(node, name)
                wanted = [(base, alias.name) for alias in node.names]
            else:
                continue
            for module, attribute in wanted:
                top = module.split(".")[0]
                if top not in ("utils", "course"):
                    continue
                if runtime and top == "course":
                    problems.append(f"{name} imports {module}: the student runtime must not import course")
                elif not _provides(members, module, attribute):
                    shown = f"{module}.{attribute}" if attribute else module
                    problems.append(f"{name} imports {shown}, which is not in the bundle (is it tracked by git?)")
    if problems:
        raise BundleError("the bundled code would not import:\n  " + "\n  ".join(problems))


def _absolute(node: ast.ImportFrom, filename: str) -> str:
    """The absolute module of ``from ... import`` in ``filename`` (relative imports resolved)."""
    if not node.level:
        return node.module or ""
    package = list(PurePosixPath(filename).parent.parts)
    package = package[: len(package) - (node.level - 1)]
    return ".".join(package + ([node.module] if node.module else []))


def _module_file(members, module: str) -> str | None:
    path = module.replace(".", "/")
    for candidate in (f"{path}.py", f"{path}/__init__.py"):
        if candidate in members:
            return candidate
    return None


def _provides(members, module: str, attribute: str | None) -> bool:
    """Whether ``import module`` (or ``from module import attribute``) works with the bundled files."""
    source = _module_file(members, module)
    if source is None:
        return False
    if attribute is None or attribute == "*" or _module_file(members, f"{module}.{attribute}"):
        return True
    bound = _bound_names(ast.parse(members[source]).body)
    return attribute in bound or "__getattr__" in bound


def _bound_names(body) -> set[str]:
    """The names a module's top level binds (descending into if/try/with, not into defs)."""
    names = set()
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
        for field in ("body", "orelse", "finalbody", "handlers"):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names |= _bound_names(getattr(node, field, []) or [])
    return names


def _manifest(root: Path, members: dict[str, bytes]) -> bytes:
    """The repository manifest's entries of the bundled data files, each checked against the bytes shipped."""
    entries = json.loads((root / "datasets" / "manifest.json").read_text())["files"]
    selected = {}
    for name, data in members.items():
        if not name.startswith("datasets/"):
            continue
        relative = name[len("datasets/"):]
        entry = entries.get(relative)
        if entry is None:
            raise BundleError(f"{name} is not listed in datasets/manifest.json: "
                              "run `course data` or `course references`")
        if hashlib.sha256(data).hexdigest() != entry["sha256"]:
            raise BundleError(f"{name} does not match its sha256 in datasets/manifest.json: "
                              "run `course data` / `course references`, or restore the committed file")
        selected[relative] = entry
    return (json.dumps({"files": dict(sorted(selected.items()))}, indent=2) + "\n").encode()


def _toml(value) -> str:
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {value!r} as TOML")


def _packages(members) -> list[str]:
    """The import packages among the bundled files (folders of ``utils/`` and ``course/`` with an ``__init__.py``)."""
    return sorted(str(PurePosixPath(name).parent).replace("/", ".")
                  for name in members if name.endswith("/__init__.py"))


def _pyproject(root: Path, packages: list[str]) -> str:
    """The bundle's pyproject: the repository's dependencies and `course` script, the student packages."""
    config = tomllib.loads((root / "pyproject.toml").read_text())
    project, build_system = config["project"], config["build-system"]
    lines = [
        "# The student bundle of the CNN course: the runtime `utils` and the student `course` command.",
        "# Install: pip install -r requirements.txt, then pip install --no-deps --no-build-isolation -e .",
        "[build-system]",
        f"requires = {_toml(build_system['requires'])}",
        f"build-backend = {_toml(build_system['build-backend'])}",
        "",
        "[project]",
        f"name = {_toml(DISTRIBUTION)}",
        f"version = {_toml(project['version'])}",
        f"description = {_toml('The CNN course for students: notebook runtime and the course lab / check commands')}",
        'readme = "README.md"',
        f"requires-python = {_toml(project['requires-python'])}",
    ]
    if "license" in project:
        lines.append(f"license = {_toml(project['license'])}")
    lines += [
        f"dependencies = {_toml(project.get('dependencies', []))}",
        "",
        "[project.scripts]",
        *(f"{name} = {_toml(target)}" for name, target in project.get("scripts", {}).items()),
        "",
        "[tool.setuptools]",
        f"packages = {_toml(packages)}",
        "",
    ]
    return "\n".join(lines)


def _readme(ids: list[str], zip_name: str) -> str:
    from course import spec

    listing = "\n".join(f"- `{a}`: {spec.load(a).title}" for a in ids)
    example = f"{ids[0]}/{spec.load(ids[0]).notebook}"
    return f"""# CNN course: student bundle

The assignments (`assignments/`), the code the notebooks import (`utils/`), the data they read
(`datasets/`) and the `course` command you use to work on them.

{listing}

## Install (once)

You need Python 3.11 on Linux or macOS (on Windows, use WSL). Unzip the bundle into a folder of
its own and install there:

```bash
unzip {zip_name} -d cnn-course && cd cnn-course
python3.11 -m venv .venv
.venv/bin/pip install -r requirements.txt
.venv/bin/pip install --no-deps --no-build-isolation -e .
```

Only these installs need the network; everything else works offline.

## Work

```bash
.venv/bin/course lab
```

copies the notebooks to `my_work/` (it never overwrites your copies) and opens JupyterLab there.
Run the first cell of a notebook, then fill in each function between `# YOUR CODE HERE` and the
end of its cell (delete the `raise NotImplementedError()` line). Keep the function names and
arguments. Run the test cells under each exercise: a failing test says what was checked, what was
expected and what your code gave.

## Check before you submit

Press **Validate** in the notebook's toolbar, or run

```bash
.venv/bin/course check my_work/{example}
```

(in a JupyterLab terminal, *File → New → Terminal*, that is `course check {example}`).
It runs the notebook from top to bottom as the grader will, lists every failing cell and exits
non-zero if any fails. Some tests are hidden: they check the same functions on other inputs, so follow each
exercise's description rather than the visible test's numbers.

## Submit

Hand back the notebook file itself, the way your instructor asks, for example
`my_work/{example}`. Nothing else is needed.
"""
