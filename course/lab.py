"""Start JupyterLab for a student or an instructor.

Usage::

    from course import lab
    from course import paths

    work = paths.REPO_ROOT / "my_work"
    lab.prepare_workdir(work)                           # copy assignments/<id>/ into work/, never overwriting
    lab.run_lab(work)                                   # student: nbgrader's Validate button only
    lab.run_lab(paths.REPO_ROOT, role="instructor")     # everything nbgrader offers (formgrader etc.)

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
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
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
