"""The trusted judge of one submission, in a capped child process of its own.

What a sandboxed submission leaves behind is hostile input, so the grader
does not parse it itself. For each submission :class:`Judge` starts
``python -m course.judge``:

* with bubblewrap, the whole file system **read-only** (it cannot write to the
  class folder, the gradebook or another submission's files), no network and
  no capabilities; always with a **memory cap**, a **CPU limit** and a **wall
  limit** (:class:`JudgeLimits`);
* it is started as the submission's sandbox starts, and meanwhile computes the
  reference values on the seeds drawn for this submission
  (:func:`course.references.reference_values`);
* when the sandbox has ended and its export has been unpacked, it reads the
  observations and the autograded notebook (:mod:`course.untrusted`), rebuilds
  models only after :mod:`course.model_guard` has accepted them, decides every
  cell (:func:`course.trusted.judge`), sanitises the notebook that feedback
  will show, and writes one JSON document to its standard output.

Whatever happens to it (an exception, a signal, a limit, output that is not
the expected document) becomes :class:`JudgeFailed` with a reason, which the
grader turns into that submission's row; the class run goes on.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import resource
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from course import paths, sandbox

# Measured for one honest 02 submission (ResNet50; python benchmarks/judge.py): peak 1.16 GB, 9.2 s of CPU
# with the references, 2.6 s to answer after the sandbox. The memory cap is three times the peak, the CPU
# limit thirteen times, and the wall limit leaves room for a busy machine.
DEFAULT_JUDGE_MEMORY_MB = 3500
DEFAULT_JUDGE_CPU_S = 120
DEFAULT_JUDGE_WALL_S = 180
MAX_RESULT_BYTES = 48 << 20  # the verdicts and the sanitised notebook

# Tags and attributes kept in a student's HTML outputs and edited Markdown; everything else is escaped.
HTML_TAGS = ["a", "abbr", "b", "blockquote", "br", "code", "div", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
             "i", "img", "li", "ol", "p", "pre", "span", "strong", "sub", "sup", "table", "tbody", "td", "th",
             "thead", "tr", "ul"]
HTML_ATTRIBUTES = {"a": ["href", "title"], "img": ["src", "alt", "title", "width", "height"], "*": ["class"]}


# jsonschema imports the optional rfc3987_syntax, which builds a grammar for 1.4 s of CPU on import, to check
# "iri" formats that no notebook schema uses. Processes that grade import nbformat without it.
SKIP_IRI_GRAMMAR = "import sys; sys.modules.setdefault('rfc3987_syntax', None)"


class JudgeFailed(RuntimeError):
    """The judge of one submission did not return verdicts; the message says why."""


@dataclass
class JudgeLimits:
    memory_mb: int = DEFAULT_JUDGE_MEMORY_MB
    cpu_s: int = DEFAULT_JUDGE_CPU_S
    wall_s: float = DEFAULT_JUDGE_WALL_S


# ---------------------------------------------------------------------------
# The grader's side
# ---------------------------------------------------------------------------


class Judge:
    """One submission's judge: started before its sandbox runs, asked for verdicts after."""

    def __init__(self, assignment: str, trusted_args: dict, work: Path, *, isolation: str,
                 limits: JudgeLimits, log_path: Path, extra_env: dict[str, str] | None = None):
        """``work`` holds the unpacked export (``work/export``) and the notebook as handed in; the
        judge sees it, the course and Python, all read-only, and nothing else of this machine."""
        self.limits = limits
        self.log_path = log_path
        self.started = time.perf_counter()
        self.usage: dict = {}  # peak_mb, cpu_s, answer_s (after the sandbox ended), life_s; once it has answered
        env = {"PATH": os.pathsep.join([os.path.dirname(sys.executable), "/usr/bin", "/bin"]), "LANG": "C.UTF-8",
               "PYTHONPATH": str(paths.REPO_ROOT), "TF_CPP_MIN_LOG_LEVEL": "3", "HOME": "/tmp",
               "KERAS_HOME": "/tmp/keras", "PYTHONDONTWRITEBYTECODE": "1", **(extra_env or {})}
        command = [sys.executable, "-m", "course.judge"]
        if isolation == "bwrap":
            command = sandbox.readonly_command(command, env, [paths.REPO_ROOT, paths.data_dir(), work])
        else:
            env = dict(os.environ, **env)
        caps = sandbox.Limits(wall_s=limits.wall_s, memory_mb=limits.memory_mb)
        self.log = open(log_path, "wb")
        self.confined = sandbox.Confined(command, caps, cpu_s=limits.cpu_s, stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=self.log, env=env, cwd="/")
        job = {"assignment": assignment, "args": trusted_args, "export": str(work / "export")}
        self._send(job)

    def _send(self, message: dict) -> None:
        with contextlib.suppress(OSError):  # a judge that already died is reported by verdicts()
            self.confined.process.stdin.write((json.dumps(message) + "\n").encode())
            self.confined.process.stdin.flush()

    def verdicts(self, shown: str, submitted: Path) -> dict:
        """Ask for the verdicts now that the export is unpacked: ``{"verdicts", "notebook", "notes"}``.

        ``shown`` is the autograded notebook's path inside the export, ``submitted``
        the notebook as handed in (the grader's own copy). Raises :class:`JudgeFailed`."""
        self._send({"shown": shown, "submitted": str(submitted)})
        asked = time.perf_counter()
        process = self.confined.process
        with contextlib.suppress(OSError):
            process.stdin.close()
        try:
            output = _read_capped(process, self.limits.wall_s)
        except subprocess.TimeoutExpired:
            self.close()
            raise JudgeFailed(f"the judge passed its wall limit of {self.limits.wall_s:.0f} s") from None
        process.wait()
        if self.confined.hit_memory_limit():
            reason = f"the judge reached its memory limit of {self.limits.memory_mb} MB"
        elif _signal_of(process.returncode) == signal.SIGXCPU:  # the soft CPU limit (the hard one is 5 s later)
            reason = f"the judge reached its CPU limit of {self.limits.cpu_s} s"
        elif process.returncode != 0:
            reason = f"the judge stopped ({_exit_text(process.returncode)}): {self._log_tail()}"
        else:
            try:
                result = json.loads(output)
                if not isinstance(result, dict) or not isinstance(result.get("verdicts"), dict):
                    raise ValueError("no verdicts")
                self.usage = dict(result.pop("usage", {}), answer_s=time.perf_counter() - asked,
                                  life_s=time.perf_counter() - self.started)
                return result
            except ValueError:
                reason = f"the judge returned no verdicts: {self._log_tail()}"
        self.close()
        raise JudgeFailed(reason)

    def _log_tail(self) -> str:
        self.log.flush()
        with contextlib.suppress(OSError):
            lines = [line for line in self.log_path.read_bytes()[-4000:].decode("utf-8", "replace").splitlines()
                     if line.strip()]
            return lines[-1][:300] if lines else "no message"
        return "no message"

    def close(self) -> None:
        self.confined.close()
        self.log.close()


def _read_capped(process: subprocess.Popen, timeout: float) -> bytes:
    """The child's whole standard output, at most :data:`MAX_RESULT_BYTES`, within ``timeout`` seconds."""
    import select

    deadline = time.monotonic() + timeout
    chunks, total = [], 0
    fd = process.stdout.fileno()
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise subprocess.TimeoutExpired(process.args, timeout)
        ready, _, _ = select.select([fd], [], [], min(left, 1.0))
        if not ready:
            continue
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return b"".join(chunks)
        total += len(chunk)
        if total > MAX_RESULT_BYTES:
            process.kill()
            return b""
        chunks.append(chunk)


def _signal_of(code: int | None) -> int | None:
    """The signal that ended a process: a negative return code, or 128 + n, the status bubblewrap exits
    with when the program it runs was killed by signal n."""
    if code is None:
        return None
    if code < 0:
        return -code
    return code - 128 if 128 < code <= 128 + 64 else None


def _exit_text(code: int) -> str:
    number = _signal_of(code)
    if number is not None:
        with contextlib.suppress(ValueError):
            return f"signal {signal.Signals(number).name}"
    return f"exit {code}"


# ---------------------------------------------------------------------------
# The child
# ---------------------------------------------------------------------------


def sanitize(notebook: dict, trusted_markdown: set[str]) -> dict:
    """The notebook with scripts and event handlers removed (nbconvert's ``SanitizeHTML``, with bleach).

    HTML and Markdown outputs are cleaned and other active output types
    (JavaScript, SVG, widgets) dropped; Markdown cells are cleaned unless their
    text is one of the release's own (``trusted_markdown``)."""
    import nbformat
    from nbconvert.preprocessors.sanitize import SanitizeHTML
    from nbformat.v4.rwbase import rejoin_lines

    node = rejoin_lines(nbformat.from_dict(notebook))  # sources and outputs as plain strings
    cleaner = SanitizeHTML(tags=HTML_TAGS, attributes=HTML_ATTRIBUTES)
    for index, cell in enumerate(node.cells):
        if cell.get("cell_type") == "markdown" and cell.get("source") in trusted_markdown:
            continue
        cleaner.preprocess_cell(cell, {}, index)
    return node


def _read_notebook(folder: Path, relative: str) -> dict | None:
    """A notebook from the export, or None when it is missing or not a valid notebook."""
    import nbformat

    from course import untrusted

    try:
        notebook = nbformat.from_dict(untrusted.loads_json(untrusted.read_file(folder, relative)))
        nbformat.validate(notebook)
        return notebook
    except Exception as error:  # noqa: BLE001  (whatever the kernel left behind)
        print(f"{relative}: not used ({type(error).__name__}: {str(error)[:300]})", file=sys.stderr)
        return None


def release_markdown(spec) -> set[str]:
    """The text of every Markdown cell of the release: ours, so shown as written."""
    from course import cells

    return {"".join(c["source"]) for c in cells.read(cells.release_notebook(spec))["cells"]
            if c["cell_type"] == "markdown"}


def judge_export(spec, export: Path, reference: dict, trusted_args: dict, shown: str, submitted: Path,
                 trusted_markdown: set[str]) -> dict:
    """Verdicts, the notebook feedback shows (sanitised), and notes, for one unpacked export."""
    from course import cells, trusted

    notes = []
    notebook = _read_notebook(export, shown)
    if notebook is None:
        notes.append("the autograded notebook did not come back; feedback shows the notebook as handed in")
    verdicts = trusted.judge(spec, export / "observations", reference, trusted_args,
                             trusted.notebook_verdicts(notebook) if notebook else None)
    if notebook is None:
        notebook = _read_notebook(submitted.parent, submitted.name) or cells.read(cells.release_notebook(spec))
    return {"verdicts": {gid: dataclasses.asdict(v) for gid, v in verdicts.items()},
            "notebook": sanitize(notebook, trusted_markdown), "notes": notes}


def main() -> int:
    sys.modules.setdefault("rfc3987_syntax", None)  # see SKIP_IRI_GRAMMAR
    result_out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # anything else printed goes to the judge's log
    job = json.loads(sys.stdin.readline())
    from course import references
    from course import spec as specs
    from utils.notebook import setup

    setup(verbose=False)
    # Everything that does not need the submission's files is done while its sandbox runs.
    import nbconvert.preprocessors.sanitize  # noqa: F401

    spec = specs.load(job["assignment"])
    reference = references.reference_values(spec, job["args"])
    markdown = release_markdown(spec)
    line = sys.stdin.readline()
    if not line:
        return 3  # the grader gave up on this submission
    request = json.loads(line)
    result = judge_export(spec, Path(job["export"]), reference, job["args"], request["shown"],
                          Path(request["submitted"]), markdown)
    own = resource.getrusage(resource.RUSAGE_SELF)
    result["usage"] = {"peak_mb": own.ru_maxrss / 1024, "cpu_s": own.ru_utime + own.ru_stime}
    json.dump(result, result_out)
    result_out.flush()
    os._exit(0)  # the verdicts are out; skip TensorFlow's slow teardown


if __name__ == "__main__":
    sys.exit(main())
