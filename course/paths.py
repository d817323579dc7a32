"""Where the instructor's files live: solutions, the release, the grading area.

The student runtime knows only the data folder (:mod:`utils.paths`); these are
the folders that exist in the full repository only.
"""

from __future__ import annotations

import os
from pathlib import Path

from utils.paths import REPO_ROOT, data_dir, references_dir  # noqa: F401  (re-exported)


def solutions_dir() -> Path:
    """The instructor notebooks and specs (nbgrader's source folder)."""
    return REPO_ROOT / "solutions"


def assignments_dir() -> Path:
    """The student release, generated from ``solutions/`` by ``course release``."""
    return REPO_ROOT / "assignments"


def grading_dir() -> Path:
    """Git-ignored working area for gradebooks, submissions and feedback."""
    override = os.environ.get("COURSE_GRADING_DIR")
    return Path(override).expanduser().resolve() if override else REPO_ROOT / ".grading"
