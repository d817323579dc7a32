"""Assignment 02 (Residual networks): ``grade`` for its test cells, the probe runners its
checks use, and the notebook's helpers: predictions, a confusion matrix and the
gradient experiment (a deep plain network against the same network with skip
connections).

The helpers keep the notebook's cells about the ideas, not about plotting code.
"""

from __future__ import annotations

import json

import numpy as np

from utils.checking import models
from utils.checking.grader import Grader
from utils.checking.messages import ProbeError
from utils.plots import image_grid, plot_history, show_examples  # noqa: F401  (re-exported for the notebook)

ASSIGNMENT = "02_resnets"
grade = Grader(ASSIGNMENT)

SIGN_NAMES = {k: f"{k} finger{'s' if k != 1 else ''}" for k in range(6)}


# ---------------------------------------------------------------------------
# Predictions
# ---------------------------------------------------------------------------


def confusion_matrix(labels, predictions, n_classes: int) -> np.ndarray:
    """Counts ``matrix[true, predicted]`` (int array ``(n_classes, n_classes)``)."""
    labels = np.asarray(labels).reshape(-1).astype(int)
    predictions = np.asarray(predictions).reshape(-1).astype(int)
    matrix = np.zeros((n_classes, n_classes), dtype=int)
    np.add.at(matrix, (labels, predictions), 1)
    return matrix


def plot_confusion_matrix(labels, predictions, n_classes: int = 6, title: str = "Confusion matrix (test set)"):
    """Show the confusion matrix with its counts. Returns the matrix (not the figure, which is shown once).

    Row = the true number of fingers, column = the model's answer: the diagonal
    holds the correct answers, everything else a mistake.
    """
    import matplotlib.pyplot as plt

    matrix = confusion_matrix(labels, predictions, n_classes)
    figure, axis = plt.subplots(figsize=(4.6, 4.0))
    image = axis.imshow(matrix, cmap="Blues")
    threshold = matrix.max() / 2 if matrix.size else 0
    for (row, column), count in np.ndenumerate(matrix):
        axis.text(column, row, str(count), ha="center", va="center",
                  color="white" if count > threshold else "black", fontsize=9)
    axis.set_xticks(range(n_classes))
    axis.set_yticks(range(n_classes))
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    axis.set_title(title)
    figure.colorbar(image, ax=axis, fraction=0.046)
    figure.tight_layout()
    plt.show()
    return matrix


def show_predictions(images, labels, probabilities, n: int = 12, columns: int = 6, seed: int = 0,
                     mistakes_first: bool = True, title: str | None = None):
    """Show test pictures with the model's answer and its confidence.

    A title is green when the answer is right and red when it is wrong (then the
    true label follows in brackets). With ``mistakes_first`` the wrong answers
    are shown first, so the grid says where the model struggles.
    """
    labels = np.asarray(labels).reshape(-1).astype(int)
    probabilities = np.asarray(probabilities)
    predicted = probabilities.argmax(axis=1)
    order = np.random.default_rng(seed).permutation(len(images))
    if mistakes_first:
        order = np.concatenate([order[predicted[order] != labels[order]], order[predicted[order] == labels[order]]])
    chosen = order[:n]
    titles, colors = [], []
    for index in chosen:
        right = predicted[index] == labels[index]
        text = f"{predicted[index]} ({probabilities[index, predicted[index]]:.0%})"
        titles.append(text if right else text + f" [{labels[index]}]")
        colors.append("green" if right else "red")
    image_grid(images, chosen, titles, colors, columns=columns, cell=(1.7, 1.95), title=title)


# ---------------------------------------------------------------------------
# Why skip connections: gradients at initialisation
# ---------------------------------------------------------------------------


def deep_network(n_layers: int = 50, skip: bool = False, batchnorm: bool = True, width: int = 16,
                 input_shape=(64, 64, 3), classes: int = 6, seed: int = 0):
    """A deep stack of 3x3 convolutions, with or without skip connections.

    A stride-4 convolution shrinks the picture to 16x16, then ``n_layers - 1``
    convolutions of ``width`` channels follow in pairs: conv, (BatchNorm), ReLU,
    conv, (BatchNorm), then -- only with ``skip`` -- the input of the pair is
    added back, then ReLU. Global average pooling and a softmax layer finish it.
    With and without ``skip`` the two networks have exactly the same layers and
    the same initial weights: only the additions differ.
    """
    import keras
    from keras import layers

    def conv(stride=1):
        nonlocal seed
        seed += 1
        return layers.Conv2D(width, 3, strides=stride, padding="same",
                             kernel_initializer=keras.initializers.GlorotUniform(seed=seed))

    inputs = keras.Input(shape=input_shape)
    x = layers.Activation("relu")(conv(stride=4)(inputs))
    for _ in range((n_layers - 1) // 2):
        y = conv()(x)
        y = layers.BatchNormalization()(y) if batchnorm else y
        y = layers.Activation("relu")(y)
        y = conv()(y)
        y = layers.BatchNormalization()(y) if batchnorm else y
        if skip:
            y = layers.Add()([x, y])
        x = layers.Activation("relu")(y)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(classes, activation="softmax",
                           kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 1))(x)
    name = f"{'residual' if skip else 'plain'}_{n_layers}{'_bn' if batchnorm else ''}"
    return keras.Model(inputs, outputs, name=name)


def conv_gradient_norms(model, X, Y) -> np.ndarray:
    """Norm of the loss gradient for each convolution kernel, from the input side to the output side.

    One forward and backward pass in training mode on the batch ``(X, Y)``
    (``Y`` one-hot), with the model's initial weights.
    """
    import keras
    import tensorflow as tf

    kernels = [layer.kernel for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    with tf.GradientTape() as tape:
        probabilities = model(X, training=True)
        loss = keras.losses.categorical_crossentropy(Y, probabilities)
        loss = tf.reduce_mean(loss)
    gradients = tape.gradient(loss, kernels)
    return np.array([float(tf.norm(g)) for g in gradients])


def gradient_experiment(X, Y, n_layers: int = 50) -> dict[str, np.ndarray]:
    """Gradient norms per layer of four networks with the same layers and initial weights.

    Returns ``{label: norms}`` for plain and residual networks, each without and
    with BatchNormalization.
    """
    results = {}
    for batchnorm in (False, True):
        for skip in (False, True):
            model = deep_network(n_layers, skip=skip, batchnorm=batchnorm)
            label = f"{'with' if skip else 'no'} skip connections, {'with' if batchnorm else 'no'} BatchNorm"
            results[label] = conv_gradient_norms(model, X, Y)
    return results


def plot_gradient_norms(results: dict[str, np.ndarray], title: str = "Gradient norm per layer at initialisation"):
    """Plot ``{label: norms}`` on a log scale, one panel without and one with BatchNorm."""
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(11, 3.8), sharey=True)
    for label, norms in results.items():
        axis = axes[1] if "with BatchNorm" in label else axes[0]
        style = "-" if label.startswith("with skip") else "--"
        axis.semilogy(np.arange(1, len(norms) + 1), norms, style, marker=".", label=label.split(",")[0])
    for axis, name in zip(axes, ("without BatchNorm", "with BatchNorm")):
        axis.set_title(name)
        axis.set_xlabel("convolution (1 = next to the input)")
        axis.grid(alpha=0.3, which="both")
        axis.legend()
    axes[0].set_ylabel("|| dLoss / dKernel ||")
    figure.suptitle(title)
    figure.tight_layout()
    plt.show()


def spread(norms) -> float:
    """How many times larger the largest gradient norm is than the smallest (1 = perfectly even)."""
    norms = np.asarray(norms, dtype=np.float64)
    return float(norms.max() / max(norms.min(), 1e-300))


# ---------------------------------------------------------------------------
# Probe runners of the graded blocks (named by the spec, solutions/02_resnets/spec.py)
# ---------------------------------------------------------------------------
#
# Three kinds of experiment:
#
# * as built -- the block is built with ``initializer=probe_initializer`` and its
#   convolution kernels are kept as ``initializer(seed=0)`` made them, so a wrong
#   seed or a hard-coded initializer changes the result. ``block_as_built`` wraps
#   the block in a functional model, gives only the BatchNorm layers seeded
#   statistics (so BatchNorm is not close to the identity and its place relative to
#   the shortcut matters) and runs it with ``training=False``; ``block_training``
#   calls the block directly on a seeded batch with ``training=True``, as a learner
#   would in a notebook cell, so a BatchNorm call that ignores ``training`` shows.
# * seeded -- the block is wrapped in a small functional model whose weights are all
#   overwritten with seeded values and run in inference or training mode.
# * structure -- the output shape and the layer-by-layer summary.

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
    """Stands in for ``random_uniform`` / ``glorot_uniform`` when the checks build a block.

    Called as the blocks must call it, ``initializer(seed=0)``, it returns a Keras
    initializer. Passed to a layer uncalled (``kernel_initializer=initializer``),
    Keras calls it with ``(shape, dtype=...)``: it then gives the unseeded kernel,
    which matches no reference, so that mistake is caught too.
    """
    if isinstance(seed, (tuple, list)) or hasattr(seed, "as_list"):  # used uncalled: seed is the shape
        import keras

        return keras.ops.convert_to_tensor(_kernel_values(tuple(seed), _UNSEEDED), dtype=dtype or "float32")
    return _initializer_class()(seed)


def _block_kwargs(s):
    return {} if s is None else {"s": s}


def _block_output(out) -> np.ndarray:
    if out is None:
        raise ProbeError("Expected the output tensor of the block, got None.",
                         "Check that the block ends with `return X`.")
    return np.asarray(out)


def _wrapped(fn, input_shape, f, filters, **kwargs):
    """A functional model around one block (built with training=False; the model call decides)."""
    import keras

    inputs = keras.Input(shape=tuple(input_shape))
    outputs = fn(inputs, f, list(filters), training=False, **kwargs)
    if outputs is None:
        raise ProbeError("Expected the output tensor of the block, got None.",
                         "Check that the block ends with `return X`.")
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
            key = json.dumps(models._describe_call(op, node), sort_keys=True, default=str)
            groups.setdefault(key, []).append(op)
        for ops in groups.values():
            for other in ops[1:]:
                if other is ops[0]:
                    continue
                for source, target in zip(ops[0].weights, other.weights):
                    target.assign(source)


def _seeded_forward(model, *, weight_seed: int, input_seed: int, training: bool, batch: int = 4) -> np.ndarray:
    """``models.seeded_forward`` with twin layers made equal (see :func:`_equalize_twins`)."""
    models.set_seeded_weights(model, weight_seed)
    _equalize_twins(model)
    shape = (batch,) + tuple(int(d) for d in model.input_shape[1:])
    return np.asarray(model(models.seeded_input(shape, input_seed), training=training))


def _block_builder(fn, shape, f, filters, s=None, **_):
    return _wrapped(fn, shape[1:], f, filters, **_block_kwargs(s))


@models.model_probe(_block_builder)
def block_output_shape(model, shape, **_) -> list:
    """Probe: the output shape of the block for inputs of ``shape`` (batch dimension included)."""
    return [int(shape[0])] + [None if d is None else int(d) for d in model.output_shape[1:]]


@models.model_probe(_block_builder)
def block_layers(model, **_) -> list[dict]:
    """Probe: the layer-by-layer summary of the block on inputs of ``shape`` (batch dimension included)."""
    return models.summarize_model(model)


def block_as_built(fn, shape, f, filters, bn_seed: int, input_seed: int, s=None) -> np.ndarray:
    """Probe: kernels from ``initializer(seed=0)``, seeded BatchNorm statistics, inference mode."""
    import keras

    model = _wrapped(fn, shape[1:], f, filters, initializer=probe_initializer, **_block_kwargs(s))
    kept = [(layer, layer.get_weights()) for layer in model.layers
            if not isinstance(layer, keras.layers.BatchNormalization)]
    models.set_seeded_weights(model, bn_seed)
    _equalize_twins(model)
    for layer, weights in kept:  # only the BatchNorm layers keep the seeded values
        layer.set_weights(weights)
    X = models.seeded_input(shape, input_seed, low=-1.0, high=1.0)
    return np.asarray(model(X, training=False))


def block_training(fn, shape, f, filters, input_seed: int, s=None) -> np.ndarray:
    """Probe: the block called directly on a seeded batch in [-1, 1) with ``training=True``."""
    X = models.seeded_input(shape, input_seed, low=-1.0, high=1.0)
    out = fn(X, f, list(filters), training=True, initializer=probe_initializer, **_block_kwargs(s))
    return _block_output(out)


def block_seeded(fn, shape, f, filters, weight_seed: int, input_seed: int, training: bool, s=None) -> np.ndarray:
    """Probe: the block in a functional model with every weight seeded, in inference or training mode."""
    model = _wrapped(fn, shape[1:], f, filters, **_block_kwargs(s))
    return _seeded_forward(model, weight_seed=weight_seed, input_seed=input_seed, training=training, batch=shape[0])


@models.model_probe(models.call_builder)
def resnet_forward(model, weight_seed: int, input_seed: int, training: bool = False, **_) -> np.ndarray:
    """Probe: ``ResNet50()`` with seeded weights on a seeded batch of 4."""
    return _seeded_forward(model, weight_seed=weight_seed, input_seed=input_seed, training=training)
