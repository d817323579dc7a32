"""Assignment 01 (Happy House): ``grade`` for its test cells, and the notebook's helpers
for pictures and training curves.

The two graded model builders are checked with the generic model probes of
:mod:`utils.checking.models`; the helpers keep the notebook's cells about the
ideas, not about plotting code.
"""

from __future__ import annotations

import numpy as np

from utils.checking.grader import Grader
from utils.plots import plot_history, show_examples  # noqa: F401  (re-exported for the notebook)

ASSIGNMENT = "01_happy_house"
grade = Grader(ASSIGNMENT)


def prepare_image(image: np.ndarray, size: int = 64) -> np.ndarray:
    """Resize a uint8 RGB picture to ``size``x``size`` and scale it to a float32 batch of one.

    Args:
        image: uint8 array (H, W, 3).

    Returns:
        float32 array (1, size, size, 3) with values in [0, 1].
    """
    from PIL import Image

    resized = Image.fromarray(np.asarray(image, dtype=np.uint8)).resize((size, size), Image.Resampling.LANCZOS)
    return (np.asarray(resized, dtype=np.float32) / 255.0)[None]


def show_prediction(image: np.ndarray, probability: float, threshold: float = 0.5):
    """Show a picture with the model's verdict."""
    import matplotlib.pyplot as plt

    verdict = "happy: the door opens" if probability >= threshold else "not happy: the door stays shut"
    figure, axis = plt.subplots(figsize=(3.2, 3.6))
    axis.imshow(image)
    axis.set_title(f"P(smiling) = {probability:.2f}\n{verdict}", fontsize=10)
    axis.axis("off")
    plt.show()
