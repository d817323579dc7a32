"""Assignment 03's detector, trained from scratch (``course weights 03``).

The network slot of ``03_car_detection`` (see :mod:`course.weights`):
:func:`build` calls :func:`train` with the defaults below and writes into
``datasets/car_detection/``.

1. Render ``frames`` street scenes at the detector's input size with
   ``course.synth.roads`` (stream ``seed``; frame i is ``scene_rng(seed, i)``).
2. Pick the anchors by k-means on the boxes' (width, height) with 1 - IoU as
   the distance (YOLOv2), and write them with the class names.
3. Train :func:`utils.car_detection_yolo.tiny_yolo_body` with the YOLO loss below, then save
   the weights of the uncompiled model (no optimizer state).

Everything is seeded: the same seed gives the same weight files on the same
machine; on another CPU the weights differ in the last digits (summation
order), not in quality. ``docs/model_cards/03_car_detection.md`` records the
command, the time and the measured mAP.
"""

from __future__ import annotations

import json
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np

from course.synth.roads import CLASSES, FRAME, render_scene, scene_rng
from utils import car_detection_yolo as yolo

ASSIGNMENT = "03_car_detection"
SEED = 1000  # the training stream's seed
CARD = "docs/model_cards/03_car_detection.md"
# The training run behind the shipped weights (about 45 minutes on 2 cores).
FRAMES, EPOCHS, BATCH = 9000, 7, 32
MAX_BOXES = 24  # ground-truth boxes kept per frame for the loss's "ignore" test
# Loss weights: box coordinates, objectness of cells with an object, of cells
# without one, and the class.
COORD, OBJECT, NO_OBJECT, CLASS = 1.0, 5.0, 1.0, 1.0
# A prediction overlapping a real box this much is not pushed towards "no object".
IGNORE_IOU = 0.6


def _render(args):
    seed, index, size = args
    image, boxes, classes = render_scene(scene_rng(seed, index), size=size)
    return image, boxes, classes


def render_frames(seed: int, count: int, size=yolo.MODEL_IMAGE_SIZE, processes: int = 2):
    """Frames ``(count, h, w, 3)`` uint8 and their boxes as fractions ``[(n, 4) x0 y0 x1 y1], [(n,) classes]``."""
    jobs = [(seed, i, tuple(size)) for i in range(count)]
    if processes > 1:
        with Pool(processes) as pool:
            results = pool.map(_render, jobs, chunksize=64)
    else:
        results = [_render(job) for job in jobs]
    images = np.stack([r[0] for r in results])
    scale = np.array([FRAME[1], FRAME[0], FRAME[1], FRAME[0]], dtype=np.float32)
    boxes = [r[1] / scale for r in results]
    classes = [r[2] for r in results]
    return images, boxes, classes


def shape_iou(wh: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """IoU ``(n, k)`` of box shapes ``(n, 2)`` with anchor shapes ``(k, 2)``, as if they shared a centre."""
    inter = np.minimum(wh[:, None, 0], anchors[None, :, 0]) * np.minimum(wh[:, None, 1], anchors[None, :, 1])
    return inter / (wh[:, None, 0] * wh[:, None, 1] + anchors[None, :, 0] * anchors[None, :, 1] - inter)


def _kmeans(points: np.ndarray, k: int, distance, centre, seed: int, iterations: int):
    """Lloyd's k-means with a given ``distance(points, centres) -> (n, k)`` and ``centre(group)``.

    Returns ``(centres (k, d), index of each point's nearest centre)``.
    """
    rng = np.random.default_rng(seed)
    centres = points[rng.choice(len(points), k, replace=False)]
    for _ in range(iterations):
        nearest = distance(points, centres).argmin(axis=1)
        new = np.array([centre(points[nearest == j]) if np.any(nearest == j) else centres[j] for j in range(k)])
        if np.allclose(new, centres):
            break
        centres = new
    return centres, nearest


def kmeans_anchors(wh: np.ndarray, k: int = 5, seed: int = 0, iterations: int = 100) -> np.ndarray:
    """YOLOv2's anchor clustering: k-means on (w, h) with distance 1 - IoU (boxes share a centre), medians
    as centres; sorted by area."""
    centres, _ = _kmeans(wh, k, lambda p, c: -shape_iou(p, c), lambda group: np.median(group, axis=0),
                         seed, iterations)
    return centres[np.argsort(centres[:, 0] * centres[:, 1])]


def kmeans_boxes(boxes: np.ndarray, k: int, seed: int = 0, iterations: int = 50):
    """Plain k-means on (x0, y0, x1, y1) rows: ``(centres (k, 4), counts (k,))``, most frequent first."""
    k = min(k, len(boxes))
    centres, nearest = _kmeans(boxes, k, lambda p, c: ((p[:, None, :] - c[None]) ** 2).sum(-1),
                               lambda group: group.mean(0), seed, iterations)
    counts = np.bincount(nearest, minlength=k)
    order = np.argsort(-counts, kind="stable")
    return centres[order], counts[order]


def encode_targets(boxes, classes, anchors: np.ndarray, grid: int = yolo.GRID):
    """YOLOv2 targets ``(m, S, S, A, 6)``: (x offset, y offset, log w/anchor, log h/anchor, object, class).

    Each box goes to the cell holding its centre and to the anchor whose shape
    overlaps it most; a later box in the same slot replaces an earlier one.
    Also returns the boxes padded to ``(m, MAX_BOXES, 4)`` as (x, y, w, h) fractions.
    """
    m, a = len(boxes), len(anchors)
    targets = np.zeros((m, grid, grid, a, 6), dtype=np.float32)
    padded = np.zeros((m, MAX_BOXES, 4), dtype=np.float32)
    for i, (frame_boxes, frame_classes) in enumerate(zip(boxes, classes)):
        for j, ((x0, y0, x1, y1), c) in enumerate(zip(frame_boxes, frame_classes)):
            cx, cy, w, h = (x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0
            if j < MAX_BOXES:
                padded[i, j] = (cx, cy, w, h)
            gw, gh = w * grid, h * grid
            best = int(np.argmax(shape_iou(np.array([[gw, gh]]), anchors)[0]))
            col, row = min(int(cx * grid), grid - 1), min(int(cy * grid), grid - 1)
            targets[i, row, col, best] = (cx * grid - col, cy * grid - row, np.log(gw / anchors[best, 0]),
                                          np.log(gh / anchors[best, 1]), 1.0, c)
    return targets, padded


def yolo_loss(raw, targets, true_boxes, anchors, num_classes: int):
    """The YOLOv2 loss, summed over cells and anchors, averaged over the batch."""
    import tensorflow as tf

    a = len(anchors)
    shape = tf.shape(raw)
    feats = tf.reshape(raw, [shape[0], yolo.GRID, yolo.GRID, a, 5 + num_classes])
    box_xy, box_wh, _, _ = yolo.yolo_head(feats, anchors, num_classes)
    obj = targets[..., 4]
    # Predicted boxes that already overlap some real box are not punished as background.
    pred_min, pred_max = box_xy - box_wh / 2, box_xy + box_wh / 2
    true = true_boxes[:, None, None, None, :, :]  # (m, 1, 1, 1, B, 4)
    true_min, true_max = true[..., :2] - true[..., 2:] / 2, true[..., :2] + true[..., 2:] / 2
    inter_wh = tf.maximum(tf.minimum(pred_max[..., None, :], true_max) - tf.maximum(pred_min[..., None, :], true_min),
                          0.0)
    inter = inter_wh[..., 0] * inter_wh[..., 1]
    union = (box_wh[..., 0] * box_wh[..., 1])[..., None] + true[..., 2] * true[..., 3] - inter
    best_iou = tf.reduce_max(inter / tf.maximum(union, 1e-9), axis=-1)
    background = (1.0 - obj) * tf.cast(best_iou < IGNORE_IOU, tf.float32)

    area = tf.exp(targets[..., 2]) * anchors[:, 0] * tf.exp(targets[..., 3]) * anchors[:, 1] / yolo.GRID ** 2
    coord_weight = obj * (2.0 - area)
    xy_loss = tf.reduce_sum(tf.square(tf.sigmoid(feats[..., :2]) - targets[..., :2]), axis=-1)
    wh_loss = tf.reduce_sum(tf.square(feats[..., 2:4] - targets[..., 2:4]), axis=-1)
    bce = tf.nn.sigmoid_cross_entropy_with_logits
    conf = feats[..., 4]
    object_loss = obj * bce(tf.ones_like(conf), conf)
    background_loss = background * bce(tf.zeros_like(conf), conf)
    class_loss = obj * tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=tf.cast(targets[..., 5], tf.int32), logits=feats[..., 5:])
    total = (COORD * coord_weight * (xy_loss + wh_loss) + OBJECT * object_loss
             + NO_OBJECT * background_loss + CLASS * class_loss)
    return tf.reduce_sum(total) / tf.cast(shape[0], tf.float32)


def train(frames: int, epochs: int, batch: int, seed: int, out_dir: Path, learning_rate: float = 2e-3,
          log=print, checkpoint: bool = False) -> tuple[dict, list[Path]]:
    """Train from scratch; write the weights, classes, anchors and a summary to ``out_dir``.

    Returns ``(summary, the written files)``.
    """
    import tensorflow as tf
    from tensorflow import keras

    started = time.perf_counter()
    images, boxes, classes = render_frames(seed, frames)
    log(f"rendered {frames} frames in {time.perf_counter() - started:.0f} s")
    wh = np.concatenate([b[:, 2:] - b[:, :2] for b in boxes]) * yolo.GRID
    anchors = kmeans_anchors(wh.astype(np.float64)).astype(np.float32)
    targets, true_boxes = encode_targets(boxes, classes, anchors)

    keras.utils.set_random_seed(seed)
    model = yolo.tiny_yolo_body(len(anchors), len(CLASSES))
    steps = epochs * (frames // batch)
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=steps, alpha=0.02,
                                                      warmup_target=None)
    optimizer = keras.optimizers.Adam(learning_rate=schedule)
    anchors_t = tf.constant(anchors)

    @tf.function
    def step(x, y, t):
        with tf.GradientTape() as tape:
            raw = model(tf.cast(x, tf.float32) / 255.0, training=True)
            loss = yolo_loss(raw, y, t, anchors_t, len(CLASSES))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    order_rng = np.random.default_rng(seed)
    for epoch in range(epochs):
        order = order_rng.permutation(frames)
        losses = []
        for s in range(frames // batch):
            idx = np.sort(order[s * batch:(s + 1) * batch])
            losses.append(float(step(images[idx], targets[idx], true_boxes[idx])))
        log(f"epoch {epoch + 1}/{epochs}: loss {np.mean(losses):.3f} "
            f"({time.perf_counter() - started:.0f} s)")
        if checkpoint:
            out_dir.mkdir(parents=True, exist_ok=True)
            model.save_weights(out_dir / "checkpoint.weights.h5")
    seconds = time.perf_counter() - started

    out_dir.mkdir(parents=True, exist_ok=True)
    written = [out_dir / Path(name).name for name in (yolo.WEIGHTS_FILE, yolo.CLASSES_FILE, yolo.ANCHORS_FILE)]
    written.append(out_dir / "training.json")
    model.save_weights(written[0])
    written[1].write_text("\n".join(CLASSES) + "\n")
    written[2].write_text(", ".join(f"{w:.5f},{h:.5f}" for w, h in anchors) + "\n")
    summary = {"frames": frames, "epochs": epochs, "batch": batch, "seed": seed,
               "learning_rate": learning_rate, "train_seconds": round(seconds),
               "parameters": int(model.count_params()), "anchors": anchors.round(5).tolist()}
    written[3].write_text(json.dumps(summary, indent=1) + "\n")
    return summary, written


def build(out: Path, seed: int = SEED, log=print) -> list[Path]:
    """Train the shipped detector (:data:`FRAMES` frames, :data:`EPOCHS` epochs) into ``out/car_detection/``.

    Returns the written files: weights, class names, anchors and the training summary.
    """
    _, written = train(FRAMES, EPOCHS, BATCH, seed, Path(out) / yolo.DATA, log=log)
    return written
