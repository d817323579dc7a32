"""Raw-pixel baseline: how far a linear classifier on the pixels gets on a dataset.

A dataset only shows what convolutions add if a linear model on the raw pixels
does clearly worse than the course's small CNN. :func:`raw_pixel_accuracy` fits
multinomial (softmax) logistic regression on the flattened pixels scaled to
[0, 1], with an L2 penalty chosen by k-fold cross validation on the training
set only, refits on the whole training set and reports test accuracy. A
quality bar's ``baseline_max`` (``course.spec.QualityBar``) caps it;
``benchmarks/baseline.py`` prints the table for every loader the specs name.

The fit is exact and deterministic (NumPy only, no random numbers):

* With an L2 penalty the optimal weights lie in the span of the (centred)
  training images, so the problem is solved in that m-dimensional span: the
  eigendecomposition of the m x m Gram matrix gives orthogonal coordinates
  ``Z`` with ``Z.T @ Z`` diagonal. Nothing is lost; it is the same model as on
  the 12288 raw pixels of a 64x64x3 image, only cheaper (m is the number of
  training images).
* In those coordinates Bohning's bound on the softmax Hessian,
  ``1/2 (I - 11^T/K)`` times ``Z.T @ Z / m``, is diagonal, so a majorise-minimise
  step (a Newton step with that fixed bound) costs one matrix product; FISTA
  momentum on top converges to a gradient norm of ~1e-6 in a few hundred steps.
"""

from __future__ import annotations

import numpy as np

# L2 strengths tried (penalty ``l2 / 2 * ||W||^2`` on the mean cross-entropy).
L2_GRID = (1e-3, 1e-2, 1e-1, 1.0)
CV_FOLDS = 4
MAX_STEPS = 1000
TOLERANCE = 1e-5


def _flatten(X) -> np.ndarray:
    """(m, 64, 64, 3) uint8 -> (m, 12288) float64 in [0, 1]."""
    X = np.asarray(X)
    return X.reshape(X.shape[0], -1).astype(np.float64) / 255.0


def _labels(Y) -> np.ndarray:
    """Labels of any shape with m elements (the loaders give (1, m)) -> int (m,)."""
    return np.asarray(Y).reshape(-1).astype(np.int64)


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def _fit_in_span(gram: np.ndarray, y: np.ndarray, n_classes: int, l2_grid) -> dict:
    """Fit softmax regression on centred data, given only its Gram matrix, for each L2 strength.

    Returns ``{l2: (alpha, bias)}`` with weights ``W = Xc.T @ alpha`` (alpha (m, K)),
    so that the logits of any centred rows ``Xq`` are ``(Xq @ Xc.T) @ alpha + bias``.
    The strengths are solved from strongest to weakest, each starting from the
    previous solution.
    """
    m = gram.shape[0]
    eigvals, eigvecs = np.linalg.eigh(gram)
    keep = eigvals > eigvals.max() * 1e-10
    eigvals, eigvecs = eigvals[keep], eigvecs[:, keep]
    Z = eigvecs * np.sqrt(eigvals)          # (m, r), Z.T @ Z = diag(eigvals)
    # The two products per step run in float32 (memory-bound, ~4x faster).
    Z32, ZT32 = Z.astype(np.float32), np.ascontiguousarray(Z.T, dtype=np.float32)
    onehot = np.eye(n_classes)[y]
    V = np.zeros((Z.shape[1], n_classes))
    b = np.zeros(n_classes)
    solutions = {}
    for l2 in sorted(l2_grid, reverse=True):
        # Bohning's curvature bound per coordinate (weights) and for the bias.
        step_w = 1.0 / (0.5 * eigvals / m + l2)
        step_b = 2.0
        V_prev, b_prev, t = V, b, 1.0
        for _ in range(MAX_STEPS):
            # FISTA: extrapolate, take the bound-preconditioned gradient step;
            # restart the momentum when it points uphill.
            t_next = (1.0 + np.sqrt(1.0 + 4.0 * t * t)) / 2.0
            beta = (t - 1.0) / t_next
            V_look = V + beta * (V - V_prev)
            b_look = b + beta * (b - b_prev)
            logits = Z32 @ V_look.astype(np.float32) + b_look
            residual = (_softmax(logits) - onehot) / m
            grad_V = ZT32 @ residual.astype(np.float32) + l2 * V_look
            grad_b = residual.sum(axis=0)
            V_prev, b_prev = V, b
            V = V_look - step_w[:, None] * grad_V
            b = b_look - step_b * grad_b
            t = t_next
            if np.sum(grad_V * (V - V_prev)) + np.sum(grad_b * (b - b_prev)) > 0:
                t = 1.0
            if max(np.abs(grad_V).max(), np.abs(grad_b).max()) < TOLERANCE:
                break
        # W = Xc.T @ U @ diag(1/sqrt(s)) @ V, i.e. alpha = U @ diag(1/sqrt(s)) @ V.
        solutions[l2] = ((eigvecs / np.sqrt(eigvals)) @ V, b.copy())
    return solutions


def _accuracy(cross_gram: np.ndarray, alpha: np.ndarray, bias: np.ndarray, y: np.ndarray) -> float:
    predictions = np.argmax(cross_gram @ alpha + bias, axis=1)
    return float(np.mean(predictions == y))


def _fit_and_score(X_fit: np.ndarray, y_fit: np.ndarray, X_eval: np.ndarray, y_eval: np.ndarray,
                   n_classes: int, l2_grid) -> dict:
    """Fit on ``X_fit`` for each L2 strength; ``{l2: accuracy on X_eval}``."""
    mean = X_fit.mean(axis=0)
    Xc = X_fit - mean
    solutions = _fit_in_span(Xc @ Xc.T, y_fit, n_classes, l2_grid)
    cross_gram = (X_eval - mean) @ Xc.T
    return {l2: _accuracy(cross_gram, *solutions[l2], y_eval) for l2 in l2_grid}


def cross_validated_l2(X: np.ndarray, y: np.ndarray, n_classes: int,
                       grid=L2_GRID, folds: int = CV_FOLDS) -> tuple[float, dict]:
    """Pick the L2 strength by k-fold cross validation (fold i: every k-th example from i).

    Returns ``(best_l2, {l2: mean validation accuracy})``; ties go to the
    stronger penalty.
    """
    index = np.arange(len(y))
    per_fold = []
    for fold in range(folds):
        held = index % folds == fold
        per_fold.append(_fit_and_score(X[~held], y[~held], X[held], y[held], n_classes, grid))
    scores = {l2: float(np.mean([fold[l2] for fold in per_fold])) for l2 in grid}
    best = max(sorted(grid, reverse=True), key=lambda l2: scores[l2])
    return best, scores


def baseline_report(X_train, Y_train, X_test, Y_test, n_classes: int) -> dict:
    """Everything :func:`raw_pixel_accuracy` computes.

    Returns a dict with ``l2`` (the strength picked by CV), ``cv`` ({l2: mean
    validation accuracy}), ``train`` and ``test`` accuracy of the refit with ``l2``,
    and ``test_per_l2`` ({l2: test accuracy}, for reference only).
    """
    Xtr, Xte = _flatten(X_train), _flatten(X_test)
    ytr, yte = _labels(Y_train), _labels(Y_test)
    l2, scores = cross_validated_l2(Xtr, ytr, n_classes)
    mean = Xtr.mean(axis=0)
    Xc = Xtr - mean
    gram = Xc @ Xc.T
    solutions = _fit_in_span(gram, ytr, n_classes, L2_GRID)
    test_gram = (Xte - mean) @ Xc.T
    test = {k: _accuracy(test_gram, *solutions[k], yte) for k in L2_GRID}
    return {"l2": l2, "cv": scores, "train": _accuracy(gram, *solutions[l2], ytr),
            "test": test[l2], "test_per_l2": test}


def raw_pixel_accuracy(X_train, Y_train, X_test, Y_test, n_classes: int) -> float:
    """Test accuracy of softmax regression on the raw pixels (L2 picked by CV on train).

    Args:
        X_train, X_test: uint8 images (m, H, W, C) as the loaders return them.
        Y_train, Y_test: int labels of shape (1, m) (any shape with m elements works).
        n_classes: number of classes K (2 for Happy House, 6 for SIGNS).

    Returns:
        Accuracy on the test set, a float in [0, 1]. Deterministic.
    """
    return baseline_report(X_train, Y_train, X_test, Y_test, n_classes)["test"]


def loader_data(loader: str):
    """``(X_train, Y_train, X_test, Y_test, classes)`` from a quality bar's loader, ``"utils.module:function"``.

    Resolved like a probe runner: only functions of the student runtime run.
    """
    from utils.checking.store import resolve_runner

    return resolve_runner(loader)()


def loader_baseline(loader: str) -> dict:
    """:func:`baseline_report` on the data of a quality bar's loader, with ``classes``, the number of classes."""
    X_train, Y_train, X_test, Y_test, classes = loader_data(loader)
    return {**baseline_report(X_train, Y_train, X_test, Y_test, len(classes)), "classes": len(classes)}


def quality_loaders(assignments) -> dict[str, list]:
    """Each distinct loader the quality bars of ``assignments`` name, in course order, with
    ``[(assignment, bar)]`` of the bars that name it."""
    from course import spec

    found: dict[str, list] = {}
    for assignment in assignments:
        for bar in spec.load(assignment).quality:
            if bar.loader:
                found.setdefault(bar.loader, []).append((assignment, bar))
    return found
