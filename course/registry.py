"""The assignments of the course and the module names that belong to each.

``utils.public_tests.<module>``, ``course.probes.<module>`` and
``course.mutants.<module>`` follow the short module name.
"""

from __future__ import annotations

import importlib

ASSIGNMENTS = {
    "01_happy_house": "happy_house",
    "02_resnets": "resnets",
}


def module_name(assignment: str) -> str:
    try:
        return ASSIGNMENTS[assignment]
    except KeyError:
        known = ", ".join(ASSIGNMENTS)
        raise KeyError(f"unknown assignment {assignment!r}; the course has: {known}") from None


def probes(assignment: str):
    return importlib.import_module(f"course.probes.{module_name(assignment)}")


def mutants(assignment: str):
    return importlib.import_module(f"course.mutants.{module_name(assignment)}").MUTANTS
