"""`course lab`: the work-folder copy and the student / instructor JupyterLab environments."""

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import pytest

from course import lab
from utils import paths

INSTRUCTOR_PLUGINS = {
    "@jupyter/nbgrader:menu",
    "@jupyter/nbgrader:formgrader",
    "@jupyter/nbgrader:assignment-list",
    "@jupyter/nbgrader:course-list",
    "@jupyter/nbgrader:create-assignment",
}
VALIDATE_PLUGIN = "@jupyter/nbgrader:validate-assignment"
INSTRUCTOR_SERVER_EXTENSIONS = {
    "nbgrader.server_extensions.formgrader",
    "nbgrader.server_extensions.assignment_list",
    "nbgrader.server_extensions.course_list",
}
VALIDATE_SERVER_EXTENSION = "nbgrader.server_extensions.validate_assignment"


@pytest.fixture(autouse=True)
def grading_dir(tmp_path, monkeypatch):
    """Config folders go to a tmp dir, never into the repository."""
    folder = tmp_path / "grading"
    monkeypatch.setenv("COURSE_GRADING_DIR", str(folder))
    return folder


def written_config(env):
    config_dir = Path(env["JUPYTER_CONFIG_DIR"])
    page = json.loads((config_dir / "labconfig" / "page_config.json").read_text())
    server = json.loads((config_dir / "jupyter_server_config.json").read_text())
    return page, server["ServerApp"]["jpserver_extensions"]


def test_prepare_workdir_copies_missing_assignments_and_never_overwrites(tmp_path):
    released = sorted(p.name for p in (paths.REPO_ROOT / "assignments").iterdir() if p.is_dir())
    assert len(released) >= 2
    work = tmp_path / "my_work"
    kept = work / released[0] / "mine.ipynb"
    kept.parent.mkdir(parents=True)
    kept.write_text("my edits")

    copied = lab.prepare_workdir(work)

    assert copied == [work / name for name in released[1:]]
    assert kept.read_text() == "my edits"
    assert sorted(p.name for p in kept.parent.iterdir()) == ["mine.ipynb"]
    for name in released[1:]:
        assert any((work / name).glob("*.ipynb"))
    assert lab.prepare_workdir(work) == []


@pytest.mark.parametrize("role", lab.ROLES)
def test_path_starts_with_this_environments_bin(role, monkeypatch):
    bin_dir = os.path.dirname(sys.executable)
    monkeypatch.setenv("PATH", os.pathsep.join(["/usr/bin", bin_dir, "/bin"]))
    env = lab.lab_environment(role)
    assert env["PATH"].split(os.pathsep) == [bin_dir, "/usr/bin", "/bin"]
    for tool in ("course", "python", "jupyter"):
        assert shutil.which(tool, path=env["PATH"]) == os.path.join(bin_dir, tool)


def test_config_goes_to_the_course_config_dir_only(grading_dir):
    env = lab.lab_environment("student")
    assert Path(env["JUPYTER_CONFIG_DIR"]) == grading_dir / "jupyter-student"
    assert env["JUPYTERLAB_SETTINGS_DIR"] and "jupyter-student" not in env["JUPYTERLAB_SETTINGS_DIR"]
    assert env["JUPYTERLAB_WORKSPACES_DIR"] and "jupyter-student" not in env["JUPYTERLAB_WORKSPACES_DIR"]


def test_student_sees_only_validate():
    page, server_extensions = written_config(lab.lab_environment("student"))
    disabled = {plugin for plugin, off in page["disabledExtensions"].items() if off}
    assert disabled == INSTRUCTOR_PLUGINS
    assert page["disabledExtensions"][VALIDATE_PLUGIN] is False
    assert {plugin for plugin, locked in page["lockedExtensions"].items() if locked} >= INSTRUCTOR_PLUGINS
    assert {name for name, on in server_extensions.items() if not on} == INSTRUCTOR_SERVER_EXTENSIONS
    assert server_extensions[VALIDATE_SERVER_EXTENSION] is True


def test_instructor_gets_everything():
    page, server_extensions = written_config(lab.lab_environment("instructor"))
    assert not any(page["disabledExtensions"].values())
    assert set(page["disabledExtensions"]) == INSTRUCTOR_PLUGINS | {VALIDATE_PLUGIN}
    assert not page.get("lockedExtensions")
    assert server_extensions == dict.fromkeys(INSTRUCTOR_SERVER_EXTENSIONS | {VALIDATE_SERVER_EXTENSION}, True)


def test_unknown_role_is_refused():
    with pytest.raises(ValueError, match="unknown role"):
        lab.lab_environment("teacher")


def test_lists_match_the_installed_nbgrader():
    """When nbgrader changes its plugins or server extensions, course/lab.py must follow."""
    from jupyter_core.paths import jupyter_config_path, jupyter_path

    package = next(
        Path(p) / "@jupyter" / "nbgrader"
        for p in jupyter_path("labextensions")
        if (Path(p) / "@jupyter" / "nbgrader" / "package.json").is_file()
    )
    source = "".join(f.read_text(errors="replace") for f in (package / "static").glob("*.js"))
    assert set(re.findall(r'"(@jupyter/nbgrader:[a-z-]+)"', source)) == set(lab.NBGRADER_PLUGINS)

    enabled = {}
    for config_dir in jupyter_config_path():
        for path in Path(config_dir).glob("jupyter_server_config.d/*.json"):
            config = json.loads(path.read_text())
            enabled.update(config.get("ServerApp", {}).get("jpserver_extensions", {}))
    assert {name for name in enabled if name.startswith("nbgrader.")} == set(lab.NBGRADER_SERVER_EXTENSIONS)


def test_run_lab_starts_jupyterlab_on_the_workdir(tmp_path, monkeypatch):
    calls = []

    class FakeProcess:
        def __init__(self, command, env, cwd):
            calls.append((command, env, cwd))

        def wait(self):
            return 3

    monkeypatch.setattr(lab.subprocess, "Popen", FakeProcess)
    assert lab.run_lab(tmp_path, extra_args=["--no-browser"]) == 3
    [(command, env, cwd)] = calls
    assert command == [sys.executable, "-m", "jupyterlab", f"--notebook-dir={tmp_path.resolve()}", "--no-browser"]
    assert env["JUPYTER_CONFIG_DIR"].endswith("jupyter-student")
    assert cwd == paths.REPO_ROOT


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_student_server_serves_validate_and_not_the_formgrader(tmp_path, monkeypatch):
    import nbgrader

    work = tmp_path / "work"
    work.mkdir()
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(1 + 1)")]), work / "tiny.ipynb")
    port, token = _free_port(), secrets.token_hex(16)
    base = f"http://127.0.0.1:{port}"
    args = [
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--allow-root")

    processes = []
    real_popen = subprocess.Popen

    def recording_popen(*a, **kw):
        processes.append(real_popen(*a, **kw))
        return processes[-1]

    monkeypatch.setattr(lab.subprocess, "Popen", recording_popen)
    result = {}

    def run():
        try:
            result["code"] = lab.run_lab(work, extra_args=args)
        except BaseException as error:  # reported by the main thread
            result["error"] = error

    runner = threading.Thread(target=run, daemon=True)

    def request(path, body=None, timeout=10):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(base + path, data=data, headers={"Authorization": f"token {token}"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, ""

    runner.start()
    try:
        deadline = time.monotonic() + 90
        while True:
            assert time.monotonic() < deadline, "JupyterLab did not start within 90 s"
            assert runner.is_alive(), f"JupyterLab exited early: {result}"
            try:
                if request("/api/status")[0] == 200:
                    break
            except (urllib.error.URLError, OSError):
                time.sleep(0.5)

        status, html = request("/lab")
        assert status == 200
        config = json.loads(re.search(r'id="jupyter-config-data"[^>]*>(.*?)</script>', html, re.S).group(1))
        nbgrader_disabled = {p for p in config["disabledExtensions"] if p.startswith("@jupyter/nbgrader")}
        assert nbgrader_disabled == INSTRUCTOR_PLUGINS
        assert set(json.loads(request("/lab/api/plugins")[1])["lockRules"]) >= INSTRUCTOR_PLUGINS

        for path in ("/formgrader", "/formgrader/api/status", "/formgraders", "/assignments"):
            assert request(path)[0] == 404, path

        status, body = request(f"/nbgrader_version?version={nbgrader.__version__}")
        assert status == 200 and json.loads(body)["success"] is True
        status, body = request("/assignments/validate", {"path": "tiny.ipynb"}, timeout=120)
        assert status == 200 and json.loads(body)["success"] is True, body

        assert request("/api/shutdown", {})[0] == 200
        runner.join(timeout=30)
        assert result.get("code") == 0
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
        runner.join(timeout=10)


# ---------------------------------------------------------------------------
# `course check`
# ---------------------------------------------------------------------------
def nbgrader_notebook(path: Path, *cells: tuple[str, str | None]) -> Path:
    """A notebook of ``(source, grade_id)`` code cells; a cell with a grade_id is a locked test cell worth
    one point, with the checksum a release gives it."""
    from nbgrader.utils import compute_checksum

    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for source, grade_id in cells:
        cell = nbformat.v4.new_code_cell(source)
        if grade_id:
            cell.metadata["nbgrader"] = {"grade": True, "grade_id": grade_id, "locked": True, "points": 1,
                                         "schema_version": 3, "solution": False, "task": False}
            cell.metadata["nbgrader"]["checksum"] = compute_checksum(cell)
        notebook.cells.append(cell)
    nbformat.write(notebook, path)
    return path


@pytest.mark.slow
def test_check_lists_failing_test_cells_and_the_kernel_does_not_warn_about_its_connection(tmp_path, capfd):
    notebook = nbgrader_notebook(
        tmp_path / "tiny.ipynb",
        ("get_ipython().kernel.log.error('the kernel reports a real problem')\nx = 1", None),
        ("assert x == 1, 'x is not 1'", "passes"),
        ("assert x == 2, 'x is not 2'", "fails"),
    )
    assert lab.check(notebook, timeout=60) == 1
    out, err = capfd.readouterr()
    assert "FAILED:" in out and "AssertionError: x is not 2" in out and "x is not 1" not in out
    assert "1 test cell(s) failed (shown above). Fix them before you submit." in out
    assert "locked cell" not in out and "changed" not in out
    assert "the kernel reports a real problem" in err  # what the kernel writes to the terminal still shows
    assert "Kernel is running over TCP without encryption" not in out + err


@pytest.mark.slow
def test_check_passes_a_clean_notebook_and_explains_an_edited_locked_cell(tmp_path, capfd):
    path = nbgrader_notebook(tmp_path / "tiny.ipynb", ("x = 1", None), ("assert x == 1", "passes"))
    assert lab.check(path, timeout=60) == 0
    assert "All test cells pass. Ready to submit." in capfd.readouterr().out

    notebook = nbformat.read(path, as_version=4)
    notebook.cells[1].source = "assert True  # the test, edited"
    nbformat.write(notebook, path)
    assert lab.check(path, timeout=60) == 1
    out = capfd.readouterr().out
    assert "EDITED LOCKED CELL" in out and "assert True  # the test, edited" in out
    assert "1 locked cell(s) differ from the released notebook" in out
    assert "replaced by their released version when the notebook is graded" in out
    assert "0 " not in out and "failed" not in out


def test_check_names_a_missing_notebook(tmp_path):
    with pytest.raises(SystemExit, match="nothing.ipynb does not exist"):
        lab.check(tmp_path / "nothing.ipynb")
