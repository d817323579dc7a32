"""Assignment 03 (Car detection with YOLO): ``grade`` for its test cells, the probe runners
its checks use, and the notebook's helpers (the detector, pictures, drawing).

Probe inputs are built with NumPy from a seed, so they are the same on every
machine. Random scores are kept at least ``MARGIN`` away from the score
threshold, and random boxes' overlaps at least ``MARGIN`` away from the IoU
threshold: whether a student writes ``>=`` or ``>``, and however a kernel
rounds the last digits, no result hinges on a value sitting on a threshold.
Detections are returned sorted by score (then by box), so a correct answer
that lists them in another order gives the same result.

The threshold probes of ``yolo_eval`` use designed inputs
(:func:`designed_outputs`): single boxes with chosen scores and pairs of boxes
with chosen overlaps, placed among background boxes that no threshold keeps.
The seed moves the boxes, their classes and the last digits of each chosen
value (by at most ``DESIGN_JITTER``), never which side of a threshold a value
lies on, so a function that ignores or swaps a threshold loses on every seed.
"""

from __future__ import annotations

import io
from functools import lru_cache

import numpy as np

from utils import data
from utils.car_detection_yolo import (  # noqa: F401  (re-exported for the notebook)
    DATA,
    GRID,
    MODEL_IMAGE_SIZE,
    course_anchors,
    course_classes,
    draw_boxes,
    get_colors_for_classes,
    load_detector,
    pairwise_iou,
    preprocess_image,
    read_anchors,
    read_classes,
    scale_boxes,
    test_frames,
    tiny_yolo_body,
    yolo_boxes_to_corners,
    yolo_head,
)
from utils.checking.grader import Grader
from utils.checking.messages import ProbeError

ASSIGNMENT = "03_car_detection"
grade = Grader(ASSIGNMENT)
MARGIN = 1e-3
SHOWN_JPEG_QUALITY = 90  # pictures shown in the notebook (the committed test frames are JPEGs of quality 92)
UNMATCHED_HINT = ("Keep scores, boxes and classes together: whatever selects some of them (a mask, the indices "
                  "non-max suppression keeps) must select all three, e.g. tf.gather(classes, nms_indices).")


# ---------------------------------------------------------------------------
# Seeded inputs
# ---------------------------------------------------------------------------
def _keep_off_threshold(box_confidence: np.ndarray, box_class_probs: np.ndarray, threshold: float) -> np.ndarray:
    """Rescale the confidence of every box whose best score lies within MARGIN of ``threshold``."""
    best = (box_confidence * box_class_probs).max(axis=-1, keepdims=True)
    near = np.abs(best - threshold) < MARGIN * max(1.0, abs(threshold))
    target = threshold + np.where(best >= threshold, 2.0, -2.0) * MARGIN * max(1.0, abs(threshold))
    factor = np.where(near & (np.abs(best) > 1e-12), target / np.where(best == 0, 1, best), 1.0)
    return (box_confidence * factor).astype(np.float32)


def random_filter_inputs(seed: int, shape, num_classes: int, threshold: float, kind: str = "classic"):
    """``(boxes, box_confidence, box_class_probs)`` float32 of shapes ``shape + (4,)``, ``+ (1,)``, ``+ (C,)``.

    ``kind="classic"``: normal(mean 1, std 4) values as in the classic assignment's
    test; ``kind="detector"``: values a trained detector produces (confidences
    and softmax probabilities in [0, 1], corners in [0, 1]).
    """
    rng = np.random.default_rng(seed)
    shape = tuple(shape)
    if kind == "classic":
        boxes = rng.normal(1.0, 4.0, shape + (4,))
        confidence = rng.normal(1.0, 4.0, shape + (1,))
        probs = rng.normal(1.0, 4.0, shape + (num_classes,))
    else:
        centre = rng.uniform(0, 1, shape + (2,))
        size = rng.uniform(0.02, 0.4, shape + (2,))
        boxes = np.concatenate([centre[..., ::-1] - size[..., ::-1] / 2, centre[..., ::-1] + size[..., ::-1] / 2], -1)
        confidence = rng.beta(0.6, 1.2, shape + (1,))
        logits = rng.normal(0.0, 2.5, shape + (num_classes,))
        probs = np.exp(logits - logits.max(-1, keepdims=True))
        probs /= probs.sum(-1, keepdims=True)
    confidence = _keep_off_threshold(confidence, probs, threshold)
    return boxes.astype(np.float32), confidence, probs.astype(np.float32)


def random_detections(seed: int, n: int, num_classes: int, iou_threshold: float, image_shape=(720, 1280)):
    """``(scores (n,), boxes (n, 4) y_min x_min y_max x_max in pixels, classes (n,))`` for NMS.

    Boxes are clustered so that many overlap; a box whose IoU with an earlier one
    lies within MARGIN of ``iou_threshold`` is dropped, so every suppression
    decision is clear-cut. Scores are distinct.
    """
    rng = np.random.default_rng(seed)
    height, width = image_shape
    centres = rng.uniform([0.1 * height, 0.1 * width], [0.9 * height, 0.9 * width], (max(2, n // 4), 2))
    kept: list[np.ndarray] = []
    while len(kept) < n:
        c = centres[rng.integers(len(centres))] + rng.normal(0, 0.04 * height, 2)
        h, w = rng.uniform(0.05, 0.25) * height, rng.uniform(0.03, 0.15) * width
        box = np.array([c[0] - h / 2, c[1] - w / 2, c[0] + h / 2, c[1] + w / 2])
        if kept and np.any(np.abs(pairwise_iou(box, kept)[0] - iou_threshold) < MARGIN):
            continue
        kept.append(box)
    scores = rng.permutation(np.linspace(0.3, 0.99, n)) + rng.uniform(0, 1e-3, n)
    classes = rng.integers(0, num_classes, n)
    return scores.astype(np.float32), np.array(kept, dtype=np.float32), classes.astype(np.int64)


DESIGN_JITTER = 0.01  # how far the seed moves a designed score or overlap
DESIGN_CLEARANCE = 0.04  # the least distance a designed value keeps from the probe's thresholds
LEADER_SCORES = (0.9, 0.96)  # the better box of a designed pair
FOLLOWER_SCORES = (0.82, 0.87)  # the other box of a designed pair
BACKGROUND_MAX = 0.2  # the largest score (and confidence) of a box that is not designed
LAYOUT = 3  # designed groups sit in distinct cells of a LAYOUT x LAYOUT division of the image


def designed_outputs(seed: int, shape, num_classes: int, isolated, overlaps):
    """``yolo_head``-like outputs ``(box_xy, box_wh, box_confidence, box_class_probs)`` with designed boxes.

    ``shape`` is the leading shape (e.g. ``(13, 13, 5)``); boxes are fractions of the image. Designed:

    - for each score in ``isolated``, one box overlapping no other designed box;
    - for each IoU in ``overlaps``, a pair of equal boxes shifted so that they overlap by that IoU, the
      leader scored within ``LEADER_SCORES`` and the follower within ``FOLLOWER_SCORES``;

    each score and overlap moved by the seed by at most ``DESIGN_JITTER``. Each group sits in its own
    cell of a ``LAYOUT`` x ``LAYOUT`` division of the image, in a random slot (cell and anchor) of
    ``shape``, with a random class whose probability is at least 0.97. Every other slot holds a random
    box with confidence, and so score, below ``BACKGROUND_MAX``.

    Returns ``(outputs, design)``: the four float32 arrays, and per designed box a dict with its
    ``group`` (``"isolated"``, ``"leader"`` or ``"follower"``), ``index`` (its position in
    ``isolated`` or ``overlaps``), ``score``, ``corners`` (y_min, x_min, y_max, x_max as fractions of
    the image) and ``slot``.
    """
    rng = np.random.default_rng(seed)
    shape = tuple(shape)
    groups = [("isolated", i, float(score)) for i, score in enumerate(isolated)]
    groups += [("pair", i, float(overlap)) for i, overlap in enumerate(overlaps)]
    if len(groups) > LAYOUT * LAYOUT:
        raise ValueError(f"at most {LAYOUT * LAYOUT} designed groups fit the layout, got {len(groups)}")
    size = int(np.prod(shape))
    if 2 * len(groups) > size:
        raise ValueError(f"a leading shape {shape} has too few slots for {len(groups)} designed groups")

    box_xy = rng.uniform(0, 1, (size, 2))
    box_wh = rng.uniform(0.02, 0.3, (size, 2))
    confidence = rng.uniform(0, BACKGROUND_MAX, (size, 1))
    logits = rng.normal(0.0, 2.5, (size, num_classes))
    probs = np.exp(logits - logits.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)

    cells = rng.permutation(LAYOUT * LAYOUT)[:len(groups)]
    slots = iter(rng.permutation(size))
    design = []

    def place(group: str, index: int, score: float, corners) -> None:
        slot = int(next(slots))
        y_min, x_min, y_max, x_max = corners
        box_xy[slot] = [(x_min + x_max) / 2, (y_min + y_max) / 2]
        box_wh[slot] = [x_max - x_min, y_max - y_min]
        best = rng.integers(num_classes)
        top = rng.uniform(0.97, 0.995) if num_classes > 1 else 1.0
        rest = rng.dirichlet(np.ones(num_classes - 1)) * (1 - top) if num_classes > 1 else np.zeros(0)
        probs[slot] = np.insert(rest, best, top)
        confidence[slot] = score / top
        design.append({"group": group, "index": index, "score": score, "corners": tuple(corners), "slot": slot})

    for (kind, index, value), cell in zip(groups, cells):
        row, column = divmod(int(cell), LAYOUT)
        side = 1.0 / LAYOUT
        width, height = rng.uniform(0.25, 0.45, 2) * side
        if kind == "isolated":
            top_left = rng.uniform(0.05, 0.95 - np.array([height / side, width / side])) * side
            y, x = row * side + top_left[0], column * side + top_left[1]
            place("isolated", index, value + rng.uniform(-DESIGN_JITTER, DESIGN_JITTER), (y, x, y + height, x + width))
            continue
        overlap = value + rng.uniform(-DESIGN_JITTER, DESIGN_JITTER)
        along_x = bool(rng.integers(2))
        length = width if along_x else height
        shift = length * (1 - overlap) / (1 + overlap)  # equal boxes: IoU = (length - shift) / (length + shift)
        extent = np.array([height + (0 if along_x else shift), width + (shift if along_x else 0)])
        top_left = rng.uniform(0.05, 0.95 - extent / side) * side
        y, x = row * side + top_left[0], column * side + top_left[1]
        dy, dx = (0.0, shift) if along_x else (shift, 0.0)
        place("leader", index, rng.uniform(*LEADER_SCORES), (y, x, y + height, x + width))
        place("follower", index, rng.uniform(*FOLLOWER_SCORES), (y + dy, x + dx, y + dy + height, x + dx + width))

    outputs = (box_xy.reshape(shape + (2,)), box_wh.reshape(shape + (2,)), confidence.reshape(shape + (1,)),
               probs.reshape(shape + (num_classes,)))
    return tuple(v.astype(np.float32) for v in outputs), design


def check_design_clears(isolated, overlaps, score_threshold: float, iou_threshold: float) -> None:
    """Raise ``ValueError`` unless every designed value keeps ``DESIGN_CLEARANCE`` from the thresholds
    after the seed's jitter, and pairs and background lie on their side of ``score_threshold``."""
    margin = DESIGN_CLEARANCE + DESIGN_JITTER
    problems = [f"score {s:g} lies within {margin:g} of score_threshold={score_threshold:g}"
                for s in isolated if abs(s - score_threshold) < margin]
    problems += [f"overlap {o:g} lies within {margin:g} of iou_threshold={iou_threshold:g}"
                 for o in overlaps if abs(o - iou_threshold) < margin]
    if overlaps and FOLLOWER_SCORES[0] - score_threshold < DESIGN_CLEARANCE:
        problems.append(f"pairs score at least {FOLLOWER_SCORES[0]:g}: score_threshold={score_threshold:g} "
                        "must lie below that")
    if score_threshold - BACKGROUND_MAX < DESIGN_CLEARANCE:
        problems.append(f"background boxes score up to {BACKGROUND_MAX:g}: score_threshold={score_threshold:g} "
                        "must lie above that")
    if problems:
        raise ValueError("designed yolo_eval inputs too close to a threshold: " + "; ".join(problems))


# ---------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------
def _kind(value) -> str:
    dtype = np.asarray(value).dtype
    return "float" if np.issubdtype(dtype, np.floating) else "int" if np.issubdtype(dtype, np.integer) else str(dtype)


def detections(result, what: str) -> dict:
    """A function's ``(scores, boxes, classes)`` as a dict of NumPy arrays sorted by score, with their kinds."""
    if not isinstance(result, (tuple, list)) or len(result) != 3:
        raise ProbeError(f"{what} must return a tuple (scores, boxes, classes); it returned "
                         f"{type(result).__name__}.")
    try:
        scores, boxes, classes = (np.asarray(v) for v in result)
    except (TypeError, ValueError) as error:
        raise ProbeError(f"{what} returned something that is not an array: {error}")
    kinds = [_kind(scores), _kind(boxes), _kind(classes)]
    shapes = [list(scores.shape), list(boxes.shape), list(classes.shape)]
    n = scores.reshape(-1).shape[0]
    if boxes.size != 4 * n or classes.size != n:
        raise ProbeError(f"{what} returned {n} scores, boxes of shape {tuple(boxes.shape)} and {classes.size} "
                         f"classes: they must describe the same {n} boxes.", hint=UNMATCHED_HINT)
    boxes = boxes.reshape(n, 4).astype(np.float64)
    order = np.lexsort((*boxes.T[::-1], -scores.reshape(-1)))
    return {"kinds": kinds, "shapes": shapes, "scores": scores.reshape(-1)[order].astype(np.float64),
            "boxes": boxes[order], "classes": classes.reshape(-1)[order].astype(np.int64)}


def detection_set(result, what: str):
    """``(scores, boxes, classes)`` as NumPy arrays, for a set comparison (``Boxes``)."""
    found = detections(result, what)
    return found["scores"], found["boxes"], found["classes"]


# ---------------------------------------------------------------------------
# Probe runners
# ---------------------------------------------------------------------------
def filter_boxes(fn, *, seed: int, shape, num_classes: int, threshold: float, kind: str = "classic") -> dict:
    """Probe: ``yolo_filter_boxes`` on seeded tensors; the kept scores, boxes and classes with their kinds."""
    import tensorflow as tf

    boxes, confidence, probs = random_filter_inputs(seed, shape, num_classes, threshold, kind)
    result = fn(tf.constant(boxes), tf.constant(confidence), tf.constant(probs), threshold=threshold)
    return detections(result, "yolo_filter_boxes")


def iou_cases(fn, *, cases) -> list[float]:
    """Probe: ``iou(box1, box2)`` for each pair of (x1, y1, x2, y2) corners."""
    values = []
    for box1, box2 in cases:
        value = fn(tuple(float(v) for v in box1), tuple(float(v) for v in box2))
        try:
            values.append(float(np.asarray(value)))
        except (TypeError, ValueError):
            raise ProbeError(f"iou must return one number; for {tuple(box1)} and {tuple(box2)} it returned "
                             f"{type(value).__name__}.")
    return values


def nms_case(fn, *, scores, boxes, classes, max_boxes: int = 10, iou_threshold: float = 0.5):
    """Probe: ``yolo_non_max_suppression`` on given detections; the kept ones as a set."""
    import tensorflow as tf

    result = fn(tf.constant(scores, tf.float32), tf.constant(boxes, tf.float32), tf.constant(classes, tf.int64),
                max_boxes=max_boxes, iou_threshold=iou_threshold)
    return detection_set(result, "yolo_non_max_suppression")


def nms_random(fn, *, seed: int, n: int, num_classes: int, max_boxes: int = 10, iou_threshold: float = 0.5):
    """Probe: ``yolo_non_max_suppression`` on seeded clustered detections; the kept ones as a set."""
    scores, boxes, classes = random_detections(seed, n, num_classes, iou_threshold)
    return nms_case(fn, scores=scores, boxes=boxes, classes=classes, max_boxes=max_boxes,
                    iou_threshold=iou_threshold)


def eval_random(fn, *, seed: int, shape, num_classes: int, image_shape=(720, 1280), max_boxes: int = 10,
                score_threshold: float = 0.6, iou_threshold: float = 0.5):
    """Probe: ``yolo_eval`` on seeded head outputs (normal(1, 4) as in the classic test, sizes made positive);
    detections as a set."""
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    shape = tuple(shape)
    box_xy = rng.normal(1.0, 4.0, shape + (2,)).astype(np.float32)
    box_wh = np.abs(rng.normal(1.0, 4.0, shape + (2,))).astype(np.float32)  # sizes are positive
    confidence = rng.normal(1.0, 4.0, shape + (1,))
    probs = rng.normal(1.0, 4.0, shape + (num_classes,))
    confidence = _keep_off_threshold(confidence, probs, score_threshold)
    outputs = tuple(tf.constant(v) for v in (box_xy, box_wh, confidence, probs.astype(np.float32)))
    result = fn(outputs, image_shape=tuple(image_shape), max_boxes=max_boxes, score_threshold=score_threshold,
                iou_threshold=iou_threshold)
    return detection_set(result, "yolo_eval")


def eval_designed(fn, *, seed: int, shape, num_classes: int, isolated, overlaps, image_shape=(720, 1280),
                  max_boxes: int = 10, score_threshold: float = 0.6, iou_threshold: float = 0.5):
    """Probe: ``yolo_eval`` on designed outputs (:func:`designed_outputs`) whose kept set depends on both
    thresholds; detections as a set."""
    import tensorflow as tf

    check_design_clears(isolated, overlaps, score_threshold, iou_threshold)
    outputs, _ = designed_outputs(seed, shape, num_classes, isolated, overlaps)
    result = fn(tuple(tf.constant(v) for v in outputs), image_shape=tuple(image_shape), max_boxes=max_boxes,
                score_threshold=score_threshold, iou_threshold=iou_threshold)
    return detection_set(result, "yolo_eval")


@lru_cache(maxsize=2)
def frame_outputs(frame: str):
    """The detector's decoded outputs ``yolo_head(model(frame))`` for a committed test frame."""
    _, image_data = preprocess_image(data.verified_path(f"{DATA}/frames/{frame}"), MODEL_IMAGE_SIZE)
    raw = detector()(image_data, training=False)
    return tuple(t.numpy() for t in yolo_head(raw, course_anchors(), len(course_classes())))


def eval_frame(fn, *, frame: str, image_shape=(720, 1280), max_boxes: int = 10, score_threshold: float = 0.6,
               iou_threshold: float = 0.5):
    """Probe: ``yolo_eval`` on the shipped detector's output for a committed frame; detections as a set."""
    import tensorflow as tf

    outputs = tuple(tf.constant(v) for v in frame_outputs(frame))
    result = fn(outputs, image_shape=tuple(image_shape), max_boxes=max_boxes, score_threshold=score_threshold,
                iou_threshold=iou_threshold)
    return detection_set(result, "yolo_eval")


# ---------------------------------------------------------------------------
# Notebook helpers
# ---------------------------------------------------------------------------
@lru_cache(maxsize=1)
def detector():
    """The shipped detector, loaded once per kernel."""
    return load_detector()


def show_image(image, title: str | None = None, width: int = 960, quality: int = SHOWN_JPEG_QUALITY):
    """Show a PIL image (or a uint8 array) in the notebook, scaled to ``width`` pixels.

    The picture goes straight to the notebook (no Matplotlib figure), which keeps
    cells that show many frames fast, as one JPEG output: displaying the PIL
    image itself would store it twice, as PNG and JPEG.
    """
    from IPython.display import Image as Picture
    from IPython.display import display
    from PIL import Image

    picture = image if isinstance(image, Image.Image) else Image.fromarray(np.asarray(image, dtype=np.uint8))
    if picture.width > width:
        picture = picture.resize((width, round(picture.height * width / picture.width)), Image.Resampling.BILINEAR)
    encoded = io.BytesIO()
    picture.convert("RGB").save(encoded, format="JPEG", quality=quality)
    if title:
        print(title)
    display(Picture(data=encoded.getvalue(), format="jpeg"))


def show_grid(image_path, grid: int = GRID, model_image_size=MODEL_IMAGE_SIZE):
    """Show the detector's input with its S x S grid of cells drawn over it."""
    import matplotlib.pyplot as plt

    _, image_data = preprocess_image(image_path, model_image_size)
    figure, axis = plt.subplots(figsize=(6, 6))
    axis.imshow(image_data[0])
    height, width = model_image_size
    for k in range(1, grid):
        axis.axhline(k * height / grid, color="white", linewidth=0.5, alpha=0.7)
        axis.axvline(k * width / grid, color="white", linewidth=0.5, alpha=0.7)
    axis.set_title(f"The detector's {height} x {width} input and its {grid} x {grid} grid")
    axis.axis("off")
    plt.show()


def show_anchors(anchors, grid: int = GRID, model_image_size=MODEL_IMAGE_SIZE):
    """Draw the anchor boxes (width, height in grid cells) centred in the detector's input."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    height, width = model_image_size
    figure, axis = plt.subplots(figsize=(5, 5))
    colors = get_colors_for_classes(len(anchors))
    for k, (w, h) in enumerate(np.asarray(anchors)):
        pw, ph = w * width / grid, h * height / grid
        axis.add_patch(Rectangle((width / 2 - pw / 2, height / 2 - ph / 2), pw, ph, fill=False,
                                 edgecolor=np.array(colors[k]) / 255, linewidth=2,
                                 label=f"anchor {k}: {w:.2f} x {h:.2f} cells"))
    axis.set_xlim(0, width)
    axis.set_ylim(height, 0)
    axis.set_aspect("equal")
    axis.legend(fontsize=8, loc="upper right")
    axis.set_title("Anchor boxes (in the detector's input pixels)")
    plt.show()
