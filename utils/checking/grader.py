"""``grade(cell, fn)``: the one call in every test cell of a notebook.

The way of one check, top-down: the test cell calls :class:`Grader`; when the
notebook is graded in a sandbox it first records what the student's code
produces (:mod:`utils.checking.observe`) for the grader outside, which alone
decides the points. Then it reads
the cell's probes from the compiled spec (:mod:`utils.checking.store`), runs
each probe's runner on the student's function (a function of the assignment's
helper module or of :mod:`utils.checking.models`), compares the result with
:mod:`utils.checking.compare`, and on a difference raises one message
(:mod:`utils.checking.messages`) carrying the hint of the closest known
mistake, if one matches.
"""

from __future__ import annotations

import math
import os
import re

from utils.checking import observe, store
from utils.checking.messages import CheckError, ProbeError, fail
from utils.checking.store import resolve_runner


def hints_enabled() -> bool:
    """Hints are on unless ``COURSE_HINTS=0`` (for exams: ``course grade --no-hints``)."""
    return os.environ.get("COURSE_HINTS", "1") != "0"


def error_text(error: BaseException) -> str:
    """An exception as text, without the counters Keras puts into automatic layer names."""
    return re.sub(r"_\d+\b", "", f"{type(error).__name__}: {error}")


def closest_mistake(probe: dict, got) -> str | None:
    """The hint of the known mistake whose output on this probe matches ``got``, the closest if several do."""
    if not hints_enabled():
        return None
    comparison, best, best_distance = probe["compare"], None, math.inf
    for mistake in probe["mistakes"].values():
        if "value" not in mistake or comparison.difference(got, mistake["value"]) is not None:
            continue
        distance = comparison.distance(got, mistake["value"])
        if best is None or distance < best_distance:
            best, best_distance = mistake, distance
    return best["hint"] if best else None


def error_hint(probe: dict, error: BaseException) -> str | None:
    """The hint for an error raised by the student's code: a known mistake's, else a Keras 2 spelling's."""
    if not hints_enabled():
        return None
    text = error_text(error)
    for mistake in probe["mistakes"].values():
        if mistake.get("error") == text:
            return mistake["hint"]
    from utils.keras2 import hint_for

    return hint_for(error)


def run_probe(probe: dict, fn):
    """What the probe's runner returns for the student's ``fn`` (messages on failure name the exercise)."""
    __tracebackhide__ = True
    runner = resolve_runner(probe["run"])
    try:
        return runner(fn, **probe["args"])
    except ProbeError as error:
        fail(probe["function"], probe["what"], error.detail, error.hint)
    except CheckError:
        raise
    except Exception as error:
        hint = error_hint(probe, error)
        if hint is None:
            raise
        fail(probe["function"], probe["what"], f"Your code raised {type(error).__name__}: {error}", hint)


def check_probe(probe: dict, fn) -> None:
    """Run one probe and compare its result with the reference; raise one message on a difference."""
    __tracebackhide__ = True
    got = run_probe(probe, fn)
    problem = probe["compare"].difference(got, probe["expected"])
    if problem:
        fail(probe["function"], probe["what"], problem, closest_mistake(probe, got) or probe.get("advice"))


class Grader:
    """``grade = Grader("01_happy_house")``; then ``grade("happyModel_test_forward", happyModel)``."""

    def __init__(self, assignment: str):
        self.assignment = assignment

    def probes(self, cell: str, hidden: bool = False) -> list[dict]:
        part = store.load(self.assignment, "hidden" if hidden else "public")
        return [p for p in part["probes"] if p["cell"] == cell]

    def __call__(self, cell: str, fn, hidden: bool = False) -> None:
        """Run the public probes of test cell ``cell`` on ``fn`` (the hidden ones with ``hidden=True``)."""
        __tracebackhide__ = True
        cells = store.load(self.assignment, "public")["cells"]
        if cell not in cells:
            raise KeyError(f"{self.assignment} has no test cell {cell!r}; its test cells are: {', '.join(cells)}")
        info = cells[cell]
        if observe.active():  # graded in a sandbox: record what the code produces for the grader outside
            observe.record(self.assignment, cell, fn, hidden)
            if hidden:  # hidden references are not in the sandbox; the grader compares them outside
                return
        if not callable(fn):
            fail(info["function"], "the function to test",
                 f"Expected a function, got {type(fn).__name__}. Run the cell that defines {info['function']} first.")
        for probe in self.probes(cell, hidden):
            check_probe(probe, fn)
        if not hidden:
            print(info["passed"])
