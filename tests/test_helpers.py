"""The notebooks' helpers: each figure is shown once (a helper that also returned its figure would
make Jupyter draw it a second time as the cell's value)."""

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")


@pytest.fixture
def pictures():
    rng = np.random.default_rng(0)
    return rng.integers(0, 255, (12, 8, 8, 3), dtype=np.uint8), rng.integers(0, 6, (1, 12))


def test_figure_helpers_return_no_figure(pictures):
    from utils import happy_house, resnets
    from utils.plots import plot_history, show_examples

    images, labels = pictures
    probabilities = np.random.default_rng(1).dirichlet(np.ones(6), size=12)
    assert show_examples(images, labels, n=4) is None
    assert plot_history({"loss": [1.0, 0.5], "accuracy": [0.5, 0.8], "val_accuracy": [0.4, 0.7]}) is None
    assert happy_house.show_prediction(images[0], 0.9) is None
    assert resnets.show_predictions(images, labels, probabilities, n=6) is None
    assert resnets.plot_gradient_norms({"no skip connections, no BatchNorm": np.array([1.0, 0.1])}) is None
    matrix = resnets.plot_confusion_matrix(labels, probabilities.argmax(axis=1))  # the numbers, not a figure
    assert isinstance(matrix, np.ndarray) and matrix.sum() == 12
