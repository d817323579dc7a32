"""Known mistakes ("mutants") of each assignment.

A mutant is a small text patch to one answer cell of the solution notebook,
the cells it must lose, and the hint a student who makes that mistake gets.
The same list drives the tests (each mutant loses exactly its cells), the
demo class (the "partly wrong" student) and the fingerprints stored next to the
reference outputs (``course references``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mutant:
    name: str
    cell: str  # grade_id of the answer cell it changes
    patch: tuple[tuple[str, str], ...]  # (old, new) replacements, each old must occur once
    lost: frozenset[str]  # grade_ids of the test cells that must fail
    hint: str  # what the student is told when their output matches this mistake
