"""One declarative spec per assignment, and the loader that finds them.

An assignment is one folder, ``solutions/<id>/``, holding its solution
notebook (the nbgrader source) and ``spec.py``, which defines ``SPEC``, an
:class:`Assignment`:

* the notebook and its answer cells (the graded functions);
* the test cells, with their points and probes: for each probe the runner (a
  function of the student runtime), its arguments, the comparison and its
  tolerance, and whether it is public or hidden;
* the known mistakes: a text patch of one answer cell, the test cells it must
  lose, its hint, and the same mistake spelled another way;
* the demo's partly-wrong student, the data files the notebook reads and the
  quality bars its models must reach in full mode.

Everything else is derived from the specs: the list of assignments, the test
cells of the solution notebook (``course sync``), the compiled references
(``course references``), the demo's expected scores, the test
parametrisation and the benchmarks' bars. ``docs/authoring.md`` walks through
one.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from course import paths
from utils.checking.compare import Comparison


@dataclass(frozen=True)
class Probe:
    """One reproducible experiment on a graded function, and how its result is compared."""

    key: str  # unique in the assignment, e.g. "happyModel/forward"
    run: str  # the runner, "utils.module:function"; called as runner(fn, **args)
    what: str  # shown to the student: what was checked
    compare: Comparison
    args: dict = field(default_factory=dict)  # JSON values only (lists stand for tuples)
    hidden: bool = False  # hidden probes run only when the notebook is graded
    expected: Any = None  # a published or hand-worked value the reference solution must reproduce
    advice: str | None = None  # the hint when the result differs and no known mistake matches


@dataclass(frozen=True)
class TestCell:
    """A graded test cell: one line ``grade("<grade_id>", <function>)`` in the notebook."""

    grade_id: str
    function: str  # the graded function (an answer cell's grade_id) it tests
    points: int
    passed: str  # printed when every public probe passes
    probes: tuple[Probe, ...]
    comment: str = ""  # an optional comment line above the call


@dataclass(frozen=True)
class Mistake:
    """A known mistake: a text patch of one answer cell of the solution notebook."""

    name: str
    cell: str  # grade_id of the answer cell it changes
    patch: tuple[tuple[str, str], ...]  # (old, new) replacements; each old occurs exactly once
    lost: frozenset[str]  # grade_ids of the test cells it must fail
    hint: str  # what a student whose output matches this mistake is told
    variant: tuple[tuple[str, str], ...] = ()  # the same mistake spelled another way; the hint must fire for it too


@dataclass(frozen=True)
class QualityBar:
    """A model the notebook trains in full mode and the test accuracy it must reach.

    The notebook prints ``test accuracy...: 0.973`` for each, in this order.
    ``loader`` names the function of the student runtime that returns the
    model's data, ``(X_train, Y_train, X_test, Y_test, classes)``, the way a
    probe names its runner (``"utils.data:load_happy_dataset"``; resolved by
    ``utils.checking.store.resolve_runner``). ``benchmarks/quality.py``
    reports the raw-pixel linear baseline of that data beside the model;
    ``baseline_max`` is the most that baseline may reach (the data must need a
    convolutional network)."""

    model: str
    minimum: float
    loader: str = ""
    baseline_max: float | None = None


@dataclass(frozen=True)
class Assignment:
    id: str  # the folder name, e.g. "01_happy_house"
    title: str
    notebook: str  # file name of the solution notebook in solutions/<id>/
    helper: str  # the runtime module the notebook imports `grade` from, e.g. "utils.happy_house"
    answers: tuple[str, ...]  # grade_ids of the answer cells, which are also the graded functions
    tests: tuple[TestCell, ...]
    mistakes: tuple[Mistake, ...] = ()
    partly_wrong: tuple[str, ...] = ()  # the demo's partly-wrong student makes these mistakes
    data: tuple[str, ...] = ()  # data files (relative to datasets/) the notebook reads
    quality: tuple[QualityBar, ...] = ()
    notebook_seconds: int | None = None  # the most the full notebook may take top to bottom on 2 CPU cores
    # Cells (by id) before the last test that only show or explore results: grading does not run them
    # (course.cells.skipped_while_grading). Cells after the last test are never run while grading.
    display_only: tuple[str, ...] = ()

    def probes(self):
        """``(test cell, probe)`` for every probe, in notebook order."""
        return [(cell, probe) for cell in self.tests for probe in cell.probes]

    def points(self) -> dict[str, int]:
        return {cell.grade_id: cell.points for cell in self.tests}

    def mistake(self, name: str) -> Mistake:
        for mistake in self.mistakes:
            if mistake.name == name:
                return mistake
        raise KeyError(f"{self.id} has no known mistake {name!r}")

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first inconsistency of the spec."""
        cells = [c.grade_id for c in self.tests]
        keys = [p.key for _, p in self.probes()]
        problems = []
        if len(set(cells)) != len(cells):
            problems.append("test cell grade_ids repeat")
        if len(set(keys)) != len(keys):
            problems.append("probe keys repeat")
        for cell in self.tests:
            if cell.function not in self.answers:
                problems.append(f"test cell {cell.grade_id} tests {cell.function!r}, which is not an answer cell")
            if not any(not p.hidden for p in cell.probes):
                problems.append(f"test cell {cell.grade_id} has no public probe")
        for _, probe in self.probes():
            if not probe.run.startswith("utils.") or ":" not in probe.run:
                problems.append(f"probe {probe.key}: runner {probe.run!r} must be 'utils.module:function'")
        for bar in self.quality:
            if bar.loader and (not bar.loader.startswith("utils.") or ":" not in bar.loader):
                problems.append(f"quality bar {bar.model}: loader {bar.loader!r} must be 'utils.module:function'")
            if bar.baseline_max is not None and not bar.loader:
                problems.append(f"quality bar {bar.model}: baseline_max needs a loader for the baseline's data")
        names = [m.name for m in self.mistakes]
        if len(set(names)) != len(names):
            problems.append("known mistake names repeat")
        for mistake in self.mistakes:
            if mistake.cell not in self.answers:
                problems.append(f"mistake {mistake.name} patches {mistake.cell!r}, which is not an answer cell")
            if not mistake.lost or not mistake.lost <= set(cells):
                problems.append(f"mistake {mistake.name} must lose test cells of this assignment: "
                                f"{sorted(mistake.lost)}")
        for name in self.partly_wrong:
            if name not in names:
                problems.append(f"partly_wrong names an unknown mistake {name!r}")
        if problems:
            raise ValueError(f"spec of {self.id}: " + "; ".join(problems))


def spec_path(assignment: str):
    return paths.solutions_dir() / assignment / "spec.py"


def ids() -> list[str]:
    """Every assignment with a spec, in course order."""
    return sorted(p.parent.name for p in paths.solutions_dir().glob("*/spec.py"))


@lru_cache(maxsize=None)
def module(assignment: str):
    """The module ``solutions/<assignment>/spec.py`` itself: ``SPEC`` and the constants it is built from
    (hand-worked cases, designs), which an assignment's own tests check."""
    path = spec_path(assignment)
    if not path.exists():
        raise KeyError(f"unknown assignment {assignment!r}; the course has: {', '.join(ids())}")
    module_spec = importlib.util.spec_from_file_location(f"course_spec_{assignment}", path)
    loaded = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(loaded)
    return loaded


@lru_cache(maxsize=None)
def load(assignment: str) -> Assignment:
    """The validated spec of ``assignment`` (from ``solutions/<assignment>/spec.py``)."""
    path = spec_path(assignment)
    spec = module(assignment).SPEC
    if spec.id != assignment:
        raise ValueError(f"{path} describes {spec.id!r}, expected {assignment!r}")
    spec.validate()
    return spec


def resolve(name: str) -> str:
    """An assignment id from its id, number (``01``) or short name (``happy_house``)."""
    for assignment in ids():
        number, _, short = assignment.partition("_")
        if name in (assignment, number, short):
            return assignment
    raise KeyError(f"unknown assignment {name!r}; the course has: {', '.join(ids())}")
