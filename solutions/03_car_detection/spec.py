"""Assignment 03, Car detection with YOLO: score filtering, IoU, non-max suppression and yolo_eval.

Read by the course's tools only (``course.spec``); students never see it.
"""

from course.spec import Assignment, Mistake, Probe, TestCell
from utils.car_detection import UNMATCHED_HINT
from utils.checking.compare import Boxes, Close, Exact, Fields

RUN = "utils.car_detection"
# Filtering only multiplies and selects, so a correct answer reproduces the reference to the last
# digit or two whatever the kernel; the known mistakes change which boxes are kept.
FILTERED = Fields({"kinds": Exact(), "shapes": Exact(), "scores": Close(rtol=1e-6, atol=1e-6),
                   "boxes": Close(rtol=1e-6, atol=1e-6), "classes": Exact()})
# IoU values worked out by hand; float32 arithmetic is within 1e-7 of them.
IOU = Close(rtol=1e-6, atol=1e-7)
# Detections as a set: same class, IoU >= 0.99 and score within 1e-4 (kernels move the detector's
# scores by about 1e-6; docs/tolerances.md).
SET = Boxes(min_iou=0.99, score_atol=1e-4)

# (x1, y1, x2, y2) pairs and their IoU, worked out by hand.
IOU_PUBLIC = [
    [[2, 1, 4, 3], [1, 2, 3, 4]],  # overlap 1 x 1, areas 4 and 4: 1 / (4 + 4 - 1) = 1/7
    [[1, 2, 3, 4], [5, 6, 7, 8]],  # disjoint in x and in y: 0
    [[0, 0, 1, 4], [2, 1, 3, 3]],  # disjoint in x, overlapping in y: 0
    [[1, 1, 2, 2], [2, 1, 3, 2]],  # touching along the edge x = 2: 0
    [[1, 1, 3, 3], [3, 3, 4, 4]],  # touching at the vertex (3, 3): 0
]
IOU_PUBLIC_EXPECTED = [1 / 7, 0.0, 0.0, 0.0, 0.0]
IOU_HIDDEN = [
    [[0, 0, 4, 4], [1, 1, 2, 3]],  # containment: 1 x 2 inside 4 x 4: 2 / 16
    [[1, 1, 3, 4], [1, 1, 3, 4]],  # identical: 1
    [[0, 0, 2, 2], [1, 0, 3, 2]],  # half overlap: 2 / (4 + 4 - 2) = 1/3
    [[0.5, 0.5, 1.5, 2.5], [1, 1, 2, 2]],  # 0.5 x 1 overlap, areas 2 and 1: 0.5 / 2.5
    [[3, 3, 4, 4], [1, 1, 3, 3]],  # the vertex case, boxes swapped: 0
    [[4, 5, 6, 8], [0, 0, 3, 2]],  # apart in x (by 1) and in y (by 3): 0 (the sides' product is +3)
]
IOU_HIDDEN_EXPECTED = [0.125, 1.0, 1 / 3, 0.2, 0.0, 0.0]

# Hand-built suppression case, boxes (y_min, x_min, y_max, x_max):
#   0 car 0.9, 1 bus 0.8 overlapping 0 (IoU 9025/10975 = 0.82): dropped even though its class differs;
#   2 car 0.7 beside 0 (IoU 2000/18000 = 0.11): kept; 3 pedestrian 0.6 under 4 pedestrian 0.95
#   (IoU 4800/5384 = 0.89): dropped; 5 truck 0.65 (IoU 0.14 with 0, 0.21 with 2): kept.
NMS_CASE = {"scores": [0.9, 0.8, 0.7, 0.6, 0.95, 0.65],
            "boxes": [[100, 100, 200, 200], [105, 105, 205, 205], [100, 180, 200, 280],
                      [300, 300, 400, 350], [302, 298, 398, 352], [150, 150, 250, 250]],
            "classes": [0, 1, 0, 3, 3, 2]}
NMS_CASE_EXPECTED = [[0.95, 0.9, 0.7, 0.65],
                     [[302, 298, 398, 352], [100, 100, 200, 200], [100, 180, 200, 280], [150, 150, 250, 250]],
                     [3, 0, 0, 2]]
# Six disjoint boxes: max_boxes=3 keeps the three best.
DISJOINT = {"scores": [0.5, 0.9, 0.7, 0.8, 0.6, 0.95],
            "boxes": [[0, 0, 10, 10], [0, 20, 10, 30], [0, 40, 10, 50], [20, 0, 30, 10], [20, 20, 30, 30],
                      [20, 40, 30, 50]],
            "classes": [0, 1, 2, 3, 4, 5]}
DISJOINT_EXPECTED = [[0.95, 0.9, 0.8], [[20, 40, 30, 50], [0, 20, 10, 30], [20, 0, 30, 10]], [5, 1, 3]]

# Designed yolo_eval inputs (utils.car_detection.designed_outputs): single boxes with the given scores and
# pairs of boxes overlapping by the given IoUs (their scores above 0.82), each within 0.01 of its value
# whatever the seed. Every value lies at least 0.05 from the probe's thresholds and from yolo_eval's
# defaults (0.6 and 0.5), so ignoring a threshold or swapping the two changes the kept set on every seed:
#   score probe (score_threshold=0.3, iou_threshold=0.5): 0.55 is dropped at 0.6 (score_threshold ignored);
#     swapped (filter at 0.5, suppress at 0.3), 0.4 is dropped and so is the pair overlapping by 0.4;
#   IoU probe (score_threshold=0.6, iou_threshold=0.75): the pair overlapping by 0.68 loses a box at 0.5
#     (iou_threshold ignored); swapped (filter at 0.75, suppress at 0.6), 0.68 and that box are dropped;
#   hidden, the other way round: score_threshold=0.75 keeps neither 0.68 (kept at 0.6) nor 0.55 (kept
#     when swapped); iou_threshold=0.3 removes a box of the pair overlapping by 0.4 (kept at 0.5 or 0.6).
# Each design keeps both boxes of a pair below the IoU threshold and one of a pair above it.
SCORE_DESIGN = {"isolated": [0.92, 0.55, 0.4], "overlaps": [0.4, 0.85], "score_threshold": 0.3,
                "iou_threshold": 0.5}
IOU_DESIGN = {"isolated": [0.92, 0.68], "overlaps": [0.68, 0.9], "score_threshold": 0.6, "iou_threshold": 0.75}
SCORE_DESIGN_HIDDEN = {"isolated": [0.92, 0.68, 0.55], "overlaps": [0.65, 0.88], "score_threshold": 0.75,
                       "iou_threshold": 0.5}
IOU_DESIGN_HIDDEN = {"isolated": [0.92, 0.45], "overlaps": [0.15, 0.4, 0.85], "score_threshold": 0.6,
                     "iou_threshold": 0.3}

CLASSIC = {"shape": [19, 19, 5], "num_classes": 80}
DETECTOR = {"shape": [16, 16, 5], "num_classes": 6}

TESTS = (
    TestCell("yolo_filter_boxes_test", "yolo_filter_boxes", 2,
             "yolo_filter_boxes: the kept scores, boxes and classes are correct.", (
                 Probe("yolo_filter_boxes/classic", f"{RUN}:filter_boxes",
                       "kept scores, boxes and classes (sorted by score) and their types and shapes, for seeded "
                       "tensors of the classic shapes (19, 19, 5, 4), (19, 19, 5, 1), (19, 19, 5, 80), threshold=0.5",
                       FILTERED, {**CLASSIC, "seed": 1, "threshold": 0.5, "kind": "classic"}),
                 Probe("yolo_filter_boxes/detector", f"{RUN}:filter_boxes",
                       "the same for our detector's shapes (16, 16, 5, ...) with 6 classes, threshold=0.3",
                       FILTERED, {**DETECTOR, "seed": 2, "threshold": 0.3, "kind": "detector"}, hidden=True),
             )),
    TestCell("iou_test", "iou", 2, "iou: every hand-worked case is correct.", (
        Probe("iou/cases", f"{RUN}:iou_cases",
              "iou of (2, 1, 4, 3) and (1, 2, 3, 4), of disjoint boxes, and of boxes touching at an edge and "
              "at a vertex", IOU, {"cases": IOU_PUBLIC}, expected=IOU_PUBLIC_EXPECTED),
        Probe("iou/hidden_cases", f"{RUN}:iou_cases",
              "iou of nested, identical, half-overlapping and fractional boxes", IOU,
              {"cases": IOU_HIDDEN}, hidden=True, expected=IOU_HIDDEN_EXPECTED),
    )),
    TestCell("yolo_non_max_suppression_test", "yolo_non_max_suppression", 2,
             "yolo_non_max_suppression: the kept boxes and their classes are correct.", (
                 Probe("yolo_non_max_suppression/case", f"{RUN}:nms_case",
                       "the boxes kept out of six hand-placed boxes of four classes (class-agnostic suppression, "
                       "iou_threshold=0.5)", SET, NMS_CASE, expected=NMS_CASE_EXPECTED),
                 Probe("yolo_non_max_suppression/random", f"{RUN}:nms_random",
                       "the boxes kept out of 40 seeded overlapping boxes (iou_threshold=0.5)", SET,
                       {"seed": 3, "n": 40, "num_classes": 6}, hidden=True),
                 Probe("yolo_non_max_suppression/random_low_iou", f"{RUN}:nms_random",
                       "the boxes kept out of 40 seeded overlapping boxes (iou_threshold=0.3)", SET,
                       {"seed": 4, "n": 40, "num_classes": 6, "iou_threshold": 0.3}, hidden=True),
             )),
    TestCell("yolo_non_max_suppression_test_max_boxes", "yolo_non_max_suppression", 1,
             "yolo_non_max_suppression: max_boxes is respected.", (
                 Probe("yolo_non_max_suppression/max_boxes", f"{RUN}:nms_case",
                       "the boxes kept out of six disjoint boxes with max_boxes=3", SET,
                       {**DISJOINT, "max_boxes": 3}, expected=DISJOINT_EXPECTED),
                 Probe("yolo_non_max_suppression/random_max_boxes", f"{RUN}:nms_random",
                       "the boxes kept out of 40 seeded boxes with max_boxes=4", SET,
                       {"seed": 5, "n": 40, "num_classes": 6, "max_boxes": 4}, hidden=True),
             )),
    TestCell("yolo_eval_test", "yolo_eval", 2, "yolo_eval: the detections are correct.", (
        Probe("yolo_eval/classic", f"{RUN}:eval_random",
              "detections (as a set) for seeded yolo_outputs of the classic shapes (19, 19, 5, ...), 80 classes, "
              "image_shape=(720, 1280), default thresholds", SET, {**CLASSIC, "seed": 6}),
        Probe("yolo_eval/other_shape", f"{RUN}:eval_random",
              "detections for seeded outputs of shape (16, 16, 5, ...), image_shape=(608, 608), max_boxes=6, "
              "score_threshold=0.4, iou_threshold=0.4", SET,
              {**DETECTOR, "seed": 7, "image_shape": [608, 608], "max_boxes": 6, "score_threshold": 0.4,
               "iou_threshold": 0.4}, hidden=True),
        Probe("yolo_eval/score_threshold", f"{RUN}:eval_designed",
              "detections for designed outputs of shape (13, 13, 5, ...), 80 classes, with boxes scored 0.92, 0.55 "
              "and 0.4 and pairs overlapping by IoU 0.4 and 0.85, score_threshold=0.3 (only score_threshold "
              "differs from the default)", SET, {"seed": 8, "shape": [13, 13, 5], "num_classes": 80,
                                                  **SCORE_DESIGN}),
        Probe("yolo_eval/iou_threshold", f"{RUN}:eval_designed",
              "detections for designed outputs of shape (13, 13, 5, ...), 80 classes, with boxes scored 0.92 and "
              "0.68 and pairs overlapping by IoU 0.68 and 0.9, iou_threshold=0.75 (only iou_threshold differs "
              "from the default)", SET, {"seed": 9, "shape": [13, 13, 5], "num_classes": 80, **IOU_DESIGN}),
        Probe("yolo_eval/score_threshold_hidden", f"{RUN}:eval_designed",
              "detections for designed outputs of shape (16, 16, 5, ...), image_shape=(480, 640), "
              "score_threshold=0.75", SET,
              {"seed": 10, **DETECTOR, "image_shape": [480, 640], **SCORE_DESIGN_HIDDEN}, hidden=True),
        Probe("yolo_eval/iou_threshold_hidden", f"{RUN}:eval_designed",
              "detections for designed outputs of shape (16, 16, 5, ...), image_shape=(480, 640), "
              "iou_threshold=0.3", SET,
              {"seed": 11, **DETECTOR, "image_shape": [480, 640], **IOU_DESIGN_HIDDEN}, hidden=True),
    )),
    TestCell("yolo_eval_test_frame", "yolo_eval", 2,
             "yolo_eval: the detections on a test frame match the reference.", (
                 Probe("yolo_eval/frame", f"{RUN}:eval_frame",
                       "detections (as a set) of the shipped detector on the test frame frame_01.jpg, "
                       "score_threshold=0.5", SET, {"frame": "frame_01.jpg", "score_threshold": 0.5}),
                 Probe("yolo_eval/frame_hidden", f"{RUN}:eval_frame",
                       "detections of the shipped detector on the test frame frame_04.jpg, score_threshold=0.4",
                       SET, {"frame": "frame_04.jpg", "score_threshold": 0.4}, hidden=True),
             )),
)

FILTER = frozenset({"yolo_filter_boxes_test", "yolo_eval_test", "yolo_eval_test_frame"})
NMS = frozenset({"yolo_non_max_suppression_test", "yolo_non_max_suppression_test_max_boxes",
                 "yolo_eval_test", "yolo_eval_test_frame"})
EVAL = frozenset({"yolo_eval_test", "yolo_eval_test_frame"})
IOU_CELL = frozenset({"iou_test"})

MISTAKES = (
    Mistake("iou_no_clamp", "iou",
            (("    inter_width = max(xi2 - xi1, 0)\n    inter_height = max(yi2 - yi1, 0)\n",
              "    inter_width = xi2 - xi1\n    inter_height = yi2 - yi1\n"),),
            IOU_CELL,
            "For boxes that do not overlap, xi2 - xi1 or yi2 - yi1 is negative: clamp the intersection's width "
            "and height at 0 with max(..., 0) before multiplying.",
            variant=(("    inter_area = inter_width * inter_height\n",
                      "    inter_area = (xi2 - xi1) * (yi2 - yi1)\n"),)),
    # Clamping the product instead of each side is right unless the boxes are apart in both x and y: then
    # both sides are negative and their product is positive (the public case 2 and the last hidden case).
    Mistake("iou_clamps_product", "iou",
            (("    inter_width = max(xi2 - xi1, 0)\n    inter_height = max(yi2 - yi1, 0)\n"
              "    inter_area = inter_width * inter_height\n",
              "    inter_area = max((xi2 - xi1) * (yi2 - yi1), 0)\n"),),
            IOU_CELL,
            "Clamping the product max((xi2 - xi1) * (yi2 - yi1), 0) is not enough: for boxes apart in both x and "
            "y both differences are negative and their product is positive. Clamp the width and the height each "
            "at 0, then multiply.",
            variant=(("    inter_width = max(xi2 - xi1, 0)\n    inter_height = max(yi2 - yi1, 0)\n"
                      "    inter_area = inter_width * inter_height\n",
                      "    inter_width = xi2 - xi1\n    inter_height = yi2 - yi1\n"
                      "    inter_area = max(0.0, inter_width * inter_height)\n"),)),
    Mistake("iou_union_keeps_intersection", "iou",
            (("    union_area = box1_area + box2_area - inter_area\n",
              "    union_area = box1_area + box2_area\n"),),
            IOU_CELL,
            "The union counts the intersection twice: union = area1 + area2 - intersection.",
            variant=(("    iou = inter_area / union_area\n",
                      "    iou = inter_area / (box1_area + box2_area)\n"),)),
    Mistake("filter_argmax_wrong_axis", "yolo_filter_boxes",
            (("    box_classes = tf.math.argmax(box_scores, axis=-1)\n",
              "    box_classes = tf.math.argmax(box_scores, axis=0)\n"),),
            FILTER,
            "Take the argmax (and the max) over the last axis, the classes: axis=-1.",
            variant=(("    box_classes = tf.math.argmax(box_scores, axis=-1)\n",
                      "    box_classes = tf.argmax(box_scores, 0)\n"),)),
    Mistake("filter_threshold_on_confidence", "yolo_filter_boxes",
            (("    filtering_mask = box_class_scores >= threshold\n",
              "    filtering_mask = box_confidence[..., 0] >= threshold\n"),),
            # The trained detector's class probabilities are near 1 for the boxes it is sure of, so on the
            # test frames thresholding the confidence happens to keep the same boxes.
            frozenset({"yolo_filter_boxes_test", "yolo_eval_test"}),
            "Threshold the class score (box_confidence * box_class_probs, its maximum over the classes), "
            "not box_confidence alone.",
            variant=(("    filtering_mask = box_class_scores >= threshold\n",
                      "    filtering_mask = tf.squeeze(box_confidence, axis=-1) > threshold\n"),)),
    Mistake("nms_classes_not_gathered", "yolo_non_max_suppression",
            (("    classes = tf.gather(classes, nms_indices)\n", ""),),
            NMS, UNMATCHED_HINT,
            variant=(("    scores = tf.gather(scores, nms_indices)\n    boxes = tf.gather(boxes, nms_indices)\n"
                      "    classes = tf.gather(classes, nms_indices)\n",
                      "    scores, boxes = tf.gather(scores, nms_indices), tf.gather(boxes, nms_indices)\n"),)),
    Mistake("nms_ignores_max_boxes", "yolo_non_max_suppression",
            (("max_output_size=max_boxes,", "max_output_size=10,"),),
            frozenset({"yolo_non_max_suppression_test_max_boxes", "yolo_eval_test"}),
            "Pass max_boxes to tf.image.non_max_suppression (as max_output_size) instead of a fixed number.",
            variant=(("max_output_size=max_boxes,", "max_output_size=tf.constant(10),"),)),
    Mistake("eval_no_scale_boxes", "yolo_eval",
            (("    boxes = scale_boxes(boxes, image_shape)\n", ""),),
            EVAL,
            "Scale the boxes to the frame's pixels with scale_boxes(boxes, image_shape) after filtering; "
            "yolo_head's boxes are fractions of the image.",
            variant=(("    boxes = scale_boxes(boxes, image_shape)\n", "    scale_boxes(boxes, image_shape)\n"),)),
    Mistake("eval_corners_xy_order", "yolo_eval",
            (("    boxes = yolo_boxes_to_corners(box_xy, box_wh)\n",
              "    boxes = tf.concat([box_xy - box_wh / 2, box_xy + box_wh / 2], axis=-1)\n"),),
            EVAL,
            "Boxes must be (y_min, x_min, y_max, x_max): box_xy is (x, y), so use "
            "yolo_boxes_to_corners(box_xy, box_wh), which puts y first.",
            variant=(("    boxes = yolo_boxes_to_corners(box_xy, box_wh)\n",
                      "    boxes = yolo_boxes_to_corners(box_xy[..., ::-1], box_wh[..., ::-1])\n"),)),
    Mistake("eval_ignores_score_threshold", "yolo_eval",
            (("box_class_probs, threshold=score_threshold)", "box_class_probs)"),),
            frozenset({"yolo_eval_test"}),
            "Pass score_threshold on to yolo_filter_boxes (threshold=score_threshold): without it the filter "
            "uses its own default, 0.6, whatever score_threshold yolo_eval was given.",
            variant=(("box_class_probs, threshold=score_threshold)", "box_class_probs, threshold=0.6)"),)),
    Mistake("eval_ignores_iou_threshold", "yolo_eval",
            ((",\n                                                      iou_threshold=iou_threshold)", ")"),),
            frozenset({"yolo_eval_test"}),
            "Pass iou_threshold on to yolo_non_max_suppression (iou_threshold=iou_threshold): without it the "
            "suppression uses its own default, 0.5, whatever iou_threshold yolo_eval was given.",
            variant=(("iou_threshold=iou_threshold)", "iou_threshold=0.5)"),)),
    Mistake("eval_swaps_thresholds", "yolo_eval",
            (("threshold=score_threshold)", "threshold=iou_threshold)"),
             ("iou_threshold=iou_threshold)", "iou_threshold=score_threshold)")),
            frozenset({"yolo_eval_test"}),
            "The thresholds are swapped: score_threshold is for yolo_filter_boxes (which scores to keep), "
            "iou_threshold for yolo_non_max_suppression (how much overlap removes a box).",
            variant=(("yolo_filter_boxes(boxes, box_confidence, box_class_probs, threshold=score_threshold)",
                      "yolo_filter_boxes(boxes, box_confidence, box_class_probs, iou_threshold)"),
                     ("max_boxes=max_boxes,\n                                                      "
                      "iou_threshold=iou_threshold)", "max_boxes, score_threshold)"))),
)

SPEC = Assignment(
    id="03_car_detection",
    title="Car detection with YOLO",
    notebook="car_detection.ipynb",
    helper="utils.car_detection",
    answers=("yolo_filter_boxes", "iou", "yolo_non_max_suppression", "yolo_eval"),
    tests=TESTS,
    mistakes=MISTAKES,
    partly_wrong=("iou_union_keeps_intersection", "nms_ignores_max_boxes"),
    data=("car_detection/classes.txt", "car_detection/anchors.txt", "car_detection/tiny_yolo.weights.h5",
          "car_detection/frames/frame_01.jpg", "car_detection/frames/frame_04.jpg"),
    notebook_seconds=300,
    # Not run while grading (course.cells.skipped_while_grading): the classes, anchors and frames, the first frame,
    # the grid, the network's raw output and the IoU try-out.
    display_only=("79264fa6", "dd2f73b3", "be093aee", "12dba7b4", "475ee119",),
)
