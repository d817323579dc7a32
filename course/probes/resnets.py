"""Probes of assignment 02 (Residual networks): the two blocks and ResNet50.

Three kinds of experiment:

* **as built** -- the block is built with ``initializer=probe_initializer`` and
  its convolution kernels are kept as ``initializer(seed=0)`` made them, so a
  wrong seed or a hard-coded initializer changes the result.
  ``inference`` wraps the block in a functional model, gives only the
  BatchNorm layers seeded statistics (so that BatchNorm is not close to the
  identity and its place relative to the shortcut matters) and runs it with
  ``training=False``; ``training`` calls the block directly on a seeded batch
  with ``training=True``, as a learner would in a notebook cell, so a BatchNorm
  call that ignores ``training`` shows.
* **seeded** -- the block is wrapped in a small functional model whose weights
  are all overwritten with seeded values (``utils.checks``) and run in
  inference and in training mode, for other sizes, window and stride.
* **summary** -- the layer-by-layer structure; for ResNet50 also the output
  shape and parameter counts for other arguments.

All array probes use ``checks.TOL_NETWORK``; the measured spread between CPU
kernels is recorded in docs (``benchmarks/deviation.py``).
"""

from __future__ import annotations

import json

import numpy as np

from utils import checks
from utils.checks import build_model, seeded_input, summarize_model
from course.references import Probe

ASSIGNMENT = "02_resnets"

# ---------------------------------------------------------------------------
# The initializer the eager probes hand to the blocks
# ---------------------------------------------------------------------------

_UNSEEDED = 7919  # what the probe initializer uses when nobody gave it a seed


def _kernel_values(shape, seed) -> np.ndarray:
    """Kernel values that depend only on (seed, shape): variance 1/fan_in, uniform."""
    shape = tuple(int(d) for d in shape)
    fan_in = int(np.prod(shape[:-1])) if len(shape) > 1 else shape[0]
    limit = np.sqrt(3.0 / max(fan_in, 1))
    rng = np.random.default_rng([20260, int(seed), *shape])
    return rng.uniform(-limit, limit, shape).astype(np.float32)


def _initializer_class():
    import keras

    class ProbeInitializer(keras.initializers.Initializer):
        """Seeded kernels drawn with NumPy: the same seed gives the same kernel for the same shape."""

        def __init__(self, seed=None):
            self.seed = seed

        def __call__(self, shape, dtype=None):
            seed = _UNSEEDED if self.seed is None else self.seed
            return keras.ops.convert_to_tensor(_kernel_values(shape, seed), dtype=dtype or "float32")

        def get_config(self):
            return {"seed": self.seed}

    return ProbeInitializer


def probe_initializer(seed=None, dtype=None):
    """Stands in for ``random_uniform`` / ``glorot_uniform`` in the eager probes.

    Called as the blocks must call it, ``initializer(seed=0)``, it returns a
    Keras initializer. Passed to a layer uncalled (``kernel_initializer=initializer``),
    Keras calls it with ``(shape, dtype=...)``: it then gives the unseeded kernel,
    which matches no reference, so that mistake is caught too.
    """
    if isinstance(seed, (tuple, list)) or hasattr(seed, "as_list"):  # used uncalled: seed is the shape
        import keras

        return keras.ops.convert_to_tensor(_kernel_values(tuple(seed), _UNSEEDED), dtype=dtype or "float32")
    return _initializer_class()(seed)


# ---------------------------------------------------------------------------
# Running a block
# ---------------------------------------------------------------------------


def _eager(name: str, shape, f, filters, *, training: bool, input_seed: int, **kwargs):
    """Call the block directly on a seeded batch in [-1, 1) with the probe initializer."""

    def run(fn):
        __tracebackhide__ = True
        X = seeded_input(shape, input_seed, low=-1.0, high=1.0)
        out = fn(X, f, list(filters), training=training, initializer=probe_initializer, **kwargs)
        if out is None:
            checks.fail(name, "return value", "Expected the output tensor of the block, got None.",
                        "Check that the block ends with `return X`.")
        return np.asarray(out)

    return run


def _wrapped(fn, input_shape, f, filters, **kwargs):
    """A functional model around one block (built with training=False; the model call decides).

    ``kwargs`` go to the block (``s``, ``initializer``)."""
    import keras

    inputs = keras.Input(shape=input_shape)
    outputs = fn(inputs, f, list(filters), training=False, **kwargs)
    return keras.Model(inputs, outputs)


def _equalize_twins(model) -> None:
    """Give layers that the canonical order cannot tell apart the same weights.

    In a convolutional block, the last BatchNorm of the main path and the
    shortcut's BatchNorm (and, with stride 1, the two 1x1 convolutions before
    them) have identical settings and sit at the same depth. Which of the two
    receives which seeded weights would then depend on the order of ``Add``'s
    inputs; with equal weights it does not, and ``Add()([X_shortcut, X])``
    scores like ``Add()([X, X_shortcut])``.
    """
    graph = getattr(model, "_functional", None) or model
    for depth in sorted(getattr(graph, "_nodes_by_depth", {}) or {}, reverse=True):
        groups: dict[str, list] = {}
        for node in graph._nodes_by_depth[depth]:
            op = node.operation
            if not getattr(op, "weights", None):
                continue
            key = json.dumps(checks._describe_call(op, node), sort_keys=True, default=str)
            groups.setdefault(key, []).append(op)
        for ops in groups.values():
            for other in ops[1:]:
                if other is ops[0]:
                    continue
                for source, target in zip(ops[0].weights, other.weights):
                    target.assign(source)


def seeded_forward(model, *, weight_seed: int, input_seed: int, batch: int = 4, training: bool = False) -> np.ndarray:
    """``checks.seeded_forward`` with twin layers made equal (see :func:`_equalize_twins`)."""
    checks.set_seeded_weights(model, weight_seed)
    _equalize_twins(model)
    shape = (batch,) + tuple(int(d) for d in model.input_shape[1:])
    return np.asarray(model(seeded_input(shape, input_seed), training=training))


def _as_built(shape, f, filters, *, bn_seed: int, input_seed: int, **kwargs):
    """Kernels from ``initializer(seed=0)``, seeded BatchNorm statistics, inference mode."""

    def run(fn):
        __tracebackhide__ = True
        import keras

        model = _wrapped(fn, shape[1:], f, filters, initializer=probe_initializer, **kwargs)
        kept = [(layer, layer.get_weights()) for layer in model.layers
                if not isinstance(layer, keras.layers.BatchNormalization)]
        checks.set_seeded_weights(model, bn_seed)
        _equalize_twins(model)
        for layer, weights in kept:  # only the BatchNorm layers keep the seeded values
            layer.set_weights(weights)
        X = seeded_input(shape, input_seed, low=-1.0, high=1.0)
        return np.asarray(model(X, training=False))

    return run


def _seeded(name, input_shape, f, filters, *, weight_seed, input_seed, training, **kwargs):
    def run(fn):
        __tracebackhide__ = True
        model = _wrapped(fn, input_shape, f, filters, **kwargs)
        return seeded_forward(model, weight_seed=weight_seed, input_seed=input_seed, training=training)

    return run


def _summary(input_shape, f, filters, **kwargs):
    return lambda fn: summarize_model(_wrapped(fn, input_shape, f, filters, **kwargs))


def _resnet(**kwargs):
    return lambda fn: build_model(lambda: fn(**kwargs), exercise="ResNet50")


def _interface(model) -> np.ndarray:
    """``[number of outputs, parameters, non-trainable parameters]`` of a model."""
    total, non_trainable = checks.count_params(model)
    return np.array([model.output_shape[-1], total, non_trainable], dtype=np.float64)


# ---------------------------------------------------------------------------
# The probes
# ---------------------------------------------------------------------------

# Settings of the blocks. F1, F2 and F3 differ so that filters used in the wrong
# order show; the hidden settings change f, the sizes and the stride.
ID_SHAPE, ID_F, ID_FILTERS = (3, 4, 4, 6), 3, (2, 4, 6)
ID_HIDDEN_SHAPE, ID_HIDDEN_F, ID_HIDDEN_FILTERS = (5, 5, 4), 2, (3, 5, 4)
CONV_SHAPE, CONV_F, CONV_FILTERS, CONV_S = (3, 5, 5, 3), 3, (2, 4, 6), 2
CONV_HIDDEN_SHAPE, CONV_HIDDEN_F, CONV_HIDDEN_FILTERS, CONV_HIDDEN_S = (6, 6, 4), 2, (5, 3, 7), 3

_ID = "identity_block"
_CONV = "convolutional_block"

PROBES = [
    Probe("identity_block/summary", _ID,
          f"layer-by-layer structure for X of shape (None, 4, 4, 6), f={ID_F}, filters={list(ID_FILTERS)}",
          _summary(ID_SHAPE[1:], ID_F, ID_FILTERS), kind="summary"),
    Probe("identity_block/inference", _ID,
          f"output of identity_block(X, f={ID_F}, filters={list(ID_FILTERS)}, initializer=...) on a seeded batch "
          "in inference mode, kernels from initializer(seed=0), seeded BatchNorm statistics",
          _as_built(ID_SHAPE, ID_F, ID_FILTERS, bn_seed=10, input_seed=10)),
    Probe("identity_block/training", _ID,
          f"output of identity_block(X, f={ID_F}, filters={list(ID_FILTERS)}, training=True, initializer=...) "
          "on a seeded batch (BatchNorm must use the batch statistics)",
          _eager(_ID, ID_SHAPE, ID_F, ID_FILTERS, training=True, input_seed=11)),
    Probe("identity_block/seeded_inference", _ID,
          f"output with seeded weights, X of shape (None, 5, 5, 4), f={ID_HIDDEN_F}, "
          f"filters={list(ID_HIDDEN_FILTERS)} (inference mode)",
          _seeded(_ID, ID_HIDDEN_SHAPE, ID_HIDDEN_F, ID_HIDDEN_FILTERS, weight_seed=12, input_seed=13, training=False)),
    Probe("identity_block/seeded_training", _ID,
          f"output with seeded weights, X of shape (None, 5, 5, 4), f={ID_HIDDEN_F}, "
          f"filters={list(ID_HIDDEN_FILTERS)} (training mode)",
          _seeded(_ID, ID_HIDDEN_SHAPE, ID_HIDDEN_F, ID_HIDDEN_FILTERS, weight_seed=14, input_seed=15, training=True)),

    Probe("convolutional_block/summary", _CONV,
          f"layer-by-layer structure for X of shape (None, 5, 5, 3), f={CONV_F}, filters={list(CONV_FILTERS)}, "
          f"s={CONV_S}",
          _summary(CONV_SHAPE[1:], CONV_F, CONV_FILTERS, s=CONV_S), kind="summary"),
    Probe("convolutional_block/inference", _CONV,
          f"output of convolutional_block(X, f={CONV_F}, filters={list(CONV_FILTERS)}, s={CONV_S}, initializer=...) "
          "on a seeded batch in inference mode, kernels from initializer(seed=0), seeded BatchNorm statistics",
          _as_built(CONV_SHAPE, CONV_F, CONV_FILTERS, bn_seed=30, input_seed=30, s=CONV_S)),
    Probe("convolutional_block/training", _CONV,
          f"output of convolutional_block(X, f={CONV_F}, filters={list(CONV_FILTERS)}, s={CONV_S}, training=True, "
          "initializer=...) on a seeded batch (BatchNorm must use the batch statistics)",
          _eager(_CONV, CONV_SHAPE, CONV_F, CONV_FILTERS, training=True, input_seed=31, s=CONV_S)),
    Probe("convolutional_block/seeded_inference", _CONV,
          f"output with seeded weights, X of shape (None, 6, 6, 4), f={CONV_HIDDEN_F}, "
          f"filters={list(CONV_HIDDEN_FILTERS)}, s={CONV_HIDDEN_S} (inference mode)",
          _seeded(_CONV, CONV_HIDDEN_SHAPE, CONV_HIDDEN_F, CONV_HIDDEN_FILTERS, weight_seed=32, input_seed=33,
                  training=False, s=CONV_HIDDEN_S)),
    Probe("convolutional_block/seeded_training", _CONV,
          f"output with seeded weights, X of shape (None, 6, 6, 4), f={CONV_HIDDEN_F}, "
          f"filters={list(CONV_HIDDEN_FILTERS)}, s={CONV_HIDDEN_S} (training mode)",
          _seeded(_CONV, CONV_HIDDEN_SHAPE, CONV_HIDDEN_F, CONV_HIDDEN_FILTERS, weight_seed=34, input_seed=35,
                  training=True, s=CONV_HIDDEN_S)),

    Probe("ResNet50/summary", "ResNet50", "layer-by-layer structure of ResNet50()",
          lambda fn: summarize_model(_resnet()(fn)), kind="summary"),
    Probe("ResNet50/interface_other_args", "ResNet50",
          "[outputs, parameters, non-trainable parameters] of ResNet50(input_shape=(96, 96, 1), classes=4) "
          "(are both arguments used?)",
          lambda fn: _interface(_resnet(input_shape=(96, 96, 1), classes=4)(fn)), tol=dict(checks.TOL_EXACT)),
    Probe("ResNet50/forward", "ResNet50", "output of ResNet50() on a seeded batch with seeded weights (inference mode)",
          lambda fn: seeded_forward(_resnet()(fn), weight_seed=40, input_seed=41)),
    Probe("ResNet50/forward_training", "ResNet50",
          "output of ResNet50() on a seeded batch with seeded weights (training mode)",
          lambda fn: seeded_forward(_resnet()(fn), weight_seed=42, input_seed=43, training=True)),
]
