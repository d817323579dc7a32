"""Start JupyterLab for a student or an instructor.

Usage::

    from course import lab
    from course import paths

    work = paths.REPO_ROOT / "my_work"
    lab.prepare_workdir(work)                           # copy assignments/<id>/ into work/, never overwriting
    lab.run_lab(work)                                   # student: nbgrader's Validate button only
    lab.run_lab(paths.REPO_ROOT, role="instructor")     # everything nbgrader offers (formgrader etc.)
    lab.check(work / "01_happy_house" / "happy_house.ipynb")  # `course check`: run it as the grader will

nbgrader 0.9.6 installs, in the virtual environment, one JupyterLab extension
(``@jupyter/nbgrader``) made of the plugins in ``NBGRADER_PLUGINS``, and enables
the Jupyter server extensions in ``NBGRADER_SERVER_EXTENSIONS``
(``.venv/etc/jupyter/jupyter_server_config.d/nbgrader.json``). A student needs only
the Validate button (plugin ``validate-assignment``, server extension
``validate_assignment``); the rest is the instructor's UI and fails without the
course's gradebook and exchange.

Each launch points ``JUPYTER_CONFIG_DIR`` at a course-owned folder,
``.grading/jupyter-<role>/`` (``$COURSE_GRADING_DIR`` when set), rewritten at every
launch with:

- ``labconfig/page_config.json``: ``disabledExtensions`` turns each nbgrader plugin
  off or on explicitly; for students the nbgrader plugins are also in
  ``lockedExtensions``, so JupyterLab's Plugin Manager cannot switch them back on;
- ``jupyter_server_config.json``: ``ServerApp.jpserver_extensions`` turns each
  nbgrader server extension off or on, so ``/formgrader`` and the assignment and
  course list APIs are not served to students.

This config folder is the highest-priority Jupyter config level, so it wins over the
virtual environment's and the system's settings, and no global config is changed.
It replaces ``~/.jupyter`` for this launch: a password or other server settings kept
there are not used (Jupyter's default token login applies). JupyterLab's own user
settings and workspaces (theme, shortcuts, layout) still come from the usual place,
``~/.jupyter/lab/`` (or ``$JUPYTERLAB_SETTINGS_DIR`` / ``$JUPYTERLAB_WORKSPACES_DIR``).

The formgrader needs the course root (``REPO_ROOT``, set in ``nbgrader_config.py``)
inside the notebook folder, so instructors start JupyterLab on ``REPO_ROOT``.
JupyterLab runs with ``REPO_ROOT`` as its working directory either way, which is
where nbgrader's Validate and formgrader handlers read ``nbgrader_config.py`` from.

:func:`check` is the student's self-check from a terminal (``course check``): nbgrader's
Validator runs the notebook in a fresh kernel, and the failing test cells and edited
locked cells are printed with what they mean. The kernel talks to it over local IPC
sockets in a private temporary folder rather than TCP, so ipykernel has no reason to
warn on the terminal that its connection is unencrypted; everything the kernel does
write to the terminal still shows.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Iterable

from course import paths

ROLES = ("student", "instructor")

# The plugins of nbgrader's JupyterLab extension (nbgrader 0.9.6). "menu" is the
# "Nbgrader" main-menu entry that opens the formgrader and the lists.
NBGRADER_PLUGINS = (
    "@jupyter/nbgrader:menu",
    "@jupyter/nbgrader:formgrader",
    "@jupyter/nbgrader:assignment-list",
    "@jupyter/nbgrader:course-list",
    "@jupyter/nbgrader:create-assignment",
    "@jupyter/nbgrader:validate-assignment",
)
STUDENT_PLUGINS = ("@jupyter/nbgrader:validate-assignment",)

# The server extensions nbgrader enables (nbgrader 0.9.6).
NBGRADER_SERVER_EXTENSIONS = (
    "nbgrader.server_extensions.formgrader",
    "nbgrader.server_extensions.assignment_list",
    "nbgrader.server_extensions.course_list",
    "nbgrader.server_extensions.validate_assignment",
)
STUDENT_SERVER_EXTENSIONS = ("nbgrader.server_extensions.validate_assignment",)


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")


def prepare_workdir(workdir: Path) -> list[Path]:
    """Copy each ``assignments/<id>/`` folder into ``workdir`` unless ``workdir/<id>`` exists.

    Nothing that exists is overwritten, so a student's edits survive every launch and
    every ``git pull``. Returns the folders copied (empty when all were there).
    """
    workdir = Path(workdir).resolve()
    source = paths.REPO_ROOT / "assignments"
    copied = []
    for assignment in sorted(p for p in source.iterdir() if p.is_dir()):
        target = workdir / assignment.name
        if not target.exists():
            shutil.copytree(assignment, target)
            copied.append(target)
    return copied


def page_config(role: str) -> dict:
    """JupyterLab's page config for ``role``: which nbgrader plugins are off (and locked)."""
    _check_role(role)
    if role == "instructor":
        return {"disabledExtensions": {plugin: False for plugin in NBGRADER_PLUGINS}}
    return {
        "disabledExtensions": {plugin: plugin not in STUDENT_PLUGINS for plugin in NBGRADER_PLUGINS},
        "lockedExtensions": {plugin: True for plugin in NBGRADER_PLUGINS},
    }


def server_config(role: str) -> dict:
    """Jupyter server config for ``role``: which nbgrader server extensions are loaded."""
    _check_role(role)
    enabled = {
        name: role == "instructor" or name in STUDENT_SERVER_EXTENSIONS for name in NBGRADER_SERVER_EXTENSIONS
    }
    return {"ServerApp": {"jpserver_extensions": enabled}}


def config_dir(role: str) -> Path:
    """The ``JUPYTER_CONFIG_DIR`` of ``role``'s launches (git-ignored)."""
    _check_role(role)
    return paths.grading_dir() / f"jupyter-{role}"


def write_config(role: str) -> Path:
    """(Re)write ``role``'s Jupyter config folder and return it."""
    directory = config_dir(role)
    (directory / "labconfig").mkdir(parents=True, exist_ok=True)
    (directory / "labconfig" / "page_config.json").write_text(json.dumps(page_config(role), indent=2) + "\n")
    (directory / "jupyter_server_config.json").write_text(json.dumps(server_config(role), indent=2) + "\n")
    return directory


def lab_environment(role: str) -> dict[str, str]:
    """The environment of the JupyterLab process for ``role`` ("student" or "instructor").

    Writes the role's config folder (see the module docstring). ``PATH`` starts with
    this Python's ``bin`` folder, so ``course``, ``python`` and ``jupyter`` are this
    course's in JupyterLab terminals and kernels without activating the environment.
    """
    from jupyter_core.paths import jupyter_config_dir

    _check_role(role)
    env = dict(os.environ)
    # Keep the user's JupyterLab settings and workspaces where they are without the override.
    user_lab_dir = os.path.join(jupyter_config_dir(), "lab")
    env.setdefault("JUPYTERLAB_SETTINGS_DIR", os.path.join(user_lab_dir, "user-settings"))
    env.setdefault("JUPYTERLAB_WORKSPACES_DIR", os.path.join(user_lab_dir, "workspaces"))
    env["JUPYTER_CONFIG_DIR"] = str(write_config(role))

    bin_dir = os.path.dirname(sys.executable)
    rest = [entry for entry in env.get("PATH", "").split(os.pathsep) if entry and entry != bin_dir]
    env["PATH"] = os.pathsep.join([bin_dir, *rest])
    return env


def run_lab(workdir: Path, role: str = "student", extra_args: Iterable[str] = ()) -> int:
    """Run JupyterLab on ``workdir`` for ``role`` until it exits; return its exit code.

    ``extra_args`` go to JupyterLab (e.g. ``["--no-browser", "--port=8899"]``).
    Ctrl-C is left to JupyterLab, which asks for confirmation and then stops its kernels.
    """
    env = lab_environment(role)
    command = [sys.executable, "-m", "jupyterlab", f"--notebook-dir={Path(workdir).resolve()}", *extra_args]
    process = subprocess.Popen(command, env=env, cwd=paths.REPO_ROOT)
    while True:
        try:
            return process.wait()
        except KeyboardInterrupt:
            continue


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in str(text).splitlines())


def kernel_transport_config(socket_dir: str):
    """Validator config that connects the kernel over IPC sockets in ``socket_dir`` (TCP on Windows, which
    has no IPC transport)."""
    from traitlets.config import Config

    config = Config()
    if os.name != "nt":
        config.KernelManager.transport = "ipc"
        config.KernelManager.ip = os.path.join(socket_dir, "kernel")
    return config


def check(notebook: Path, timeout: int = 120) -> int:
    """Run ``notebook`` from top to bottom as the grader will and say what would lose points.

    Prints every failing test cell with its error, or every locked cell that differs from the
    release, and a closing line saying what to do. Returns the exit status: 0 when every test
    cell passes, 1 when a test cell fails or a locked cell was edited, 2 when the notebook
    cannot be run at all.
    """
    from nbgrader.validator import Validator

    notebook = Path(notebook).resolve()
    if not notebook.exists():
        raise SystemExit(f"course check: {notebook} does not exist")
    print(f"running {notebook.name} from top to bottom, as the grader will (this takes a little while)...")
    saved_path = os.environ.get("PATH", "")
    # The kernel spec starts `python` from PATH: this environment's.
    os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + saved_path
    try:
        with tempfile.TemporaryDirectory(prefix="course-check-") as socket_dir:
            config = kernel_transport_config(socket_dir)
            config.Execute.timeout = timeout
            results = Validator(config=config).validate(str(notebook))
    except Exception as error:  # a notebook that cannot even be read or started
        print(f"could not run the notebook: {type(error).__name__}: {error}")
        return 2
    finally:
        os.environ["PATH"] = saved_path

    retyped = results.get("type_changed", [])
    if retyped:
        for entry in retyped:
            print(f"\nCELL TYPE CHANGED (released as {entry.get('new_type')}, now {entry.get('old_type')}):\n"
                  + _indent(entry.get("source", "")))
        print(f"\n{len(retyped)} graded cell(s) have another type than in the released notebook, so the "
              "notebook was not run. Change them back (in JupyterLab: the cell "
              "type menu of the toolbar), then run course check again.")
        return 1
    edited = results.get("changed", [])
    if edited:
        for entry in edited:
            print("\nEDITED LOCKED CELL (the grader puts the released version back):\n"
                  + _indent(entry.get("source", "")))
        print(f"\n{len(edited)} locked cell(s) differ from the released notebook. "
              "Locked cells (the set-up and the test cells) are replaced by their released version when the "
              "notebook is graded, so edits there do not count, and the test results are not checked until they "
              "are undone. Copy those cells back from the released notebook, then run course check again.")
        return 1
    failed = results.get("failed", [])
    for entry in failed:
        error = re.sub(r"\x1b\[[0-9;]*m", "", entry.get("raw_error") or entry.get("error", ""))
        print("\nFAILED:\n" + _indent(entry.get("source", "")) + "\n\n" + _indent(error))
    if failed:
        print(f"\n{len(failed)} test cell(s) failed (shown above). "
              "Fix them before you submit.")
        return 1
    print("All test cells pass. Ready to submit.")
    return 0
