"""Keras models seen by the checks: canonical layer summaries, seeded weights, and the
generic probe runners of every model-building exercise.

A probe runner takes the student's function and keyword arguments from the
spec and returns what is compared (a summary, an array, a dict of facts). It
raises :class:`~utils.checking.messages.ProbeError` when the student's code
returns something unusable. TensorFlow is imported only when a runner runs.
"""

from __future__ import annotations

import json
from typing import Sequence

import numpy as np

from utils.checking.compare import plain
from utils.checking.messages import ProbeError, short_repr

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
        return [{"type": "Activation", "activation": f"relu{plain(detail)}", "output_shape": shape, "params": 0}]
    if kind == "Activation":
        return [{"type": "Activation", "activation": str(config.get("activation")), "output_shape": shape, "params": 0}]
    if kind in _ACTIVATION_OPS:
        return [{"type": "Activation", "activation": _ACTIVATION_OPS[kind], "output_shape": shape, "params": 0}]

    entry = {"type": kind, "output_shape": shape, "params": params}
    for key in _STRUCTURAL_KEYS.get(kind, ()):
        if key in config:
            entry[key] = plain(config[key])
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
            summary.append({"type": type(op).__name__,
                            "output_shape": [None if d is None else int(d) for d in op.output.shape],
                            "params": int(op.count_params())})
        else:
            summary.extend(_describe_call(op, node))
    return summary


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


def build_model(fn, *args, **kwargs):
    """Call a student's model-building function and check that it returns a Keras model."""
    import keras

    model = fn(*args, **kwargs)
    if not isinstance(model, keras.Model):
        raise ProbeError(f"Expected a keras.Model, got {type(model).__name__}: {short_repr(model)}.",
                         "Return the model object (e.g. `return model`) rather than printing or summarising it.")
    return model


def seeded_forward(model, *, weight_seed: int, input_seed: int, batch: int = 4, training: bool = False) -> np.ndarray:
    """Output of ``model`` with seeded weights on a seeded uniform [0, 1) batch."""
    set_seeded_weights(model, weight_seed)
    shape = (batch,) + tuple(int(d) for d in model.input_shape[1:])
    return np.asarray(model(seeded_input(shape, input_seed), training=training))


def model_probe(build):
    """Make a probe runner from ``build(fn, **args) -> keras.Model`` and the decorated ``measure(model, **args)``.

    ``runner(fn, **args)`` is ``measure(build(fn, **args), **args)``. Keeping the
    two apart lets the grader take the student's model out of the kernel (as its
    Keras configuration) and measure it in a process the kernel cannot touch.
    """

    def wrap(measure):
        def runner(fn, **args):
            return measure(build(fn, **args), **args)

        runner.build, runner.measure = build, measure
        runner.__name__, runner.__doc__ = measure.__name__, measure.__doc__
        return runner

    return wrap


def _call_args(args: Sequence = (), kwargs: dict | None = None):
    """Spec arguments come from JSON: lists stand for the tuples a student's function expects."""
    as_tuple = lambda v: tuple(v) if isinstance(v, list) else v  # noqa: E731
    return [as_tuple(a) for a in args], {k: as_tuple(v) for k, v in (kwargs or {}).items()}


_BUILT: dict = {}  # (function, arguments) -> its model, for the probes of one function


def call_builder(fn, args: Sequence = (), kwargs: dict | None = None, **_):
    """``fn(*args, **kwargs)``, checked to be a Keras model (the build step of the generic model probes).

    The probes of one test cell build the same model several times (interface,
    layers, forward); a ResNet50 takes seconds to build, so the last model built
    for the same function object and arguments is reused. Every probe that runs
    the model sets all of its weights first, so reuse changes no result; a
    redefined function is a new object and is built afresh.
    """
    key = (id(fn), repr(args), repr(kwargs))
    if key not in _BUILT or _BUILT[key][0] is not fn:
        call_args, call_kwargs = _call_args(args, kwargs)
        model = build_model(fn, *call_args, **call_kwargs)
        while len(_BUILT) >= 2:  # a ResNet50 holds ~100 MB of weights: keep the last two models only
            _BUILT.pop(next(iter(_BUILT)))
        _BUILT[key] = (fn, model)  # the function is kept so that its id is not reused
    return _BUILT[key][1]


@model_probe(call_builder)
def interface(model, **_) -> dict:
    """Probe: ``{input_shape, output_shape, params, non_trainable_params}`` of ``fn(*args, **kwargs)``."""
    total, non_trainable = count_params(model)
    return {"input_shape": list(model.input_shape), "output_shape": list(model.output_shape),
            "params": total, "non_trainable_params": non_trainable}


@model_probe(call_builder)
def layers(model, **_) -> list[dict]:
    """Probe: the layer-by-layer summary of ``fn(*args, **kwargs)``."""
    return summarize_model(model)


@model_probe(call_builder)
def forward(model, *, weight_seed: int, input_seed: int, batch: int = 4, training: bool = False, **_) -> np.ndarray:
    """Probe: the model's output with seeded weights on a seeded batch."""
    return seeded_forward(model, weight_seed=weight_seed, input_seed=input_seed, batch=batch, training=training)
