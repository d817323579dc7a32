"""Every assignment, in-process: the solution passes, the release fails, each known mistake (and the
same mistake spelled another way) loses exactly its cells with its hint, and the stored references
are current. This is the slow layer's in-process half; test_autograde.py runs real nbgrader."""

import pytest

from course import inprocess, references, spec

pytestmark = pytest.mark.slow

ASSIGNMENTS = spec.ids()
MISTAKES = [(a, m) for a in ASSIGNMENTS for m in spec.load(a).mistakes]


def lost_cells(assignment, notebook):
    """``(grade_ids of failing test cells, all results)`` of a notebook run in-process."""
    results = inprocess.run_in_process(notebook, assignment)
    return {gid for gid, result in results.items() if not result.passed}, results


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_reference_solution_passes_every_test_cell_without_a_hint(tf, assignment):
    lost, results = lost_cells(assignment, inprocess.submission(assignment, inprocess.reference_answers(assignment)))
    assert results and lost == set(), {g: results[g].message for g in lost}
    assert set(results) == set(spec.load(assignment).points())


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_fails_every_test_cell(tf, assignment):
    lost, results = lost_cells(assignment, inprocess.submission(assignment))
    assert results and lost == set(results)


@pytest.mark.parametrize("variant", [False, True], ids=["as-fingerprinted", "spelled-otherwise"])
@pytest.mark.parametrize("assignment, mistake", MISTAKES, ids=[f"{a}:{m.name}" for a, m in MISTAKES])
def test_each_mistake_loses_exactly_its_cells_with_its_hint(tf, assignment, mistake, variant):
    """The hint comes from the first spelling's output; the second spelling must get it too."""
    lost, results = lost_cells(assignment, inprocess.submission(assignment, mutants=[mistake], variant=variant))
    assert lost == set(mistake.lost), {g: results[g].message for g in lost}
    for cell in mistake.lost:
        assert f"Hint: {mistake.hint}" in results[cell].message, (cell, results[cell].message)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_references_are_current(tf, assignment):
    """The stored references equal what the spec and the solution give now, within half of each
    probe's tolerance (the last digits move between CPU models; see docs/tolerances.md)."""
    problems = references.stale(spec.load(assignment))
    assert not problems, "run `make references`:\n" + "\n".join(problems)


def test_hints_are_distinct():
    for assignment in ASSIGNMENTS:
        hints = [m.hint for m in spec.load(assignment).mistakes]
        assert len(set(hints)) == len(hints)


def test_unknown_mistake_gets_the_generic_message(tf):
    """16 filters instead of 32: no known mistake, so no (misleading) hint, but the location."""
    a = "01_happy_house"
    answers = inprocess.reference_answers(a)
    answers["happyModel"] = answers["happyModel"].replace("tfl.Conv2D(32,", "tfl.Conv2D(16,")
    _, results = lost_cells(a, inprocess.submission(a, answers))
    layers = results["happyModel_test_layers"].message
    assert "Hint:" not in layers
    assert "Layer 2: Conv2D filters is 16, expected 32." in layers
    forward = results["happyModel_test_forward"].message
    assert "Hint:" not in forward and "Largest difference" in forward
    interface = results["happyModel_test_interface"].message
    assert "params: expected 37,633, got 18,817." in interface


def test_hints_can_be_switched_off_for_exams(tf, monkeypatch):
    a = "01_happy_house"
    mistake = spec.load(a).mistakes[0]
    monkeypatch.setenv("COURSE_HINTS", "0")
    _, results = lost_cells(a, inprocess.submission(a, mutants=[mistake]))
    for cell in mistake.lost:
        assert not results[cell].passed and mistake.hint not in results[cell].message
