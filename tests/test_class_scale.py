"""Grading a class on a pool: a run killed at a random point and resumed, and a separate Dask cluster,
give the same grades as one uninterrupted run on the local pool.

The slow layer: real nbgrader, real kernels in their sandboxes, real judges.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from course import inprocess, paths, sandbox, spec

pytestmark = pytest.mark.slow

A = "01_happy_house"


def _put(root: Path, student: str, notebook: dict) -> None:
    folder = root / student / A
    folder.mkdir(parents=True)
    (folder / spec.load(A).notebook).write_text(json.dumps(notebook))


def _grade(submissions: Path, out: Path, *extra: str, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "course.cli", "grade", str(submissions), "--out", str(out),
                           "--no-progress", *extra], capture_output=True, text=True, timeout=timeout)


def _csvs(out: Path) -> dict[str, str]:
    return {name: (out / name).read_text() for name in ("grades.csv", "cells.csv")}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def dask_cluster():
    """A `dask scheduler` and a `dask worker` as separate processes on this machine's loopback."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    bin_dir = Path(sys.executable).parent
    env = dict(os.environ, PYTHONPATH=str(paths.REPO_ROOT))
    started = [subprocess.Popen([str(bin_dir / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                 "--dashboard-address", ":0", "--no-show"], cwd=paths.REPO_ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)]
    try:
        started.append(subprocess.Popen([str(bin_dir / "dask"), "worker", address, "--nworkers", "2",
                                         "--nthreads", "1", "--memory-limit", "0", "--no-dashboard"],
                                        cwd=paths.REPO_ROOT, env=env, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, start_new_session=True))
        from distributed import Client

        with Client(address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=120)
        yield address
    finally:
        for process in reversed(started):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def submissions(tmp_path_factory) -> Path:
    if not sandbox.available():
        pytest.skip("bubblewrap is not available (apt-get install bubblewrap); .ci/run installs it")
    root = tmp_path_factory.mktemp("submissions")
    _put(root, "ada", inprocess.submission(A, inprocess.reference_answers(A)))
    _put(root, "grace", inprocess.submission(A))
    _put(root, "linus", inprocess.submission(A, mutants=[spec.load(A).mistake("conv_valid_padding")]))
    _put(root, "margaret", inprocess.submission(A, mutants=[spec.load(A).mistake("happy_no_batchnorm")]))
    return root


def test_killed_at_a_random_point_resumed_and_regraded_on_a_dask_cluster_the_grades_are_the_same(
        submissions, tmp_path):
    out = tmp_path / "class"
    # Killed somewhere between the start and the last submission: the whole process group, SIGKILL.
    delay = random.Random().uniform(3, 40)
    run = subprocess.Popen([sys.executable, "-m", "course.cli", "grade", str(submissions), "--out", str(out),
                            "--workers", "2", "--no-progress"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, start_new_session=True)
    time.sleep(delay)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(run.pid, signal.SIGKILL)
    run.wait()
    time.sleep(1)  # the sandboxes die with their workers (--die-with-parent)
    kept = [p for p in (out.parent / "class.partial" / "results").glob("*/result.json")] \
        if (out.parent / "class.partial").exists() else []

    resumed = _grade(submissions, out, "--workers", "2")
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    if kept:
        assert f"{len(kept)} submissions already graded by an earlier run" in resumed.stdout, (delay, len(kept))
    after_resume = _csvs(out)
    rows = after_resume["grades.csv"].splitlines()
    assert len(rows) == 5 and "ada,01_happy_house,8,8,graded," in rows, after_resume["grades.csv"]

    with dask_cluster() as address:
        regraded = _grade(submissions, out, "--scheduler", address, "--force")
    assert regraded.returncode == 0, regraded.stdout[-3000:] + regraded.stderr[-3000:]
    assert f"workers: the Dask cluster at {address}" in regraded.stdout
    assert "already graded" not in regraded.stdout
    assert _csvs(out) == after_resume, (delay, len(kept))

    again = _grade(submissions, out, "--workers", "1")  # nothing changed: nothing is graded again
    assert "4 submissions already graded by an earlier run" in again.stdout
    assert _csvs(out) == after_resume
