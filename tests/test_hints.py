"""Diagnostic feedback: each known mistake gets its own hint; nothing else gets a hint."""

import pytest

from course import grading, registry

CASES = [(a, m) for a in grading.assignment_ids() for m in registry.mutants(a)]


@pytest.mark.slow
@pytest.mark.parametrize("assignment, mutant", CASES, ids=[f"{a}:{m.name}" for a, m in CASES])
def test_every_cell_a_mistake_loses_names_that_mistake(tf, assignment, mutant):
    results = grading.run_in_process(grading.submission(assignment, mutants=[mutant]), assignment)
    for cell in mutant.lost:
        assert f"Hint: {mutant.hint}" in results[cell].message, (cell, results[cell].message)


@pytest.mark.parametrize("assignment", grading.assignment_ids())
def test_reference_gets_no_hint(tf, assignment):
    results = grading.run_in_process(grading.submission(assignment, grading.reference_answers(assignment)), assignment)
    assert all(r.passed and not r.message for r in results.values())


def test_hints_are_distinct():
    for assignment in grading.assignment_ids():
        hints = [m.hint for m in registry.mutants(assignment)]
        assert len(set(hints)) == len(hints)


def test_unknown_mistake_gets_the_generic_message(tf):
    """16 filters instead of 32: no known mistake, so no (misleading) hint, but the location."""
    a = "01_happy_house"
    answer = grading.reference_answers(a)["happyModel"].replace("tfl.Conv2D(32,", "tfl.Conv2D(16,")
    results = grading.run_in_process(grading.submission(a, {**grading.reference_answers(a), "happyModel": answer}), a)
    layers = results["happyModel_test_layers"].message
    assert "Hint:" not in layers
    assert "Layer 2: Conv2D filters is 16, expected 32." in layers
    forward = results["happyModel_test_forward"].message
    assert "Hint:" not in forward and "Largest difference" in forward


def test_hints_can_be_switched_off_for_exams(tf, monkeypatch):
    a = "01_happy_house"
    mutant = registry.mutants(a)[0]
    monkeypatch.setenv("COURSE_HINTS", "0")
    results = grading.run_in_process(grading.submission(a, mutants=[mutant]), a)
    for cell in mutant.lost:
        assert not results[cell].passed and mutant.hint not in results[cell].message
