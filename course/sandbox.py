"""Run one submission's grading in a sandbox: bubblewrap, an unprivileged user, resource caps.

Each submission's ``nbgrader autograde`` (and the student's kernel it starts)
runs under `bubblewrap <https://github.com/containers/bubblewrap>`_ with:

* **a minimal, read-only view**: the system's ``/usr``, ``/etc``..., the Python
  installation, the virtual environment, the course runtime (``utils/``) and the
  public data (data files and ``*.public.*`` references). Not visible: the
  solutions and specs, hidden references, the course's tools, the class's
  gradebook, other students' files, ``.git``;
* **one writable folder**, the submission's scratch folder: a tmpfs of its own,
  capped in size (``--scratch-mb``) and gone when the sandbox ends. The grader's
  input files are copied into it from a read-only mount; when the run ends, a
  script in the sandbox writes ``autograded/`` and ``observations/`` as a tar
  stream to a pipe the grader reads up to a cap. Nothing the submission writes
  lands on the grader's disk except that capped stream and the capped log,
  and the grader unpacks the stream as hostile input (:mod:`course.untrusted`);
* **no network** and new PID, IPC, UTS and cgroup namespaces (``--unshare-all``);
  ``--die-with-parent`` and the PID namespace make every process of the
  submission, detached daemons included, die with it;
* **an unprivileged user**: when the grader runs as root, bubblewrap sets up the
  mounts as root and ``setpriv`` then drops to ``nobody`` (no capabilities, no
  way back) before anything of the submission runs; otherwise bubblewrap runs
  in a user namespace as the grader's own unprivileged user;
* **caps**: memory (a cgroup when the grader may create one, else an address-space
  rlimit), the number of processes (a cgroup, else ``RLIMIT_NPROC``), the
  output kept in the log (:data:`LOG_BYTES`), and a wall limit: ``timeout``
  stops the run and the export follows; past a further minute the whole
  process tree is killed.

:func:`readonly_command` and :class:`Confined` also confine the trusted judge
(:mod:`course.judge`): the whole file system read-only, no network, its own caps.

Where bubblewrap is missing, grading runs only with ``isolation="none"``, which
the caller must ask for explicitly (``course grade --no-isolation``); the
output says which isolation was in force. On clusters, the documented
alternative is a container image built from ``requirements.txt`` (README).
"""

from __future__ import annotations

import contextlib
import os
import resource
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from course import paths

DEFAULT_MEMORY_MB = 4096  # measured peak of one grading run ~1.4 GB (02, benchmarks/grading.py); about 3x
DEFAULT_PROCESSES = 256
DEFAULT_SCRATCH_MB = 512  # measured: a graded 03 notebook and its observations take under 20 MB
NOBODY = 65534
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/etc")


class IsolationUnavailable(RuntimeError):
    """bubblewrap is not installed (or cannot run here) and grading without isolation was not asked for."""


@dataclass
class Limits:
    wall_s: float
    memory_mb: int = DEFAULT_MEMORY_MB
    processes: int = DEFAULT_PROCESSES
    scratch_mb: int = DEFAULT_SCRATCH_MB  # the writable scratch folder (a tmpfs, counted in memory_mb too)


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


def _prepare_child(cgroup: _Cgroup, limits: Limits, cpu_s: int | None = None):
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
        if cpu_s:
            resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 5))

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


WORKDIR = "/grading/submission"  # the scratch folder's path inside the sandbox
INPUTS = "/grading/input"  # the grader's files for the run, read-only inside


def bwrap_command(argv: list[str], inputs: Path, env: dict[str, str], as_root: bool, scratch_mb: int) -> list[str]:
    """The bubblewrap command that copies ``inputs`` into a size-capped scratch folder and runs ``argv`` there."""
    root = paths.REPO_ROOT
    if as_root:  # mounts made as root; setpriv drops to nobody inside, so no user namespace
        namespaces = ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"]
        drop = [shutil.which("setpriv") or "/usr/bin/setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}",
                "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs"]
    else:
        namespaces, drop = ["--unshare-all"], []
    command = [bwrap_path(), *namespaces, "--die-with-parent", "--new-session", "--proc", "/proc", "--dev", "/dev",
               "--size", str(scratch_mb << 20), "--tmpfs", "/tmp", "--size", str(1 << 20), "--tmpfs", "/run"]
    for folder in SYSTEM_DIRS:
        if Path(folder).exists():
            command += ["--ro-bind", folder, folder] if not Path(folder).is_symlink() else \
                ["--symlink", os.readlink(folder), folder]
    for folder in sorted({Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve()}):
        command += _ro_bind(folder)
    command += _ro_bind(root / "utils")
    command += _ro_bind(root / "nbgrader_config.py")
    command += _public_data_binds(paths.data_dir())
    # The scratch folder is a tmpfs of its own: its size is capped, and it vanishes with the sandbox.
    command += ["--perms", "0755", "--dir", "/grading", "--perms", "0777", "--size", str(scratch_mb << 20),
                "--tmpfs", WORKDIR, "--ro-bind", str(inputs), INPUTS, "--chdir", "/grading", "--clearenv"]
    for key, value in env.items():
        command += ["--setenv", key, value]
    return command + ["--"] + drop + _script(argv, INPUTS, WORKDIR)


def _script(argv: list[str], inputs: str, workdir: str) -> list[str]:
    """``sh -c``: copy the inputs in, run ``argv`` (without the export pipe), then write the export to it.

    The export pipe is the script's standard input (file descriptor 0, opened for
    writing): a shell names only descriptors 0-9, and in a busy grader (a pool
    worker) any other number the pipe gets can be higher. ``argv`` reads its
    standard input from ``/dev/null`` and never sees the pipe.

    ``timeout`` stops the run at the wall limit (``COURSE_WALL_S``) so that the
    export still happens; what the cells recorded until then is scored."""
    roots = " ".join(EXPORT_ROOTS)
    script = (f'cp -R "{inputs}/." "{workdir}/" && mkdir -p "{workdir}/home" "{workdir}/tmp" && cd "{workdir}" '
              '|| exit 90\n'
              'timeout -k 5 "$COURSE_WALL_S" "$@" </dev/null\n'
              'status=$?\n'
              f'tar -C "{workdir}" -cf - {roots} >&0 2>/dev/null\n'
              'exit $status\n')
    return ["/bin/sh", "-c", script, "sh", *argv]


EXPORT_ROOTS = ("observations", "autograded")  # the small observations first: a huge notebook cannot cut them off
LOG_BYTES = 2 << 20  # a submission's log keeps its first and its last megabyte
EXIT_TIMED_OUT = (124, 137)  # timeout(1): the command ran past the limit (and needed SIGKILL)


class _Drain(threading.Thread):
    """Reads a pipe to its end, keeping at most ``limit`` bytes: the first ones, and with ``keep_tail`` the
    first and the last half (a log's beginning and its final traceback)."""

    def __init__(self, fd: int, limit: int, keep_tail: bool):
        super().__init__(daemon=True)
        self.fd, self.keep_tail = fd, keep_tail
        self.head_limit = limit // 2 if keep_tail else limit
        self.tail_limit = limit - self.head_limit
        self.head, self.tail, self.dropped = bytearray(), bytearray(), 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            ready, _, _ = select.select([self.fd], [], [], 0.2)
            if not ready:
                continue
            chunk = os.read(self.fd, 1 << 16)
            if not chunk:
                break
            room = max(self.head_limit - len(self.head), 0)
            self.head += chunk[:room]
            rest = chunk[room:]
            if rest:
                self.dropped += len(rest)
                if self.keep_tail:
                    self.tail = (self.tail + rest)[-self.tail_limit:]
        os.close(self.fd)

    def finish(self, grace: float = 10) -> None:
        """Wait for the end of the pipe; a detached process that keeps it open is not waited for past ``grace``."""
        self.join(grace)
        self.stop.set()
        self.join()

    def text(self) -> bytes:
        if not self.dropped:
            return bytes(self.head)
        cut = self.dropped - len(self.tail)
        return bytes(self.head) + f"\n[... {cut} bytes of output cut: the log keeps its first and last part ...]\n" \
            .encode() + bytes(self.tail)


class Confined:
    """A process tree in a session of its own, under the caps of ``limits`` (a cgroup, else rlimits)."""

    def __init__(self, command: list[str], limits: Limits, cpu_s: int | None = None, **popen):
        self.limits = limits
        self.out_of_memory: bool | None = None  # known once closed
        self.cgroup = _Cgroup(limits)
        self.process = subprocess.Popen(command, preexec_fn=_prepare_child(self.cgroup, limits, cpu_s), **popen)

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.cgroup.kill_all()

    def hit_memory_limit(self) -> bool:
        if self.out_of_memory is None:
            return self.cgroup.hit_memory_limit()
        return self.out_of_memory

    def close(self) -> None:
        """Kill what is left of the tree and remove the cgroup (after noting whether it ran out of memory)."""
        if self.out_of_memory is not None:
            return
        self.kill()
        self.process.wait()
        self.out_of_memory = self.cgroup.hit_memory_limit()
        self.cgroup.remove()

    @property
    def notes(self) -> list[str]:
        return [] if self.cgroup.usable else ["memory and processes capped by rlimits (no cgroup available)"]


def readonly_command(argv: list[str], env: dict[str, str], visible: list[Path], tmp_mb: int = 256) -> list[str]:
    """bubblewrap running ``argv`` with a read-only view of the system, Python and ``visible`` (nothing
    else of this machine), a small private ``/tmp``, no network and no capabilities."""
    namespaces = ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"] \
        if os.geteuid() == 0 else ["--unshare-all"]
    command = [bwrap_path(), *namespaces, "--die-with-parent", "--new-session", "--cap-drop", "ALL",
               "--proc", "/proc", "--dev", "/dev", "--size", str(tmp_mb << 20), "--tmpfs", "/tmp"]
    for folder in SYSTEM_DIRS:
        if Path(folder).exists():
            command += ["--ro-bind", folder, folder] if not Path(folder).is_symlink() else \
                ["--symlink", os.readlink(folder), folder]
    for folder in sorted({Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve(),
                          *(Path(v).resolve() for v in visible)}):
        command += _ro_bind(folder)
    command += ["--clearenv"]
    for key, value in env.items():
        command += ["--setenv", key, value]
    return command + ["--"] + argv


def run(argv: list[str], *, inputs: Path, env: dict[str, str], limits: Limits, isolation: str, log_path: Path,
        export_path: Path, scratch: Path | None = None) -> Outcome:
    """Run ``argv`` for one submission and return how it ended. Never raises for what the submission does.

    ``inputs`` (the grader's files: notebook, gradebook copy, plan) is copied
    into the scratch folder, ``argv`` runs there, and afterwards ``autograded/``
    and ``observations/`` leave as a tar stream written to ``export_path``, cut
    at :data:`course.untrusted.MAX_EXPORT_BYTES`. With ``isolation="bwrap"``
    the scratch folder is a tmpfs capped at ``limits.scratch_mb`` that only the
    sandbox sees; with ``"none"`` it is ``scratch`` on this machine, removed
    afterwards. Output goes to ``log_path``, capped at :data:`LOG_BYTES`.
    ``argv`` and ``env`` may name ``{work}``: the scratch folder's path where it runs.
    """
    from course.untrusted import MAX_EXPORT_BYTES

    drop = isolation == "bwrap" and os.geteuid() == 0
    workdir = WORKDIR if isolation == "bwrap" else str(scratch)
    argv = [a.replace("{work}", workdir) for a in argv]
    run_env = {k: v.replace("{work}", workdir) for k, v in env.items()}
    run_env.update(HOME=f"{workdir}/home", TMPDIR="/tmp" if isolation == "bwrap" else f"{workdir}/tmp",
                   COURSE_WALL_S=str(int(limits.wall_s)))
    export_read, export_write = os.pipe()
    log_read, log_write = os.pipe()
    if isolation == "bwrap":
        command = bwrap_command(argv, inputs, run_env, as_root=drop, scratch_mb=limits.scratch_mb)
    else:
        scratch.mkdir(parents=True, exist_ok=False)
        command = _script(argv, str(inputs), workdir)
        run_env = dict(os.environ, **run_env)
    started = time.perf_counter()
    killed = ""
    try:  # started before the threads that drain its pipes: no thread runs while it forks
        confined = Confined(command, limits, stdin=export_write, stdout=log_write, stderr=log_write,
                            env=run_env, cwd=scratch if isolation != "bwrap" else "/")
    finally:
        os.close(export_write)
        os.close(log_write)
    export = _Drain(export_read, MAX_EXPORT_BYTES, keep_tail=False)
    log = _Drain(log_read, LOG_BYTES, keep_tail=True)
    export.start()
    log.start()
    try:
        # The script stops the run itself at the wall limit and exports; this is for a script that cannot.
        confined.process.wait(timeout=limits.wall_s + 60)
    except subprocess.TimeoutExpired:
        killed = f"wall limit {limits.wall_s:.0f} s"
    finally:
        confined.close()
    seconds = time.perf_counter() - started
    export.finish()
    log.finish()
    returncode = confined.process.returncode
    if not killed and returncode in EXIT_TIMED_OUT and seconds >= limits.wall_s:
        killed = f"wall limit {limits.wall_s:.0f} s"
    if not killed and confined.hit_memory_limit():
        killed = f"memory limit {limits.memory_mb} MB"
    notes = confined.notes
    if export.dropped:
        notes.append(f"the submission's files passed {MAX_EXPORT_BYTES >> 20} MB; the rest was not read")
    export_path.write_bytes(bytes(export.head))
    text = log.text()
    log_path.write_bytes(text)
    if isolation != "bwrap":
        _remove_tree(scratch)
    return Outcome(returncode, seconds, killed, isolation, text[-200_000:].decode("utf-8", "replace"), notes)


def _remove_tree(folder: Path) -> None:
    """Remove a folder a submission wrote, whatever modes it left (links are removed, never followed)."""
    def writable(function, path, _):
        with contextlib.suppress(OSError):
            os.chmod(os.path.dirname(path), 0o700)
            function(path)

    shutil.rmtree(folder, onerror=writable)
