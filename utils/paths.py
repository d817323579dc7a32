"""Where the course's files live.

Notebooks are executed from many places (a student's folder, nbgrader's
``autograded/<student>/<assignment>/``), so nothing here depends on the
working directory: paths are found from this package's own location.
Set ``COURSE_DATA_DIR`` to use a copy of ``datasets/`` stored elsewhere.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    """The ``datasets/`` folder (or ``$COURSE_DATA_DIR`` when set)."""
    override = os.environ.get("COURSE_DATA_DIR")
    return Path(override).expanduser().resolve() if override else REPO_ROOT / "datasets"


def references_dir() -> Path:
    """Reference outputs of the solutions, used by the autograded tests."""
    return data_dir() / "references"
