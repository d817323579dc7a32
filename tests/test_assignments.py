"""Every assignment, in-process: the solution passes, the release fails, each known mistake
loses exactly its cells, and the stored references are current."""

import numpy as np
import pytest

from course import grading, references, registry

ASSIGNMENTS = grading.assignment_ids()
MUTANTS = [(a, m) for a in ASSIGNMENTS for m in registry.mutants(a)]


def lost_cells(assignment, notebook):
    """``(grade_ids of failing test cells, all results)`` of a notebook run in-process."""
    results = grading.run_in_process(notebook, assignment)
    return {gid for gid, result in results.items() if not result.passed}, results


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_reference_solution_passes_every_test_cell(tf, assignment):
    lost, results = lost_cells(assignment, grading.submission(assignment, grading.reference_answers(assignment)))
    assert results and lost == set(), {g: results[g].message for g in lost}


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_fails_every_test_cell(tf, assignment):
    lost, results = lost_cells(assignment, grading.submission(assignment))
    assert results and lost == set(results)


@pytest.mark.parametrize("assignment, mutant", MUTANTS, ids=[f"{a}:{m.name}" for a, m in MUTANTS])
def test_each_mistake_loses_exactly_its_cells(tf, assignment, mutant):
    lost, results = lost_cells(assignment, grading.submission(assignment, mutants=[mutant]))
    assert lost == set(mutant.lost), {g: results[g].message for g in lost}


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_references_are_current(tf, assignment):
    """The stored reference outputs equal what the solution notebook computes now."""
    meta, arrays = references.compute(assignment)
    stored_meta, stored_arrays = references.load(assignment)
    assert meta == stored_meta, "reference summaries or hints changed: run `make references`"
    assert sorted(arrays) == sorted(stored_arrays)
    for key in arrays:
        np.testing.assert_allclose(arrays[key], stored_arrays[key], rtol=1e-5, atol=1e-6, err_msg=key)
