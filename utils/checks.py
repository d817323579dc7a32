"""One family of checks for every graded test, with messages a student can act on.

Every check raises :class:`CheckError` (an ``AssertionError``, so nbgrader scores
the cell 0) whose message names the exercise, what was checked, what was
expected, what came instead and where to look.

Tolerances are explicit at every call. The presets below are float32-aware:

* ``TOL_EXACT``   -- integer-like results (shapes, counts, indices).
* ``TOL_ELEMENT`` -- a few float32 operations per element (rtol 1e-5, atol 1e-6):
  float32's epsilon is 1.2e-7 and a handful of roundings stay far below this.
* ``TOL_NETWORK`` -- outputs of a small network with seeded weights (rtol 1e-3,
  atol 1e-4). Convolutions sum hundreds of products, and oneDNN, Eigen and
  cuDNN add them in different orders. The spread between CPU kernels (oneDNN
  on/off) measured on our reference checks is at most 1.2e-7 absolute
  (``benchmarks/deviation.py``), so this leaves a margin of > 7000x on CPU and
  room for GPU float32 kernels (TF32 off), while every mistake our mutants make
  moves outputs by more than 1e-2.

Known mistakes ("fingerprints", see ``course.references``) are matched on
failure: if the student's output equals what a known mistake produces on the
same input, the message carries that mistake's hint.

Our own frames are marked ``__tracebackhide__`` so IPython and pytest show the
student's code and the failing check, not our helpers' internals.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import numpy as np

TOL_EXACT = {"rtol": 0.0, "atol": 0.0}
TOL_ELEMENT = {"rtol": 1e-5, "atol": 1e-6}
TOL_NETWORK = {"rtol": 1e-3, "atol": 1e-4}


class CheckError(AssertionError):
    """A graded check failed. ``str(error)`` is the message for the student."""


@dataclass(frozen=True)
class Fingerprint:
    """What a known mistake produces on a check's input, and the hint to give."""

    name: str
    value: Any
    hint: str


def fail(exercise: str, what: str, detail: str, hint: str | None = None) -> None:
    """Raise a :class:`CheckError` with the course's message layout."""
    __tracebackhide__ = True
    message = f"{exercise}: {what}\n{detail}"
    if hint:
        message += f"\nHint: {hint}"
    raise CheckError(message)


# ---------------------------------------------------------------------------
# Types, shapes and values
# ---------------------------------------------------------------------------


def assert_type(obj, types, *, exercise: str, what: str) -> None:
    __tracebackhide__ = True
    if not isinstance(obj, types):
        names = " or ".join(t.__name__ for t in (types if isinstance(types, tuple) else (types,)))
        fail(exercise, what, f"Expected a {names}, got {type(obj).__name__}: {_short_repr(obj)}.",
             "Check what your function returns (a missing `return` gives None).")


def assert_shape(actual, expected: Sequence[int | None], *, exercise: str, what: str) -> None:
    __tracebackhide__ = True
    shape = tuple(getattr(actual, "shape", np.shape(actual)))
    expected = tuple(expected)
    if len(shape) != len(expected) or any(e is not None and s != e for s, e in zip(shape, expected)):
        fail(exercise, what, f"Expected shape {expected}, got {shape}.")


def assert_equal(actual, expected, *, exercise: str, what: str, hint: str | None = None) -> None:
    __tracebackhide__ = True
    if actual != expected:
        fail(exercise, what, f"Expected {expected!r}, got {actual!r}.", hint)


def assert_close(actual, expected, *, rtol: float, atol: float, exercise: str, what: str,
                 fingerprints: Iterable[Fingerprint] = ()) -> None:
    """Check ``|actual - expected| <= atol + rtol * |expected|`` elementwise.

    Args:
        actual, expected: array-likes (tensors are converted with ``np.asarray``).
        rtol, atol: tolerances (use a ``TOL_*`` preset or a measured value).
        exercise: the graded function, e.g. ``"happyModel"``.
        what: what was checked, e.g. ``"output on a seeded batch (inference mode)"``.
        fingerprints: known mistakes; the closest one that matches gives the hint.
    """
    __tracebackhide__ = True
    got = _as_float_array(actual, exercise, what)
    want = np.asarray(expected, dtype=np.float64)
    if got.shape != want.shape:
        fail(exercise, what, f"Expected an output of shape {want.shape}, got {got.shape}.",
             fingerprint_hint(got, fingerprints, rtol=rtol, atol=atol))
    if not np.all(np.isfinite(got)):
        bad = np.argwhere(~np.isfinite(got))[0]
        fail(exercise, what, f"Your output contains NaN or infinity, first at index {tuple(int(i) for i in bad)}.",
             fingerprint_hint(got, fingerprints, rtol=rtol, atol=atol))
    allowed = atol + rtol * np.abs(want)
    excess = np.abs(got - want) - allowed
    if np.all(excess <= 0):
        return
    where = np.unravel_index(int(np.argmax(np.abs(got - want))), got.shape) if got.ndim else ()
    n_bad = int(np.sum(excess > 0))
    detail = (
        f"{n_bad} of {got.size} values differ from the reference "
        f"(tolerance {atol:g} + {rtol:g}*|expected|). Largest difference "
        f"{abs(got[where] - want[where]):.3g} at index {tuple(int(i) for i in where)}: "
        f"got {got[where]:.6g}, expected {want[where]:.6g}."
    )
    fail(exercise, what, detail, fingerprint_hint(got, fingerprints, rtol=rtol, atol=atol))


def _as_float_array(value, exercise: str, what: str) -> np.ndarray:
    __tracebackhide__ = True
    if value is None:
        fail(exercise, what, "Expected numbers (an array or tensor), got None.",
             "Check that your function returns its result (a missing `return` gives None).")
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        fail(exercise, what, f"Expected numbers (an array or tensor), got {type(value).__name__}: {_short_repr(value)}.")


def fingerprint_hint(got, fingerprints: Iterable[Fingerprint], *, rtol: float, atol: float) -> str | None:
    """The hint of the closest known mistake that matches ``got`` within tolerance, or None."""
    got = np.asarray(got, dtype=np.float64)
    best, best_distance = None, np.inf
    for fingerprint in fingerprints:
        value = np.asarray(fingerprint.value, dtype=np.float64)
        if value.shape != got.shape:
            continue
        if np.all(np.abs(got - value) <= atol + rtol * np.abs(value)):
            distance = float(np.max(np.abs(got - value))) if got.size else 0.0
            if distance < best_distance:
                best, best_distance = fingerprint, distance
    return best.hint if best else None


def _short_repr(obj, limit: int = 80) -> str:
    text = repr(obj)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ---------------------------------------------------------------------------
# Model structure
# ---------------------------------------------------------------------------

# Per layer type, the configuration entries that change what a layer computes.
# Names, dtypes policies, initialisers and other bookkeeping are left out on purpose:
# they drift between Keras versions and do not change the architecture.
_STRUCTURAL_KEYS = {
    "Conv2D": ("filters", "kernel_size", "strides", "padding", "dilation_rate", "use_bias"),
    "DepthwiseConv2D": ("kernel_size", "strides", "padding", "depth_multiplier", "use_bias"),
    "Dense": ("units", "use_bias"),
    "MaxPooling2D": ("pool_size", "strides", "padding"),
    "AveragePooling2D": ("pool_size", "strides", "padding"),
    "ZeroPadding2D": ("padding",),
    "BatchNormalization": ("axis", "center", "scale"),
    "Dropout": ("rate",),
}
# Operations that are activations, whatever object computes them.
_ACTIVATION_OPS = {"Relu": "relu", "Sigmoid": "sigmoid", "Softmax": "softmax", "Tanh": "tanh"}


def _plain(value):
    """JSON-friendly copy of a config value (tuples become lists)."""
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    return value


def _node_output_shape(node) -> list:
    outputs = node.outputs if isinstance(node.outputs, (list, tuple)) else [node.outputs]
    return [None if d is None else int(d) for d in outputs[0].shape]


def _describe_call(op, node) -> list[dict]:
    """Canonical entries for one call of a layer or operation.

    A layer with a fused activation (``Conv2D(..., activation='relu')``) becomes
    two entries, the layer and its activation, so it compares equal to
    ``Conv2D`` followed by ``ReLU()``. ``ReLU()``, ``Activation('relu')`` and
    ``keras.ops.relu`` all become ``Activation(relu)``.
    """
    kind = type(op).__name__
    shape = _node_output_shape(node)
    params = int(op.count_params()) if hasattr(op, "count_params") and op.built else 0
    config = op.get_config() if hasattr(op, "get_config") else {}

    if kind == "ReLU":
        if (config.get("max_value") is None and not config.get("negative_slope") and not config.get("threshold")):
            return [{"type": "Activation", "activation": "relu", "output_shape": shape, "params": 0}]
        detail = {k: config.get(k) for k in ("max_value", "negative_slope", "threshold")}
        return [{"type": "Activation", "activation": f"relu{_plain(detail)}", "output_shape": shape, "params": 0}]
    if kind == "Activation":
        return [{"type": "Activation", "activation": str(config.get("activation")), "output_shape": shape, "params": 0}]
    if kind in _ACTIVATION_OPS:
        return [{"type": "Activation", "activation": _ACTIVATION_OPS[kind], "output_shape": shape, "params": 0}]

    entry = {"type": kind, "output_shape": shape, "params": params}
    for key in _STRUCTURAL_KEYS.get(kind, ()):
        if key in config:
            entry[key] = _plain(config[key])
    if kind == "BatchNormalization":
        rank = len(shape)
        axis = entry.get("axis")
        axes = axis if isinstance(axis, list) else [axis]
        entry["axis"] = [int(a) % rank for a in axes] if rank else axes
    entries = [entry]
    activation = config.get("activation")
    if activation not in (None, "linear"):
        entries.append({"type": "Activation", "activation": str(activation), "output_shape": shape, "params": 0})
    return entries


def _canonical_calls(model) -> list[tuple]:
    """``(operation, node)`` for every call in the model, in a canonical order.

    Calls are ordered from the input to the output by graph depth; calls at the
    same depth (parallel branches, e.g. a ResNet shortcut) are sorted by their
    description, so building the branches in another order changes nothing.
    """
    graph = getattr(model, "_functional", None) or model
    nodes_by_depth = getattr(graph, "_nodes_by_depth", None)
    if not nodes_by_depth:  # not a graph model: fall back on the layer list
        return [(layer, None) for layer in model.layers]
    calls = []
    for depth in sorted(nodes_by_depth, reverse=True):
        level = []
        for node in nodes_by_depth[depth]:
            op = node.operation
            if type(op).__name__ == "InputLayer":
                continue
            level.append((json.dumps(_describe_call(op, node), sort_keys=True, default=str), op, node))
        level.sort(key=lambda item: item[0])
        calls.extend((op, node) for _, op, node in level)
    return calls


def summarize_model(model) -> list[dict]:
    """A canonical, JSON-serialisable description of a Keras model, one entry per layer call.

    Each entry has ``type``, ``output_shape``, ``params`` and the structural
    settings of that layer type (filters, kernel size, strides, padding,
    pool size, axis, units, activation...). Layer names are ignored.
    """
    summary = []
    for op, node in _canonical_calls(model):
        if node is None:
            summary.append({"type": type(op).__name__, "output_shape": [None if d is None else int(d) for d in op.output.shape],
                            "params": int(op.count_params())})
        else:
            summary.extend(_describe_call(op, node))
    return summary


def _entry_text(entry: dict) -> str:
    if entry["type"] == "Activation":
        return f"Activation({entry['activation']})"
    settings = ", ".join(f"{k}={v}" for k, v in entry.items() if k not in {"type", "output_shape", "params"})
    return f"{entry['type']}({settings})"


def describe_difference(actual: list[dict], expected: list[dict]) -> str | None:
    """One line naming the first difference between two summaries, or None if they match."""
    for index, (got, want) in enumerate(zip(actual, expected), start=1):
        if got["type"] != want["type"]:
            return (f"layer {index}: found {_entry_text(got)}, expected {_entry_text(want)} "
                    f"(a layer is missing, extra or in the wrong place).")
        if got.get("activation") != want.get("activation"):
            return f"layer {index}: activation is '{got.get('activation')}', expected '{want.get('activation')}'."
        for key in want:
            if key in {"type", "output_shape", "params", "activation"}:
                continue
            if got.get(key) != want[key]:
                return f"layer {index}: {got['type']} {key} is {got.get(key)!r}, expected {want[key]!r}."
        if got["output_shape"] != want["output_shape"]:
            return (f"layer {index}: {got['type']} output shape is {tuple(got['output_shape'])}, "
                    f"expected {tuple(want['output_shape'])}.")
        if got["params"] != want["params"]:
            return f"layer {index}: {got['type']} has {got['params']:,} parameters, expected {want['params']:,}."
    if len(actual) != len(expected):
        if len(actual) < len(expected):
            missing = expected[len(actual)]
            return (f"your model has {len(actual)} layers, expected {len(expected)}: "
                    f"layer {len(actual) + 1} should be {_entry_text(missing)}.")
        extra = actual[len(expected)]
        return (f"your model has {len(actual)} layers, expected {len(expected)}: "
                f"layer {len(expected) + 1}, {_entry_text(extra)}, is extra.")
    return None


def assert_same_structure(model, expected: list[dict], *, exercise: str, what: str = "layer-by-layer structure",
                          hint: str | None = None) -> None:
    """Compare a model with a stored summary; fail with one line naming the first difference."""
    __tracebackhide__ = True
    difference = describe_difference(summarize_model(model), expected)
    if difference:
        fail(exercise, what, difference[0].upper() + difference[1:], hint)


# ---------------------------------------------------------------------------
# Seeded weights and inputs for behaviour checks
# ---------------------------------------------------------------------------


def seeded_input(shape: Sequence[int], seed: int, low: float = 0.0, high: float = 1.0) -> np.ndarray:
    """A reproducible float32 input batch, uniform in ``[low, high)``."""
    rng = np.random.default_rng(seed)
    return rng.uniform(low, high, size=tuple(shape)).astype(np.float32)


def set_seeded_weights(model, seed: int) -> None:
    """Give every weight of ``model`` a reproducible value that depends only on the architecture.

    Layers are visited in the canonical order of :func:`summarize_model`, so two
    equivalent models built in different ways receive the same weights. Kernels
    get variance 1/fan_in (activations stay O(1)); BatchNormalization gets
    non-trivial gamma/beta/moving statistics so that inference and training
    mode give different outputs.
    """
    seen = set()
    index = 0
    for op, _ in _canonical_calls(model):
        if id(op) in seen or not getattr(op, "weights", None):
            continue
        seen.add(id(op))
        rng = np.random.default_rng([seed, index])
        index += 1
        for variable in op.weights:
            shape = tuple(variable.shape)
            role = variable.path.rsplit("/", 1)[-1]
            if role == "kernel" or role.endswith("kernel"):
                fan_in = int(np.prod(shape[:-1])) if len(shape) > 1 else shape[0]
                limit = np.sqrt(3.0 / max(fan_in, 1))
                value = rng.uniform(-limit, limit, shape)
            elif role == "gamma":
                value = rng.uniform(0.8, 1.2, shape)
            elif role == "moving_variance":
                value = rng.uniform(0.5, 1.5, shape)
            else:  # bias, beta, moving_mean and anything else
                value = rng.uniform(-0.2, 0.2, shape)
            variable.assign(value.astype(np.float32))


def count_params(model) -> tuple[int, int]:
    """``(total, non_trainable)`` parameter counts of a Keras model."""
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    non_trainable = sum(int(np.prod(w.shape)) for w in model.non_trainable_weights)
    return trainable + non_trainable, non_trainable


def build_model(fn, *args, exercise: str):
    """Call a student's model-building function and check it returns a Keras model."""
    __tracebackhide__ = True
    import keras

    model = fn(*args)
    if not isinstance(model, keras.Model):
        fail(exercise, "return value", f"Expected a keras.Model, got {type(model).__name__}: {_short_repr(model)}.",
             "Return the model object (e.g. `return model`) rather than printing or summarising it.")
    return model


def seeded_forward(model, *, weight_seed: int, input_seed: int, batch: int = 4, training: bool = False) -> np.ndarray:
    """Output of ``model`` with seeded weights on a seeded uniform [0, 1) batch."""
    set_seeded_weights(model, weight_seed)
    shape = (batch,) + tuple(int(d) for d in model.input_shape[1:])
    return np.asarray(model(seeded_input(shape, input_seed), training=training))
