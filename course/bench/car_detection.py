"""Detector quality, an honest baseline and inference time for assignment 03 (car detection).

Usage: python benchmarks/assignment.py 03 [--frames 200] [--weights PATH]

1. Renders ``--frames`` held-out 720 x 1280 street scenes (stream ``--seed``,
   never used in training) and runs the reference pipeline on each: the
   detector, ``yolo_head`` and the solution's ``yolo_eval`` (score threshold
   0.05, up to 30 boxes, class-agnostic NMS at IoU 0.5).
2. Prints the average precision per class at IoU 0.5 (all-point interpolated,
   as in PASCAL VOC) and their mean, against the bars: mAP >= 0.70 and car AP >= 0.85.
3. Scores a baseline that does not look at the picture on the same frames: for
   each class, the 12 most frequent positions and sizes of that class's boxes in
   the training stream (k-means on (x, y, w, h)), scored by how often they occur.
4. Times the whole pipeline on the committed test frames (open the JPEG,
   resize, network, yolo_head, yolo_eval) and reports the median against 0.5 s.

Exits 1 when a bar is missed.
"""

from __future__ import annotations

import argparse
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np

from course import inprocess, spec
from course.benchmarking import print_checks, table
from course.synth.roads import CLASSES, FRAME, render_scene, sample_scene, scene_rng
from utils import car_detection_yolo as yolo
from utils import data

ASSIGNMENT = "03_car_detection"

HELD_OUT_SEED = 2000
BASELINE_PROTOTYPES = 12
MAP_BAR, CAR_BAR, SECONDS_BAR = 0.70, 0.85, 0.5


def _render_full(index_seed):
    seed, index = index_seed
    image, boxes, classes = render_scene(scene_rng(seed, index))
    return yolo.prepare_frame(image)[0], boxes, classes


def average_precision(detections, truths, num_classes: int, iou_threshold: float = 0.5) -> list[float]:
    """AP per class. ``detections[i] = (scores, boxes x0 y0 x1 y1, classes)``, ``truths[i] = (boxes, classes)``."""
    aps = []
    for c in range(num_classes):
        scored = [(s, i, b) for i, (scores, boxes, classes) in enumerate(detections)
                  for s, b, k in zip(scores, boxes, classes) if k == c]
        scored.sort(key=lambda item: -item[0])
        gt = {i: boxes[classes == c] for i, (boxes, classes) in enumerate(truths)}
        used = {i: np.zeros(len(g), bool) for i, g in gt.items()}
        total = sum(len(g) for g in gt.values())
        if total == 0:
            aps.append(float("nan"))
            continue
        tp = np.zeros(len(scored))
        for k, (_, i, box) in enumerate(scored):
            if len(gt[i]):
                overlaps = yolo.pairwise_iou(box, gt[i])[0]
                best = int(np.argmax(overlaps))
                if overlaps[best] >= iou_threshold and not used[i][best]:
                    used[i][best] = True
                    tp[k] = 1
        recall = np.cumsum(tp) / total
        precision = np.cumsum(tp) / np.arange(1, len(tp) + 1)
        # All-point interpolation: the area under the precision envelope.
        r = np.concatenate([[0.0], recall, [1.0]])
        p = np.concatenate([[0.0], precision, [0.0]])
        p = np.maximum.accumulate(p[::-1])[::-1]
        steps = np.where(r[1:] != r[:-1])[0]
        aps.append(float(np.sum((r[steps + 1] - r[steps]) * p[steps + 1])))
    return aps


def baseline_prototypes(frames: int = 3000, seed: int = 1000) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Per class, the most frequent (x0, y0, x1, y1) boxes of the training stream and their frequencies."""
    from course.weights.car_detection import kmeans_boxes

    boxes, classes = [], []
    for i in range(frames):
        scene = sample_scene(scene_rng(seed, i))
        boxes += [t.box for t in scene.things]
        classes += [CLASSES.index(t.label) for t in scene.things]
    boxes, classes = np.array(boxes, float), np.array(classes)
    prototypes = {}
    for c in range(len(CLASSES)):
        mine = boxes[classes == c]
        centres, counts = kmeans_boxes(mine, BASELINE_PROTOTYPES)
        prototypes[c] = (centres, counts / frames)
    return prototypes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks/assignment.py 03", description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--seed", type=int, default=HELD_OUT_SEED)
    parser.add_argument("--weights", type=Path, default=None, help="weights file (default: the shipped one)")
    parser.add_argument("--anchors", type=Path, default=None, help="anchors file (default: the shipped one)")
    args = parser.parse_args(argv)
    import tensorflow as tf

    reference = inprocess.solution_namespace(spec.load(ASSIGNMENT))
    yolo_eval = reference["yolo_eval"]
    anchors = yolo.read_anchors(args.anchors) if args.anchors else yolo.course_anchors()
    model = yolo.tiny_yolo_body(len(anchors), len(CLASSES))
    model.load_weights(args.weights or data.verified_path(yolo.WEIGHTS_FILE))
    infer = tf.function(lambda x: model(x, training=False))

    started = time.perf_counter()
    with Pool(2) as pool:
        rendered = pool.map(_render_full, [(args.seed, i) for i in range(args.frames)], chunksize=8)
    print(f"rendered {args.frames} held-out frames (seed {args.seed}) in {time.perf_counter() - started:.0f} s")

    def detect(image_data):
        outputs = yolo.yolo_head(infer(tf.constant(image_data[None])), anchors, len(CLASSES))
        scores, boxes, classes = yolo_eval(outputs, image_shape=FRAME, max_boxes=30, score_threshold=0.05,
                                           iou_threshold=0.5)
        boxes = boxes.numpy()[:, [1, 0, 3, 2]]  # (y0, x0, y1, x1) -> (x0, y0, x1, y1)
        return scores.numpy(), boxes, classes.numpy()

    detections = [detect(image) for image, _, _ in rendered]
    truths = [(boxes, classes) for _, boxes, classes in rendered]
    aps = average_precision(detections, truths, len(CLASSES))

    prototypes = baseline_prototypes()
    fixed = (np.concatenate([prototypes[c][1] for c in prototypes]),
             np.concatenate([prototypes[c][0] for c in prototypes]),
             np.concatenate([np.full(len(prototypes[c][0]), c) for c in prototypes]))
    base_aps = average_precision([fixed] * len(truths), truths, len(CLASSES))

    counts = np.bincount(np.concatenate([c for _, c in truths]), minlength=len(CLASSES))
    rows = [[name, int(counts[c]), f"{aps[c]:.3f}", f"{base_aps[c]:.3f}"] for c, name in enumerate(CLASSES)]
    mean, base_mean = float(np.nanmean(aps)), float(np.nanmean(base_aps))
    rows.append(["mean (mAP@0.5)", int(counts.sum()), f"{mean:.3f}", f"{base_mean:.3f}"])
    print(f"\nAverage precision at IoU 0.5 on {args.frames} held-out frames")
    print(table(["class", "objects", "detector AP", "baseline AP"], rows))

    times = []
    frames = yolo.test_frames()
    for repeat in range(4):
        for path in frames:
            t0 = time.perf_counter()
            image, image_data = yolo.preprocess_image(path)
            outputs = yolo.yolo_head(infer(tf.constant(image_data)), anchors, len(CLASSES))
            result = yolo_eval(outputs, image_shape=(image.size[1], image.size[0]), score_threshold=0.5)
            [r.numpy() for r in result]
            if repeat:  # the first pass compiles the graph
                times.append(time.perf_counter() - t0)
    seconds = float(np.median(times))

    checks = [("mAP@0.5", mean, f">= {MAP_BAR}", mean >= MAP_BAR),
              ("car AP", aps[0], f">= {CAR_BAR}", aps[0] >= CAR_BAR),
              ("baseline mAP", base_mean, "far below the detector", base_mean <= mean / 3),
              ("seconds per 720x1280 frame (median)", seconds, f"<= {SECONDS_BAR}", seconds <= SECONDS_BAR)]
    return print_checks(checks)


if __name__ == "__main__":
    raise SystemExit(main())
