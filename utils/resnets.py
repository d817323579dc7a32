"""Helpers for assignment 02 (Residual networks): predictions, a confusion matrix
and the gradient experiment (a deep plain network against the same network with
skip connections).

Nothing here is graded; the notebook calls these so that its cells stay about
the ideas, not about plotting code.
"""

from __future__ import annotations

import numpy as np

from utils.plots import plot_history, show_examples  # noqa: F401  (re-exported for the notebook)

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
    """Show the confusion matrix with its counts. Returns the matrix.

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
    """Show test pictures with the model's answer and its confidence. Returns the figure.

    A title is green when the answer is right and red when it is wrong (then the
    true label follows in brackets). With ``mistakes_first`` the wrong answers
    are shown first, so the grid says where the model struggles.
    """
    import matplotlib.pyplot as plt

    labels = np.asarray(labels).reshape(-1).astype(int)
    probabilities = np.asarray(probabilities)
    predicted = probabilities.argmax(axis=1)
    order = np.random.default_rng(seed).permutation(len(images))
    if mistakes_first:
        order = np.concatenate([order[predicted[order] != labels[order]], order[predicted[order] == labels[order]]])
    chosen = order[:n]
    rows = int(np.ceil(len(chosen) / columns))
    figure, axes = plt.subplots(rows, columns, figsize=(1.7 * columns, 1.95 * rows))
    for axis in np.atleast_1d(axes).ravel():
        axis.axis("off")
    for axis, index in zip(np.atleast_1d(axes).ravel(), chosen):
        axis.imshow(images[index])
        right = predicted[index] == labels[index]
        text = f"{predicted[index]} ({probabilities[index, predicted[index]]:.0%})"
        if not right:
            text += f" [{labels[index]}]"
        axis.set_title(text, fontsize=9, color="green" if right else "red")
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    plt.show()
    return figure


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
    return figure


def spread(norms) -> float:
    """How many times larger the largest gradient norm is than the smallest (1 = perfectly even)."""
    norms = np.asarray(norms, dtype=np.float64)
    return float(norms.max() / max(norms.min(), 1e-300))
