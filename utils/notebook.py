"""The one call at the top of every course notebook: ``setup()``.

It makes a notebook quiet, reproducible and aware of grading:

* **Quiet.** nbgrader scores a test cell 0 when anything appears on stderr, so
  TensorFlow's start-up banners (oneDNN, absl) and Python warnings must never
  reach a cell. ``TF_CPP_MIN_LOG_LEVEL=3`` does not stop the oneDNN line, so the
  import itself runs with the process's stderr pointed at ``/dev/null``.
* **Reproducible.** Python, NumPy and TensorFlow are seeded; TensorFlow's op
  determinism is switched on; TF32 is switched off so that GPU float32 matmuls
  and convolutions stay within the tolerances of the reference checks
  (see ``docs/gpu.md``).
* **Grading-aware.** ``GRADING`` is true when nbgrader executes the notebook
  (``NBGRADER_EXECUTION`` is ``autograde`` or ``validate``) or when
  ``COURSE_FAST=1``; training cells use it to run a short schedule.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import warnings
from dataclasses import dataclass


def grading_mode() -> bool:
    """True while nbgrader grades or validates, or when ``COURSE_FAST=1``."""
    return os.environ.get("NBGRADER_EXECUTION") in {"autograde", "validate"} or os.environ.get("COURSE_FAST") == "1"


GRADING = grading_mode()


@contextlib.contextmanager
def _stderr_silenced():
    """Point file descriptor 2 at /dev/null (C++ logs bypass ``sys.stderr``)."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real fd 2 (some embedded interpreters)
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def quiet_import_tensorflow():
    """Import TensorFlow without its start-up messages on stderr. Returns the module."""
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    with _stderr_silenced():
        import tensorflow as tf
    return tf


@dataclass(frozen=True)
class Setup:
    seed: int
    grading: bool
    tensorflow: str
    device: str

    def __str__(self) -> str:
        mode = "grading (short training)" if self.grading else "full"
        return f"TensorFlow {self.tensorflow} on {self.device} | seed {self.seed} | mode: {mode}"


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def _without_our_frames(tb):
    """The same traceback minus the frames inside this package (the student sees their code and the message)."""
    import types

    kept = []
    while tb is not None:
        if not os.path.abspath(tb.tb_frame.f_code.co_filename).startswith(_PACKAGE_DIR + os.sep):
            kept.append(tb)
        tb = tb.tb_next
    trimmed = None
    for entry in reversed(kept):
        trimmed = types.TracebackType(trimmed, entry.tb_frame, entry.tb_lasti, entry.tb_lineno)
    return trimmed


def _show_check_failure(shell, etype, value, tb, tb_offset=None):
    shell.showtraceback((etype, value, _without_our_frames(tb)), tb_offset=tb_offset)
    from utils.keras2 import hint_for

    hint = hint_for(value)
    if hint:  # code written for Keras 2: name the Keras 3 spelling (on stdout, like the rest of the cell)
        print(f"Hint: {hint}")


def install_traceback_trimming() -> bool:
    """In IPython, show every error without this package's frames.

    A failed check then shows the student's cell and the message; an error in the
    student's own function shows their cell, their function and the error. An
    error that code written for Keras 2 raises under Keras 3 is followed by a
    hint naming the modern spelling (:mod:`utils.keras2`).
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None:
        return False
    shell.set_custom_exc((Exception,), _show_check_failure)
    return True


def setup(seed: int = 0, deterministic: bool = True, verbose: bool = True) -> Setup:
    """Prepare a notebook: silence TensorFlow, seed everything, detect grading.

    Args:
        seed: seed for Python's ``random``, NumPy and TensorFlow.
        deterministic: switch on TensorFlow's op determinism (same results on
            re-runs; a few GPU ops become slower or unavailable).
        verbose: print a one-line summary (to stdout).

    Returns:
        A :class:`Setup` with ``grading`` (bool) and the device in use.
    """
    warnings.filterwarnings("ignore")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    logging.getLogger("absl").setLevel(logging.ERROR)
    tf = quiet_import_tensorflow()
    import keras

    with _stderr_silenced():
        tf.get_logger().setLevel(logging.ERROR)
        tf.autograph.set_verbosity(0)
        keras.utils.set_random_seed(seed)  # Python, NumPy and TensorFlow
        tf.config.experimental.enable_tensor_float_32_execution(False)
        if deterministic:
            tf.config.experimental.enable_op_determinism()
        gpus = tf.config.list_physical_devices("GPU")
    install_traceback_trimming()
    info = Setup(seed=seed, grading=grading_mode(), tensorflow=tf.__version__, device="GPU" if gpus else "CPU")
    if verbose:
        print(info)
    return info
