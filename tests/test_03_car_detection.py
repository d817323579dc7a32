"""Assignment 03 specifics (the generic checks of every assignment are in test_assignments.py): the
road-scene generator, the detector's head and helpers against hand-worked values, the graded
functions on hand-built cases, correct code written differently, and robustness of the references."""

import json

import numpy as np
import pytest

from course import inprocess, spec
from course.synth import roads
from utils import car_detection as cd
from utils import car_detection_yolo as yolo
from utils import paths

A = "03_car_detection"


@pytest.fixture(scope="module")
def reference(tf):
    return inprocess.solution_namespace(spec.load(A))


# ---------------------------------------------------------------------------
# The generator
# ---------------------------------------------------------------------------
def test_scenes_are_deterministic_and_the_layout_does_not_depend_on_the_size():
    a_image, a_boxes, a_classes = roads.render_scene(roads.scene_rng(5, 3), size=(144, 256))
    b_image, b_boxes, b_classes = roads.render_scene(roads.scene_rng(5, 3), size=(144, 256))
    c_image, c_boxes, c_classes = roads.render_scene(roads.scene_rng(5, 3), size=(64, 64))
    assert np.array_equal(a_image, b_image) and a_image.shape == (144, 256, 3) and a_image.dtype == np.uint8
    assert np.array_equal(a_boxes, b_boxes) and np.array_equal(a_boxes, c_boxes)
    assert np.array_equal(a_classes, c_classes) and c_image.shape == (64, 64, 3)
    other = roads.render_scene(roads.scene_rng(5, 4), size=(144, 256))[0]
    assert not np.array_equal(a_image, other)


def test_scenes_have_every_class_with_boxes_inside_the_frame():
    seen = np.zeros(len(roads.CLASSES), int)
    for i in range(60):
        scene = roads.sample_scene(roads.scene_rng(11, i))
        for thing in scene.things:
            x0, y0, x1, y1 = thing.box
            assert 0 <= x0 < x1 <= roads.FRAME[1] and 0 <= y0 < y1 <= roads.FRAME[0]
            seen[roads.CLASSES.index(thing.label)] += 1
    assert np.all(seen > 0), dict(zip(roads.CLASSES, seen))
    assert seen[0] == seen.max()  # cars are the most common class, as on real roads


def test_hidden_objects_are_not_labelled():
    """Two identical cars, one straight behind the other (and farther): the far one is dropped."""
    near = roads.Thing("car", (100, 100, 300, 300), depth=0.8)
    far = roads.Thing("car", (150, 150, 250, 250), depth=0.4)
    beside = roads.Thing("car", (400, 100, 500, 200), depth=0.4)
    kept = roads._visible_things([far, near, beside])
    assert [t.box for t in kept] == [(400, 100, 500, 200), (100, 100, 300, 300)]


def test_the_committed_test_frames_and_labels_match_the_generator(tmp_path):
    written = roads.write_test_frames(tmp_path, count=2)
    for path in written:
        if path.suffix == ".jpg":
            assert path.read_bytes() == (paths.data_dir() / "car_detection" / "frames" / path.name).read_bytes()
    labels = json.loads((paths.data_dir() / "car_detection" / "frames" / "labels.json").read_text())
    assert len(labels["frames"]) == roads.TEST_FRAMES == len(cd.test_frames())


# ---------------------------------------------------------------------------
# Head, corners, scaling, files, drawing
# ---------------------------------------------------------------------------
def test_yolo_head_decodes_zero_features_to_cell_centres_and_anchors(tf):
    anchors = np.array([[1.0, 2.0], [3.0, 0.5]], np.float32)
    xy, wh, conf, probs = yolo.yolo_head(np.zeros((1, 2, 3, 2 * 7), np.float32), anchors, 2)
    assert xy.shape == (1, 2, 3, 2, 2) and probs.shape == (1, 2, 3, 2, 2)
    # sigmoid(0) = 1/2: the centre of cell (row 1, column 2) of a 2-row, 3-column grid is x = 2.5/3, y = 1.5/2.
    np.testing.assert_allclose(xy[0, 1, 2, 0], [2.5 / 3, 1.5 / 2], rtol=1e-6)
    np.testing.assert_allclose(wh[0, 0, 0, 1], [3.0 / 3, 0.5 / 2], rtol=1e-6)  # exp(0) * anchor / grid
    np.testing.assert_allclose(conf.numpy(), 0.5)
    np.testing.assert_allclose(probs.numpy(), 0.5)


def test_yolo_head_matches_a_numpy_decoding(tf):
    rng = np.random.default_rng(0)
    feats = rng.normal(0, 1, (2, 4, 4, 3 * 9)).astype(np.float32)
    anchors = rng.uniform(0.5, 3, (3, 2)).astype(np.float32)
    xy, wh, conf, probs = (t.numpy() for t in yolo.yolo_head(feats, anchors, 4))
    f = feats.reshape(2, 4, 4, 3, 9)
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    col, row = np.meshgrid(np.arange(4), np.arange(4))
    np.testing.assert_allclose(xy[..., 0], (sig(f[..., 0]) + col[None, :, :, None]) / 4, rtol=1e-5)
    np.testing.assert_allclose(xy[..., 1], (sig(f[..., 1]) + row[None, :, :, None]) / 4, rtol=1e-5)
    np.testing.assert_allclose(wh, np.exp(f[..., 2:4]) * anchors / 4, rtol=1e-5)
    np.testing.assert_allclose(conf[..., 0], sig(f[..., 4]), rtol=1e-5)
    e = np.exp(f[..., 5:] - f[..., 5:].max(-1, keepdims=True))
    np.testing.assert_allclose(probs, e / e.sum(-1, keepdims=True), rtol=1e-5)


def test_corners_put_y_first_and_scale_boxes_uses_height_then_width(tf):
    corners = yolo.yolo_boxes_to_corners(tf.constant([[0.5, 0.25]]), tf.constant([[0.2, 0.1]]))
    np.testing.assert_allclose(corners.numpy(), [[0.2, 0.4, 0.3, 0.6]], rtol=1e-6)
    scaled = yolo.scale_boxes(corners, (720, 1280))
    np.testing.assert_allclose(scaled.numpy(), [[144, 512, 216, 768]], rtol=1e-6)


def test_classes_and_anchors_files(tmp_path):
    assert cd.course_classes() == list(roads.CLASSES)
    anchors = cd.course_anchors()
    assert anchors.shape == (5, 2) and np.all(anchors > 0)
    assert np.all(np.diff(anchors.prod(1)) > 0)  # stored by area
    (tmp_path / "a.txt").write_text("0.5,1, 2,3\n")
    np.testing.assert_array_equal(yolo.read_anchors(tmp_path / "a.txt"), [[0.5, 1], [2, 3]])
    (tmp_path / "bad.txt").write_text("1, 2, 3")
    with pytest.raises(ValueError, match="pairs"):
        yolo.read_anchors(tmp_path / "bad.txt")


def test_preprocess_image_and_draw_boxes_with_current_pillow():
    image, data = cd.preprocess_image(cd.test_frames()[0])
    assert image.size == (1280, 720) and data.shape == (1, 256, 256, 3) and data.dtype == np.float32
    assert 0 <= data.min() and data.max() <= 1
    before = np.asarray(image).copy()
    out = cd.draw_boxes(image, np.array([[100, 200, 300, 400]]), np.array([0]), cd.course_classes(),
                        np.array([0.87]))
    after = np.asarray(out)
    assert out is image and not np.array_equal(before, after)
    assert np.array_equal(before[400:, 500:], after[400:, 500:])  # nothing drawn away from the box
    colors = cd.get_colors_for_classes(6)
    assert len(set(colors)) == 6 and colors == cd.get_colors_for_classes(6)


def test_corrupt_weights_give_a_clear_error(tmp_path, monkeypatch):
    import shutil

    copy = tmp_path / "datasets"
    shutil.copytree(paths.data_dir(), copy, ignore=shutil.ignore_patterns("references", "happy", "signs"))
    weights = copy / yolo.WEIGHTS_FILE
    weights.write_bytes(weights.read_bytes()[:1000])
    monkeypatch.setenv("COURSE_DATA_DIR", str(copy))
    with pytest.raises(cd.data.DatasetError, match="corrupt or has been modified"):
        yolo.load_detector()


# ---------------------------------------------------------------------------
# The graded functions: hand-worked cases
# ---------------------------------------------------------------------------
IOU_CASES = [  # (x1, y1, x2, y2) boxes and their IoU worked out by hand
    ((2, 1, 4, 3), (1, 2, 3, 4), 1 / 7),  # overlap 1, areas 4 + 4 - 1 = 7
    ((1, 2, 3, 4), (5, 6, 7, 8), 0.0),  # disjoint
    ((1, 1, 2, 2), (2, 1, 3, 2), 0.0),  # shared edge x = 2
    ((1, 1, 3, 3), (3, 3, 4, 4), 0.0),  # shared vertex (3, 3)
    ((0, 0, 4, 4), (1, 1, 2, 3), 2 / 16),  # containment
    ((1, 1, 3, 4), (1, 1, 3, 4), 1.0),  # identical
]


@pytest.mark.parametrize("box1, box2, expected", IOU_CASES)
def test_reference_iou_on_hand_worked_cases(reference, box1, box2, expected):
    assert reference["iou"](box1, box2) == pytest.approx(expected, abs=1e-12)
    assert reference["iou"](box2, box1) == pytest.approx(expected, abs=1e-12)


def test_reference_nms_keeps_and_drops_the_hand_placed_boxes(reference, tf):
    """Box 1 (a bus) overlaps box 0 (a car, higher score) by 0.82: dropped although its class differs;
    box 3 lies under box 4 (IoU 0.89) and goes; boxes 2 and 5 overlap box 0 by 0.11 and 0.14 and stay."""
    s = spec.load(A)
    case = next(p for _, p in s.probes() if p.key == "yolo_non_max_suppression/case").args
    scores, boxes, classes = cd.nms_case(reference["yolo_non_max_suppression"], **case)
    kept = sorted(zip(scores.round(4).tolist(), classes.tolist()))
    assert kept == [(0.65, 2), (0.7, 0), (0.9, 0), (0.95, 3)]


# ---------------------------------------------------------------------------
# Correct code written differently gets every cell
# ---------------------------------------------------------------------------
FILTER_WHERE = '''def yolo_filter_boxes(boxes, box_confidence, box_class_probs, threshold=.6):
    box_scores = box_confidence * box_class_probs
    best = tf.reduce_max(box_scores, axis=-1)
    keep = tf.where(best > threshold)
    return tf.gather_nd(best, keep), tf.gather_nd(boxes, keep), tf.gather_nd(tf.argmax(box_scores, -1), keep)'''
IOU_VECTORISED = '''def iou(box1, box2):
    a, b = np.asarray(box1, np.float32), np.asarray(box2, np.float32)
    wh = np.clip(np.minimum(a[2:], b[2:]) - np.maximum(a[:2], b[:2]), 0, None)
    inter = wh.prod()
    return inter / ((a[2:] - a[:2]).prod() + (b[2:] - b[:2]).prod() - inter)'''
NMS_REORDERED = '''def yolo_non_max_suppression(scores, boxes, classes, max_boxes=10, iou_threshold=0.5):
    keep = tf.image.non_max_suppression(boxes, scores, max_boxes, iou_threshold)
    keep = tf.reverse(keep, [0])  # another order: the tests compare sets
    return tf.gather(scores, keep), tf.gather(boxes, keep), tf.cast(tf.gather(classes, keep), tf.int32)'''
EVAL_INLINE = '''def yolo_eval(yolo_outputs, image_shape=(720, 1280), max_boxes=10, score_threshold=.6, iou_threshold=.5):
    box_xy, box_wh, box_confidence, box_class_probs = yolo_outputs
    x, y = box_xy[..., 0:1], box_xy[..., 1:2]
    w, h = box_wh[..., 0:1], box_wh[..., 1:2]
    boxes = tf.concat([y - h / 2, x - w / 2, y + h / 2, x + w / 2], axis=-1)
    scores, boxes, classes = yolo_filter_boxes(boxes, box_confidence, box_class_probs, score_threshold)
    boxes = boxes * tf.constant([image_shape[0], image_shape[1], image_shape[0], image_shape[1]], tf.float32)
    return yolo_non_max_suppression(scores, boxes, classes, max_boxes, iou_threshold)'''  # noqa: E501


@pytest.mark.slow
def test_equivalent_correct_code_gets_full_marks(tf):

    answers = inprocess.reference_answers(A)
    answers.update(yolo_filter_boxes=FILTER_WHERE, iou=IOU_VECTORISED, yolo_non_max_suppression=NMS_REORDERED,
                   yolo_eval=EVAL_INLINE)
    results = inprocess.run_in_process(inprocess.submission(A, answers), A)
    assert results and all(r.passed for r in results.values()), {g: r.message for g, r in results.items()
                                                                 if not r.passed}


# ---------------------------------------------------------------------------
# Robust without being loose
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("key", ["yolo_eval/frame", "yolo_eval/frame_hidden"])
def test_frame_probes_have_no_score_or_overlap_near_a_threshold(reference, tf, key):
    """On the committed frames no candidate's score lies within 0.01 of the score threshold, and no two
    candidates overlap within 0.01 of the IoU threshold: the last digits a kernel changes cannot change
    the detections."""
    probe = next(p for _, p in spec.load(A).probes() if p.key == key)
    xy, wh, conf, probs = cd.frame_outputs(probe.args["frame"])
    best = (conf * probs).max(-1).reshape(-1)
    threshold = probe.args["score_threshold"]
    assert np.min(np.abs(best - threshold)) > 0.01
    corners = yolo.yolo_boxes_to_corners(tf.constant(xy), tf.constant(wh)).numpy().reshape(-1, 4)[best >= threshold]
    overlaps = yolo.pairwise_iou(corners * [720, 1280, 720, 1280])
    off_diagonal = overlaps[~np.eye(len(overlaps), dtype=bool)]
    assert off_diagonal.size == 0 or np.min(np.abs(off_diagonal - 0.5)) > 0.01


@pytest.mark.parametrize("seed", range(20))
def test_random_inputs_keep_clear_of_the_thresholds(seed):
    _, confidence, probs = cd.random_filter_inputs(seed, (19, 19, 5), 80, 0.5)
    best = (confidence * probs).max(-1)
    assert np.min(np.abs(best - 0.5)) >= cd.MARGIN
    scores, boxes, _ = cd.random_detections(seed, 40, 6, 0.5)
    overlaps = yolo.pairwise_iou(boxes)[~np.eye(40, dtype=bool)]
    assert np.min(np.abs(overlaps - 0.5)) >= cd.MARGIN and len(np.unique(scores)) == 40


# ---------------------------------------------------------------------------
# Training and evaluation code
# ---------------------------------------------------------------------------
def test_kmeans_anchors_find_two_obvious_shapes():
    from course.weights.car_detection import kmeans_anchors

    rng = np.random.default_rng(0)
    wh = np.concatenate([rng.normal([1, 3], 0.05, (200, 2)), rng.normal([4, 2], 0.05, (200, 2))])
    np.testing.assert_allclose(kmeans_anchors(wh, k=2), [[1, 3], [4, 2]], atol=0.05)  # sorted by area


def test_encode_targets_puts_a_box_in_its_cell_and_best_anchor():
    from course.weights.car_detection import encode_targets

    anchors = np.array([[1.0, 1.0], [2.0, 4.0]], np.float32)
    # Centre (0.53, 0.27) of a 16 x 16 grid: column 8, row 4, offsets 0.48 and 0.32. Size 0.1 x 0.25
    # of the image = 1.6 x 4 cells: anchor 1 (IoU 6.4 / 8 = 0.8) beats anchor 0 (1 / 6.4).
    boxes = [np.array([[0.48, 0.145, 0.58, 0.395]], np.float32)]
    targets, padded = encode_targets(boxes, [np.array([3])], anchors)
    hit = np.argwhere(targets[..., 4] == 1)
    assert hit.tolist() == [[0, 4, 8, 1]]
    np.testing.assert_allclose(targets[0, 4, 8, 1], [0.48, 0.32, np.log(1.6 / 2), np.log(4 / 4), 1, 3], atol=1e-5)
    np.testing.assert_allclose(padded[0, 0], [0.53, 0.27, 0.1, 0.25], atol=1e-6)
    assert targets[..., 4].sum() == 1


def test_yolo_loss_is_small_for_the_encoded_answer_and_large_for_a_blank_one(tf):
    from course.weights.car_detection import encode_targets, yolo_loss

    anchors = np.array([[1.0, 1.0], [2.0, 4.0]], np.float32)
    boxes = [np.array([[0.48, 0.145, 0.58, 0.395]], np.float32)]
    targets, padded = encode_targets(boxes, [np.array([3])], anchors)
    raw = np.zeros((1, 16, 16, 2, 11), np.float32)
    raw[..., 4] = -12.0  # no object anywhere ...
    t = targets[0, 4, 8, 1]
    logit = lambda p: np.log(p / (1 - p))  # noqa: E731
    raw[0, 4, 8, 1, :5] = [logit(t[0]), logit(t[1]), t[2], t[3], 12.0]  # ... but here, exactly the box
    raw[0, 4, 8, 1, 5 + 3] = 12.0
    perfect = float(yolo_loss(raw.reshape(1, 16, 16, 22), targets, padded, anchors, 6))
    blank = float(yolo_loss(np.zeros((1, 16, 16, 22), np.float32), targets, padded, anchors, 6))
    assert perfect < 1e-2 < 10 < blank


def test_average_precision_on_a_hand_worked_case():
    from course.bench.car_detection import average_precision

    truth = [(np.array([[0, 0, 10, 10], [20, 20, 30, 30]], float), np.array([0, 0]))]
    # Ranked: a hit (precision 1, recall 1/2), a miss, then the second hit (precision 2/3, recall 1):
    # AP = 1/2 * 1 + 1/2 * 2/3 = 5/6.
    found = [(np.array([0.9, 0.8, 0.7]), np.array([[0, 0, 10, 10], [50, 50, 60, 60], [20, 20, 30, 31]], float),
              np.array([0, 0, 0]))]
    assert average_precision(found, truth, 1) == pytest.approx([5 / 6])
    # A box of the wrong class or a duplicate never counts.
    duplicate = [(np.array([0.9, 0.8]), np.array([[0, 0, 10, 10], [0, 0, 10, 10]], float), np.array([0, 0]))]
    assert average_precision(duplicate, [(truth[0][0][:1], truth[0][1][:1])], 1) == pytest.approx([1.0])


def test_the_shipped_detector_finds_the_labelled_objects_of_a_test_frame(reference, tf):
    """Independent of the references: most labelled boxes of frame_01 are found with their class."""
    labels = json.loads((paths.data_dir() / "car_detection" / "frames" / "labels.json").read_text())["frames"]
    outputs = tuple(tf.constant(v) for v in cd.frame_outputs("frame_01.jpg"))
    scores, boxes, classes = reference["yolo_eval"](outputs, image_shape=(720, 1280), score_threshold=0.5)
    found = [(b[[1, 0, 3, 2]], c) for b, c in zip(boxes.numpy(), classes.numpy())]
    names = cd.course_classes()
    hits = 0
    for entry in labels["frame_01.jpg"]:
        truth = np.array(entry["box"])
        hits += any(names[c] == entry["class"] and yolo.pairwise_iou(truth, b)[0, 0] >= 0.5
                    for b, c in found)
    assert hits >= 0.7 * len(labels["frame_01.jpg"]), (hits, len(labels["frame_01.jpg"]))


@pytest.mark.slow
def test_training_runs_end_to_end_and_writes_what_the_notebook_reads(tmp_path, tf):
    from course.weights.car_detection import train

    summary, written = train(frames=64, epochs=1, batch=16, seed=7, out_dir=tmp_path, log=lambda line: None)
    assert [p.name for p in written] == ["tiny_yolo.weights.h5", "classes.txt", "anchors.txt", "training.json"]
    assert summary["parameters"] == yolo.tiny_yolo_body().count_params()
    assert yolo.read_classes(tmp_path / "classes.txt") == list(roads.CLASSES)
    assert yolo.read_anchors(tmp_path / "anchors.txt").shape == (5, 2)
    model = yolo.tiny_yolo_body()
    model.load_weights(tmp_path / "tiny_yolo.weights.h5")


# ---------------------------------------------------------------------------
# Product-clamped IoU and the yolo_eval threshold probes
# ---------------------------------------------------------------------------
def test_boxes_apart_in_both_directions_tell_a_clamped_product_from_clamped_sides(reference):
    """(4, 5, 6, 8) and (0, 0, 3, 2) are apart by 1 in x and by 3 in y: the sides are -1 and -3, their
    product +3 and the areas 6 and 6, so clamping only the product gives 3 / (6 + 6 - 3) = 1/3."""
    product_clamped = inprocess.solution_namespace(spec.load(A), spec.load(A).mistake("iou_clamps_product"))
    box1, box2 = (4, 5, 6, 8), (0, 0, 3, 2)
    assert reference["iou"](box1, box2) == 0
    assert product_clamped["iou"](box1, box2) == pytest.approx(1 / 3, abs=1e-12)
    assert product_clamped["iou"]((0, 0, 1, 4), (2, 1, 3, 3)) == 0  # apart in x only: the product is negative


THRESHOLD_PROBES = ("yolo_eval/score_threshold", "yolo_eval/iou_threshold", "yolo_eval/score_threshold_hidden",
                    "yolo_eval/iou_threshold_hidden")
# Which designed boxes (i: isolated, l: leader, f: follower of a pair; then the index of its score or
# overlap in the design) a correct yolo_eval keeps at the given (score_threshold, iou_threshold), worked out
# by hand from the designs in the spec. The first pair is the probe's own; the others are what a yolo_eval
# ignoring score_threshold (filter at 0.6), ignoring iou_threshold (suppress at 0.5) or swapping them uses.
KEPT_BY_HAND = {
    # scores 0.92, 0.55, 0.4; overlaps 0.4, 0.85
    "yolo_eval/score_threshold": {(0.3, 0.5): {"i0", "i1", "i2", "l0", "f0", "l1"},
                                  (0.6, 0.5): {"i0", "l0", "f0", "l1"},
                                  (0.5, 0.3): {"i0", "i1", "l0", "l1"}},
    # scores 0.92, 0.68; overlaps 0.68, 0.9
    "yolo_eval/iou_threshold": {(0.6, 0.75): {"i0", "i1", "l0", "f0", "l1"},
                                (0.6, 0.5): {"i0", "i1", "l0", "l1"},
                                (0.75, 0.6): {"i0", "l0", "l1"}},
    # scores 0.92, 0.68, 0.55; overlaps 0.65, 0.88
    "yolo_eval/score_threshold_hidden": {(0.75, 0.5): {"i0", "l0", "l1"},
                                         (0.6, 0.5): {"i0", "i1", "l0", "l1"},
                                         (0.5, 0.75): {"i0", "i1", "i2", "l0", "f0", "l1"}},
    # scores 0.92, 0.45; overlaps 0.15, 0.4, 0.85
    "yolo_eval/iou_threshold_hidden": {(0.6, 0.3): {"i0", "l0", "f0", "l1", "l2"},
                                       (0.6, 0.5): {"i0", "l0", "f0", "l1", "f1", "l2"},
                                       (0.3, 0.6): {"i0", "i1", "l0", "f0", "l1", "f1", "l2"}},
}
GRADING_SEEDS = (0, 1, 2, 1_000, 77_777, 2**31 - 2)  # the grader draws seeds in [1000, 2**31 - 1)


def designed_probe(key):
    return next(p for _, p in spec.load(A).probes() if p.key == key)


@pytest.mark.parametrize("key", THRESHOLD_PROBES)
def test_designed_inputs_hold_their_scores_and_overlaps_clear_of_every_threshold(key):
    args = designed_probe(key).args
    assert (args["score_threshold"], args["iou_threshold"]) == next(iter(KEPT_BY_HAND[key]))
    for seed in GRADING_SEEDS:
        (xy, wh, confidence, probs), design = cd.designed_outputs(seed, args["shape"], args["num_classes"],
                                                                 args["isolated"], args["overlaps"])
        best = (confidence * probs).max(-1).reshape(-1)
        slots = [d["slot"] for d in design]
        assert np.all(np.delete(best, slots) < cd.BACKGROUND_MAX)
        corners = np.array([d["corners"] for d in design])
        overlaps = yolo.pairwise_iou(corners)
        groups = [(d["group"], d["index"]) for d in design]
        for (group, index), slot, row in zip(groups, slots, overlaps):
            if group == "isolated":
                assert abs(best[slot] - args["isolated"][index]) <= cd.DESIGN_JITTER + 1e-6
                assert np.sum(row > 0) == 1  # overlaps nothing but itself
            elif group == "leader":
                follower = groups.index(("follower", index))
                assert abs(row[follower] - args["overlaps"][index]) <= cd.DESIGN_JITTER + 1e-9
                assert best[slot] > best[slots[follower]] > args["score_threshold"]
                assert np.sum(row > 0) == 2
        # every designed value lies at least 0.04 from the probe's thresholds and from yolo_eval's defaults
        values = np.concatenate([best[slots], overlaps[~np.eye(len(design), dtype=bool)]])
        values = values[values > 0]
        for threshold in {args["score_threshold"], args["iou_threshold"], 0.6, 0.5}:
            assert np.min(np.abs(values - threshold)) >= 0.04, (seed, threshold)


@pytest.mark.parametrize("key", THRESHOLD_PROBES)
def test_threshold_probes_keep_the_boxes_worked_out_by_hand_on_every_seed(reference, tf, key):
    args = designed_probe(key).args
    height, width = args.get("image_shape", (720, 1280))
    for seed in GRADING_SEEDS:
        outputs, design = cd.designed_outputs(seed, args["shape"], args["num_classes"], args["isolated"],
                                              args["overlaps"])
        names = [d["group"][0] + str(d["index"]) for d in design]
        corners = np.array([d["corners"] for d in design]) * [height, width, height, width]
        for (score_threshold, iou_threshold), expected in KEPT_BY_HAND[key].items():
            scores, boxes, _ = reference["yolo_eval"](tuple(tf.constant(v) for v in outputs),
                                                      image_shape=(height, width), score_threshold=score_threshold,
                                                      iou_threshold=iou_threshold)
            matches = yolo.pairwise_iou(boxes.numpy(), corners)
            assert np.all(matches.max(1) > 0.999), "a kept box that was not designed"
            kept = {names[j] for j in matches.argmax(1)}
            assert kept == expected and len(kept) == len(scores), (seed, score_threshold, iou_threshold)


def test_designed_inputs_too_close_to_a_threshold_are_refused():
    with pytest.raises(ValueError, match="score 0.52 lies within 0.05 of score_threshold=0.5"):
        cd.check_design_clears([0.9, 0.52], [0.3], score_threshold=0.5, iou_threshold=0.5)
    with pytest.raises(ValueError, match="overlap 0.47 lies within 0.05 of iou_threshold=0.5"):
        cd.check_design_clears([0.9], [0.47], score_threshold=0.3, iou_threshold=0.5)
    with pytest.raises(ValueError, match="pairs score at least 0.82"):
        cd.check_design_clears([0.95], [0.3], score_threshold=0.8, iou_threshold=0.5)
    cd.check_design_clears([0.9, 0.55], [0.3], score_threshold=0.5, iou_threshold=0.5)


def test_show_image_puts_one_jpeg_into_the_notebook(monkeypatch):
    """A PIL image displayed as it is becomes two outputs, PNG and JPEG, of every frame."""
    import io

    import IPython.display
    from IPython.core.formatters import DisplayFormatter
    from PIL import Image

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda *objects: shown.extend(objects))
    cd.show_image(Image.open(cd.test_frames()[0]))
    [picture] = shown
    data, _ = DisplayFormatter().format(picture)
    assert {kind for kind in data if kind.startswith("image/")} == {"image/jpeg"}
    decoded = Image.open(io.BytesIO(picture.data))
    assert decoded.format == "JPEG" and decoded.size == (960, 540)  # 1280 x 720 scaled to 960 wide
