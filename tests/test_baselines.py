"""The raw-pixel linear baseline (course.baselines) on data whose answer is known by construction."""

import numpy as np

from course.baselines import baseline_report, raw_pixel_accuracy


def _pictures(rng, bright_pixels, m):
    """``m`` noisy 4x4x3 uint8 pictures; ``bright_pixels[i]`` lists the (row, col) set to 230 in picture i."""
    X = rng.integers(0, 60, size=(m, 4, 4, 3), dtype=np.uint8)
    for picture, pixels in zip(X, bright_pixels):
        for row, col in pixels:
            picture[row, col] = 230
    return X


def test_a_class_written_in_one_pixel_is_found_exactly():
    """Label 1 lights pixel (0, 0): one weight separates the classes, so train and test accuracy are 1."""
    rng = np.random.default_rng(0)
    y_train, y_test = rng.permutation(np.arange(80) % 2), rng.permutation(np.arange(40) % 2)
    X_train = _pictures(rng, [[(0, 0)] if label else [] for label in y_train], 80)
    X_test = _pictures(rng, [[(0, 0)] if label else [] for label in y_test], 40)
    report = baseline_report(X_train, y_train[None], X_test, y_test[None], 2)
    assert report["train"] == 1.0 and report["test"] == 1.0


def test_an_exclusive_or_of_two_pixels_stays_out_of_reach():
    """Label = pixel A lit XOR pixel B lit. No linear function of the pixels gets more than 3 of the 4
    (A, B) combinations right, so test accuracy is at most 0.75 (plus the noise's luck), far from 1."""
    rng = np.random.default_rng(1)
    combos = [[], [(0, 0)], [(3, 3)], [(0, 0), (3, 3)]]  # labels 0, 1, 1, 0
    labels = np.array([0, 1, 1, 0])
    train_kind, test_kind = rng.permutation(np.arange(160) % 4), rng.permutation(np.arange(80) % 4)
    X_train = _pictures(rng, [combos[k] for k in train_kind], 160)
    X_test = _pictures(rng, [combos[k] for k in test_kind], 80)
    accuracy = raw_pixel_accuracy(X_train, labels[train_kind][None], X_test, labels[test_kind][None], 2)
    assert accuracy <= 0.8
