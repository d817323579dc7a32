"""The failure message every graded check raises, and the errors probes raise.

The lowest layer of the checking pipeline: it imports nothing from the course.
"""

from __future__ import annotations


class CheckError(AssertionError):
    """A graded check failed. ``str(error)`` is the message for the student.

    An ``AssertionError``, so nbgrader scores the cell 0 and pytest reports it as a failure.
    """


class ProbeError(Exception):
    """Raised by a probe runner when the student's code returned something unusable
    (None, a number instead of a model...). The grader turns it into a :class:`CheckError`
    that names the exercise."""

    def __init__(self, detail: str, hint: str | None = None):
        super().__init__(detail)
        self.detail = detail
        self.hint = hint


def fail(exercise: str, what: str, detail: str, hint: str | None = None):
    """Raise a :class:`CheckError` with the course's layout: exercise, what was checked, what differs, hint."""
    __tracebackhide__ = True
    message = f"{exercise}: {what}\n{detail}"
    if hint:
        message += f"\nHint: {hint}"
    raise CheckError(message)


def short_repr(obj, limit: int = 80) -> str:
    text = repr(obj)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def one_number(value, what: str, hint: str | None = None) -> float:
    """``value`` (a Python, NumPy or tensor scalar, or an array of one element) as a float; a
    :class:`ProbeError` naming ``what`` when it is not one number."""
    import numpy as np

    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ProbeError(f"{what} must be one number; got {type(value).__name__}.")
    if array.size != 1:
        raise ProbeError(f"{what} must be one number; got an array of shape {tuple(array.shape)}.", hint=hint)
    return float(array.reshape(()))
