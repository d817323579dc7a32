"""The package itself: cheap import, pinned environment, conda file agrees with the lock."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_utils_does_not_import_tensorflow():
    code = ("import sys, utils, utils.data, utils.paths, utils.checking, utils.checking.grader, utils.happy_house, "
            "utils.resnets; print('tensorflow' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def _requirements():
    lines = [line.strip() for line in (ROOT / "requirements.txt").read_text().splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def test_every_requirement_is_pinned_exactly():
    for line in _requirements():
        spec = line.split(";")[0].strip()
        assert re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[A-Za-z0-9_.+\-]+", spec), f"not pinned exactly: {line}"


def test_lock_has_the_course_stack():
    pins = {}
    for line in _requirements():
        name, version = line.split(";")[0].strip().split("==")
        pins.setdefault(name.lower().replace("_", "-"), version)
    assert pins["tensorflow-cpu"].startswith("2.21.")
    assert pins["tensorflow"].startswith("2.21.")  # macOS marker line
    assert pins["keras"].startswith("3.")
    assert pins["nbgrader"] == "0.9.6"
    assert pins["jupyterlab"].startswith("4.")
    assert pins["notebook"].startswith("7.")
    for name in ("numpy", "h5py", "matplotlib", "pillow", "pytest", "ipykernel", "nbconvert"):
        assert name in pins, f"{name} is not pinned in requirements.txt"


def test_platform_markers_give_one_tensorflow_per_platform():
    lines = [line for line in _requirements() if line.lower().startswith(("tensorflow-cpu==", "tensorflow=="))]
    from packaging.markers import Marker

    platforms = [{"sys_platform": "linux", "platform_machine": "x86_64"},
                 {"sys_platform": "linux", "platform_machine": "aarch64"},
                 {"sys_platform": "darwin", "platform_machine": "arm64"},
                 {"sys_platform": "win32", "platform_machine": "AMD64"}]
    for environment in platforms:
        chosen = [line.split("==")[0] for line in lines if Marker(line.split(";", 1)[1]).evaluate(environment)]
        assert len(chosen) == 1, (environment, chosen)


def test_environment_yml_matches_requirements():
    text = (ROOT / "environment.yml").read_text()
    assert re.search(r"^\s*-\s*python=3\.11\s*$", text, re.M), "environment.yml must pin python=3.11"
    assert re.search(r"^\s*-\s*-r requirements\.txt\s*$", text, re.M), "environment.yml must install requirements.txt"
    assert re.search(r"^\s*-\s*-e \.\s*$", text, re.M), "environment.yml must install the utils package (-e .)"
    # No second list of pins that could drift from the lock.
    pinned_here = re.findall(r"^\s*-\s*([A-Za-z][\w.\-]*)\s*[=<>]", text, re.M)
    assert pinned_here == ["python"], f"environment.yml pins packages itself: {pinned_here}"


def test_installed_versions_match_the_lock():
    from importlib.metadata import version

    pins = {}
    for line in _requirements():
        spec, _, marker = line.partition(";")
        if marker:
            from packaging.markers import Marker

            if not Marker(marker).evaluate():
                continue
        name, pinned = spec.strip().split("==")
        pins[name] = pinned
    for name in ("tensorflow-cpu", "keras", "nbgrader", "numpy", "h5py", "jupyterlab", "notebook"):
        assert version(name) == pins[name], \
            f"{name} {version(name)} installed, lock says {pins[name]}: run `make setup`"


def test_course_command_is_installed():
    result = subprocess.run([sys.executable, "-m", "course.cli", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "demo" in result.stdout
