"""Plotting helpers shared by the assignments (example grids, training curves)."""

from __future__ import annotations

import numpy as np


def show_examples(images: np.ndarray, labels, names: dict | None = None, n: int = 12, columns: int = 6,
                  title: str | None = None, seed: int = 0):
    """Show ``n`` random images in a grid with their labels.

    Args:
        images: uint8 or float array (m, H, W, 3).
        labels: integer labels, any shape with m elements.
        names: optional mapping label -> display name.
    """
    labels = np.asarray(labels).reshape(-1)
    chosen = np.random.default_rng(seed).choice(len(images), size=min(n, len(images)), replace=False)
    titles = [names.get(int(labels[i]), int(labels[i])) if names else int(labels[i]) for i in chosen]
    image_grid(images, chosen, titles, columns=columns, title=title)


def image_grid(images, chosen, titles, colors=None, columns: int = 6, cell=(1.6, 1.8), title: str | None = None):
    """Show ``images[chosen]`` in a grid, each with its title (and title colour), then the figure."""
    import matplotlib.pyplot as plt

    rows = int(np.ceil(len(chosen) / columns))
    figure, axes = plt.subplots(rows, columns, figsize=(cell[0] * columns, cell[1] * rows))
    for axis in np.atleast_1d(axes).ravel():
        axis.axis("off")
    for k, (axis, index) in enumerate(zip(np.atleast_1d(axes).ravel(), chosen)):
        axis.imshow(images[index])
        axis.set_title(titles[k], fontsize=9, color=colors[k] if colors else "black")
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    plt.show()


def plot_history(history, title: str = "Training curves"):
    """Plot loss and accuracy per epoch from a Keras ``History`` (or its ``.history`` dict)."""
    import matplotlib.pyplot as plt

    curves = getattr(history, "history", history)
    epochs = np.arange(1, len(curves.get("loss", [])) + 1)
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.5))
    for key, axis in (("loss", left), ("accuracy", right)):
        if key in curves:
            axis.plot(epochs, curves[key], label="train")
        if f"val_{key}" in curves:
            axis.plot(epochs, curves[f"val_{key}"], label="test")
        axis.set_xlabel("epoch")
        axis.set_ylabel(key)
        axis.grid(alpha=0.3)
        axis.legend()
    figure.suptitle(title)
    figure.tight_layout()
    plt.show()
