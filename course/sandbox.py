"""Run one submission's grading in a sandbox: bubblewrap, an unprivileged user, resource caps.

Each submission's ``nbgrader autograde`` (and the student's kernel it starts)
runs under `bubblewrap <https://github.com/containers/bubblewrap>`_ with:

* **a minimal, read-only view**: the system's ``/usr``, ``/etc``..., the Python
  installation, the virtual environment, the course runtime (``utils/``) and the
  public data (data files and ``*.public.*`` references). Not visible: the
  solutions and specs, hidden references, the course's tools, the class's
  gradebook, other students' files, ``.git``;
* **one writable folder**, the submission's own scratch folder;
* **no network** and new PID, IPC, UTS and cgroup namespaces (``--unshare-all``);
  ``--die-with-parent`` and the PID namespace make every process of the
  submission, detached daemons included, die with it;
* **an unprivileged user**: when the grader runs as root, bubblewrap sets up the
  mounts as root and ``setpriv`` then drops to ``nobody`` (no capabilities, no
  way back) before anything of the submission runs; otherwise bubblewrap runs
  in a user namespace as the grader's own unprivileged user;
* **caps**: memory (a cgroup when the grader may create one, else an address-space
  rlimit), the number of processes (a cgroup, else ``RLIMIT_NPROC``), and a wall
  limit after which the whole process tree is killed.

Where bubblewrap is missing, grading runs only with ``isolation="none"``, which
the caller must ask for explicitly (``course grade --no-isolation``); the
output says which isolation was in force. On clusters, the documented
alternative is a container image built from ``requirements.txt`` (README).
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from course import paths

DEFAULT_MEMORY_MB = 4096  # measured peak of one grading run ~1.4 GB (02, benchmarks/grading.py); about 3x
DEFAULT_PROCESSES = 256
NOBODY = 65534
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/etc")


class IsolationUnavailable(RuntimeError):
    """bubblewrap is not installed (or cannot run here) and grading without isolation was not asked for."""


@dataclass
class Limits:
    wall_s: float
    memory_mb: int = DEFAULT_MEMORY_MB
    processes: int = DEFAULT_PROCESSES


@dataclass
class Outcome:
    returncode: int
    seconds: float
    killed: str = ""  # "" or why the run was stopped: "wall limit 300 s", "memory limit 4096 MB"
    isolation: str = ""
    log: str = ""
    notes: list[str] = field(default_factory=list)


def bwrap_path() -> str | None:
    return shutil.which("bwrap")


def available() -> bool:
    """True when bubblewrap can start a sandbox here (installed, and user namespaces allowed)."""
    tool = bwrap_path()
    if not tool:
        return False
    probe = subprocess.run([tool, "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "true"],
                           capture_output=True, timeout=30)
    return probe.returncode == 0


def describe(isolation: str) -> str:
    if isolation == "bwrap":
        return ("bubblewrap sandbox per submission: unprivileged user, read-only runtime and public data, "
                "no network, no hidden references, solutions, gradebook or other students' files, "
                "memory and process caps, wall limit")
    return "NO ISOLATION: submissions run as this user with access to everything it can read and write"


# ---------------------------------------------------------------------------
# Resource caps
# ---------------------------------------------------------------------------


class _Cgroup:
    """A cgroup (v2, or v1 memory + pids controllers) for one run, when this process may create one."""

    def __init__(self, limits: Limits):
        self.dirs: list[Path] = []
        name = f"course-grade-{uuid.uuid4().hex[:12]}"
        v2 = Path("/sys/fs/cgroup")
        try:
            if (v2 / "cgroup.controllers").exists() and "memory" in (v2 / "cgroup.controllers").read_text():
                group = v2 / name
                group.mkdir()
                self.dirs = [group]
                (group / "memory.max").write_text(str(limits.memory_mb << 20))
                (group / "memory.swap.max").write_text("0")
                (group / "pids.max").write_text(str(limits.processes))
                self.kind = "cgroup v2"
            else:
                memory, pids = v2 / "memory" / name, v2 / "pids" / name
                memory.mkdir()
                self.dirs.append(memory)
                (memory / "memory.limit_in_bytes").write_text(str(limits.memory_mb << 20))
                with contextlib.suppress(OSError):  # only where swap accounting is on
                    (memory / "memory.memsw.limit_in_bytes").write_text(str(limits.memory_mb << 20))
                pids.mkdir()
                self.dirs.append(pids)
                (pids / "pids.max").write_text(str(limits.processes))
                self.kind = "cgroup v1"
        except OSError:
            self.remove()
            self.dirs = []
            self.kind = ""

    @property
    def usable(self) -> bool:
        return bool(self.dirs)

    def enter(self) -> None:
        """Put the calling process (and so all its descendants) into the cgroup."""
        for group in self.dirs:
            (group / "cgroup.procs").write_text(str(os.getpid()))

    def hit_memory_limit(self) -> bool:
        for group in self.dirs:
            for name, marker in (("memory.events", "oom_kill "), ("memory.oom_control", "oom_kill ")):
                with contextlib.suppress(OSError):
                    for line in (group / name).read_text().splitlines():
                        if line.startswith(marker) and int(line.split()[1]) > 0:
                            return True
            with contextlib.suppress(OSError, ValueError):
                if int((group / "memory.failcnt").read_text()) > 0:
                    return True
        return False

    def kill_all(self) -> None:
        for _ in range(20):
            pids = set()
            for group in self.dirs:
                with contextlib.suppress(OSError):
                    pids |= {int(p) for p in (group / "cgroup.procs").read_text().split()}
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.05)

    def remove(self) -> None:
        for group in self.dirs:
            with contextlib.suppress(OSError):
                group.rmdir()


def _prepare_child(cgroup: _Cgroup, limits: Limits):
    """What the child does between fork and exec: a session of its own, the cgroup, rlimits."""

    def prepare():
        os.setsid()
        if cgroup.usable:
            cgroup.enter()
        else:
            memory = limits.memory_mb << 20
            # An address-space cap: TensorFlow reserves far more virtual memory than it touches.
            resource.setrlimit(resource.RLIMIT_AS, (4 * memory, 4 * memory))
            resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    return prepare


# ---------------------------------------------------------------------------
# The bubblewrap command
# ---------------------------------------------------------------------------


def _ro_bind(source, target=None) -> list[str]:
    """Bind read-only, creating the target's missing parents world-readable (bubblewrap makes them 0700)."""
    target = Path(target or source)
    parents = []
    for parent in reversed(target.parents):
        if str(parent) != "/":
            parents += ["--perms", "0755", "--dir", str(parent)]
    return parents + ["--ro-bind", str(source), str(target)]


def _public_data_binds(data: Path) -> list[str]:
    """The data folder read-only, with only the public references in ``references/`` (the hidden ones do not exist)."""
    binds = _ro_bind(data) + ["--perms", "0755", "--tmpfs", str(data / "references")]
    for public in sorted((data / "references").glob("*.public.*")):
        binds += ["--ro-bind", str(public), str(public)]
    return binds


def bwrap_command(argv: list[str], scratch: Path, env: dict[str, str], as_root: bool) -> list[str]:
    """The bubblewrap command line that runs ``argv`` with ``scratch`` as the only writable folder."""
    root = paths.REPO_ROOT
    if as_root:  # mounts made as root; setpriv drops to nobody inside, so no user namespace
        namespaces = ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"]
        argv = [shutil.which("setpriv") or "/usr/bin/setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}",
                "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", *argv]
    else:
        namespaces = ["--unshare-all"]
    command = [bwrap_path(), *namespaces, "--die-with-parent", "--new-session",
               "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--tmpfs", "/run"]
    for folder in SYSTEM_DIRS:
        if Path(folder).exists():
            command += ["--ro-bind", folder, folder] if not Path(folder).is_symlink() else \
                ["--symlink", os.readlink(folder), folder]
    for folder in sorted({Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve()}):
        command += _ro_bind(folder)
    command += _ro_bind(root / "utils")
    command += _ro_bind(root / "nbgrader_config.py")
    command += _public_data_binds(paths.data_dir())
    command += _ro_bind(scratch)[:-3] + ["--bind", str(scratch), str(scratch), "--chdir", str(scratch)]
    command += ["--clearenv"]
    for key, value in env.items():
        command += ["--setenv", key, value]
    return command + ["--"] + argv


def run(argv: list[str], *, scratch: Path, env: dict[str, str], limits: Limits, isolation: str,
        log_path: Path) -> Outcome:
    """Run ``argv`` for one submission and return how it ended. Never raises for what the submission does.

    Output goes to ``log_path`` (a file, not a pipe: a detached child that keeps
    the output open cannot hang the grader). ``isolation`` is ``"bwrap"`` or ``"none"``.
    """
    scratch.mkdir(parents=True, exist_ok=True)
    drop = isolation == "bwrap" and os.geteuid() == 0
    if drop:  # the unprivileged user writes only to its own scratch folder
        for path in [scratch, *scratch.rglob("*")]:
            os.chown(path, NOBODY, NOBODY, follow_symlinks=False)
    run_env = dict(env, HOME=str(scratch / "home"), TMPDIR="/tmp" if isolation == "bwrap" else str(scratch / "tmp"))
    (scratch / "home").mkdir(exist_ok=True)
    (scratch / "tmp").mkdir(exist_ok=True)
    if drop:
        for folder in (scratch / "home", scratch / "tmp"):
            os.chown(folder, NOBODY, NOBODY)
    if isolation == "bwrap":
        command = bwrap_command(argv, scratch, run_env, as_root=drop)
    else:
        command = argv
        run_env = dict(os.environ, **run_env)
    cgroup = _Cgroup(limits)
    started = time.perf_counter()
    killed = ""
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                   env=run_env, cwd=scratch, preexec_fn=_prepare_child(cgroup, limits))
        try:
            process.wait(timeout=limits.wall_s)
        except subprocess.TimeoutExpired:
            killed = f"wall limit {limits.wall_s:.0f} s"
        finally:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            cgroup.kill_all()
    seconds = time.perf_counter() - started
    if not killed and cgroup.hit_memory_limit():
        killed = f"memory limit {limits.memory_mb} MB"
    cgroup.remove()
    notes = [] if cgroup.usable else ["memory and processes capped by rlimits (no cgroup available)"]
    text = log_path.read_bytes()[-200_000:].decode("utf-8", "replace")
    return Outcome(process.returncode, seconds, killed, isolation, text, notes)
