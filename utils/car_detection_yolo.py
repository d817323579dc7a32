"""The course's small YOLOv2-style detector and the helpers around it.

The network (:func:`tiny_yolo_body`) maps a ``(m, 256, 256, 3)`` batch of
frames scaled to [0, 1] to ``(m, S, S, A * (5 + C))`` with ``S = 16`` grid
cells per side, ``A = 5`` anchor boxes and ``C = 6`` classes. For every cell
and anchor the ``5 + C`` numbers are (x, y, w, h, objectness, class logits),
decoded by :func:`yolo_head` the YOLOv2 way:

- ``box_xy = (sigmoid(t_xy) + cell_index) / S``: the box centre, as a fraction
  of the image width and height;
- ``box_wh = exp(t_wh) * anchor / S``: the box size, anchors in grid cells;
- ``box_confidence = sigmoid(t_o)``, ``box_class_probs = softmax(t_c)``.

Weights are trained by ``course weights`` (``course/weights/car_detection.py``) on
frames of ``course/synth/roads.py``; ``docs/model_cards/03_car_detection.md`` is the
model card. Loading goes through the manifest's sha256 like every data file.
"""

from __future__ import annotations

import colorsys
import random
from pathlib import Path

import numpy as np

from utils import data, paths

DATA = "car_detection"
CLASSES_FILE = f"{DATA}/classes.txt"
ANCHORS_FILE = f"{DATA}/anchors.txt"
WEIGHTS_FILE = f"{DATA}/tiny_yolo.weights.h5"
MODEL_IMAGE_SIZE = (256, 256)
GRID = 16
# Channel widths of the body: a stride-2 3x3 stem (256 -> 128), three 3x3
# convolutions each followed by 2x2 max-pooling (128 -> 16), then three
# convolutions on the 16 x 16 grid. Sized to train in about 45 minutes on
# two CPU cores (docs/03_car_detection.md).
STEM_WIDTH = 16
WIDTHS = (32, 48, 64)
TOP_WIDTH = 128


# ---------------------------------------------------------------------------
# Classes and anchors
# ---------------------------------------------------------------------------
def read_classes(classes_path) -> list[str]:
    """Class names, one per line."""
    with open(classes_path) as handle:
        return [line.strip() for line in handle if line.strip()]


def read_anchors(anchors_path) -> np.ndarray:
    """Anchor sizes ``(A, 2)`` as (width, height) in grid cells, from ``w1,h1, w2,h2, ...``."""
    with open(anchors_path) as handle:
        values = [float(v) for v in handle.read().replace("\n", ",").split(",") if v.strip()]
    if not values or len(values) % 2:
        raise ValueError(f"{anchors_path} must hold pairs 'w,h' of anchor sizes, found {len(values)} numbers.")
    return np.array(values, dtype=np.float32).reshape(-1, 2)


def course_classes() -> list[str]:
    return read_classes(data.verified_path(CLASSES_FILE))


def course_anchors() -> np.ndarray:
    return read_anchors(data.verified_path(ANCHORS_FILE))


# ---------------------------------------------------------------------------
# The network and its head
# ---------------------------------------------------------------------------
def _conv(x, filters: int, size: int, name: str, strides: int = 1):
    from tensorflow import keras

    x = keras.layers.Conv2D(filters, size, strides=strides, padding="same", use_bias=False,
                            name=f"{name}_conv")(x)
    x = keras.layers.BatchNormalization(name=f"{name}_bn")(x)
    return keras.layers.LeakyReLU(negative_slope=0.1, name=f"{name}_leaky")(x)


def tiny_yolo_body(num_anchors: int = 5, num_classes: int = 6, image_size=MODEL_IMAGE_SIZE):
    """The uncompiled detector: ``(m, 256, 256, 3)`` in [0, 1] -> ``(m, 16, 16, A * (5 + C))``."""
    from tensorflow import keras

    inputs = keras.Input(shape=(*image_size, 3), name="image")
    x = _conv(inputs, STEM_WIDTH, 3, "stem", strides=2)
    for i, width in enumerate(WIDTHS):
        x = _conv(x, width, 3, f"block{i + 1}")
        x = keras.layers.MaxPooling2D(2, name=f"block{i + 1}_pool")(x)
    x = _conv(x, TOP_WIDTH, 3, "top1")
    x = _conv(x, TOP_WIDTH // 2, 1, "top2")
    x = _conv(x, TOP_WIDTH, 3, "top3")
    outputs = keras.layers.Conv2D(num_anchors * (5 + num_classes), 1, name="detections")(x)
    return keras.Model(inputs, outputs, name="tiny_yolo")


def load_detector():
    """The trained detector (weights hash-checked against the manifest)."""
    model = tiny_yolo_body(len(course_anchors()), len(course_classes()))
    return data.load_network_weights(model, WEIGHTS_FILE, "the detector's weights", "course weights 03")


def yolo_head(feats, anchors, num_classes: int):
    """Decode the network's output into boxes, the YOLOv2 way.

    Args:
        feats: ``(m, S, S, A * (5 + C))`` (or already ``(m, S, S, A, 5 + C)``).
        anchors: ``(A, 2)`` anchor (width, height) in grid cells.
        num_classes: C.

    Returns:
        box_xy ``(m, S, S, A, 2)`` centres (x, y) as fractions of the image,
        box_wh ``(m, S, S, A, 2)`` sizes (w, h) as fractions of the image,
        box_confidence ``(m, S, S, A, 1)``, box_class_probs ``(m, S, S, A, C)``.
    """
    import tensorflow as tf

    anchors = tf.reshape(tf.constant(np.asarray(anchors, dtype=np.float32)), [1, 1, 1, -1, 2])
    num_anchors = anchors.shape[3]
    feats = tf.cast(feats, tf.float32)
    rows, cols = feats.shape[1], feats.shape[2]
    feats = tf.reshape(feats, [-1, rows, cols, num_anchors, num_classes + 5])
    col_index, row_index = tf.meshgrid(tf.range(cols, dtype=tf.float32), tf.range(rows, dtype=tf.float32))
    cell = tf.reshape(tf.stack([col_index, row_index], axis=-1), [1, rows, cols, 1, 2])
    grid = tf.constant([cols, rows], dtype=tf.float32)
    box_xy = (tf.sigmoid(feats[..., :2]) + cell) / grid
    box_wh = tf.exp(feats[..., 2:4]) * anchors / grid
    box_confidence = tf.sigmoid(feats[..., 4:5])
    box_class_probs = tf.nn.softmax(feats[..., 5:])
    return box_xy, box_wh, box_confidence, box_class_probs


def yolo_boxes_to_corners(box_xy, box_wh):
    """Centres and sizes -> corners ``(y_min, x_min, y_max, x_max)`` along the last axis."""
    import tensorflow as tf

    box_mins = box_xy - box_wh / 2.0
    box_maxes = box_xy + box_wh / 2.0
    return tf.concat([box_mins[..., 1:2], box_mins[..., 0:1], box_maxes[..., 1:2], box_maxes[..., 0:1]],
                     axis=-1)


def pairwise_iou(boxes_a, boxes_b=None) -> np.ndarray:
    """IoU of every box of ``boxes_a`` (n, 4) with every box of ``boxes_b`` (m, 4; default ``boxes_a``).

    Any corner order works as long as both use the same one, (y_min, x_min, y_max, x_max) or
    (x_min, y_min, x_max, y_max); a box given with its corners swapped counts as the same box.
    """
    a = np.asarray(boxes_a, dtype=np.float64).reshape(-1, 4)
    b = a if boxes_b is None else np.asarray(boxes_b, dtype=np.float64).reshape(-1, 4)
    lo_a, hi_a = np.minimum(a[:, :2], a[:, 2:]), np.maximum(a[:, :2], a[:, 2:])
    lo_b, hi_b = np.minimum(b[:, :2], b[:, 2:]), np.maximum(b[:, :2], b[:, 2:])
    sides = np.clip(np.minimum(hi_a[:, None], hi_b) - np.maximum(lo_a[:, None], lo_b), 0, None)
    inter = sides[..., 0] * sides[..., 1]
    area_a, area_b = (hi_a - lo_a).prod(1), (hi_b - lo_b).prod(1)
    return inter / np.maximum(area_a[:, None] + area_b - inter, 1e-12)


def scale_boxes(boxes, image_shape):
    """Boxes ``(y_min, x_min, y_max, x_max)`` as image fractions -> pixels of an image of ``(height, width)``."""
    import tensorflow as tf

    height, width = float(image_shape[0]), float(image_shape[1])
    return boxes * tf.constant([height, width, height, width], dtype=boxes.dtype)


# ---------------------------------------------------------------------------
# Pictures
# ---------------------------------------------------------------------------
def prepare_frame(image, model_image_size=MODEL_IMAGE_SIZE) -> np.ndarray:
    """A PIL image (or uint8 array) -> the detector's float32 input ``(1, height, width, 3)`` in [0, 1].

    The picture is resized to ``model_image_size`` = (height, width) with bicubic
    resampling, as in training.
    """
    from PIL import Image

    if not isinstance(image, Image.Image):
        image = Image.fromarray(np.asarray(image, dtype=np.uint8))
    resized = image.convert("RGB").resize(tuple(reversed(tuple(model_image_size))), Image.Resampling.BICUBIC)
    return np.asarray(resized, dtype=np.float32)[None] / 255.0


def preprocess_image(img_path, model_image_size=MODEL_IMAGE_SIZE):
    """Open a picture and make the detector's input from it.

    Returns:
        (the PIL image, float32 array ``(1, height, width, 3)`` in [0, 1]), see :func:`prepare_frame`.
    """
    from PIL import Image

    image = Image.open(img_path).convert("RGB")
    return image, prepare_frame(image, model_image_size)


def get_colors_for_classes(num_classes: int) -> list[tuple[int, int, int]]:
    """``num_classes`` well-separated RGB colours, in a fixed shuffled order."""
    hsv = [(x / num_classes, 1.0, 1.0) for x in range(num_classes)]
    colors = [tuple(int(c * 255) for c in colorsys.hsv_to_rgb(*h)) for h in hsv]
    random.Random(10101).shuffle(colors)
    return colors


def _load_font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has no scalable default font
        return ImageFont.load_default()


def draw_boxes(image, boxes, box_classes, class_names, scores=None):
    """Draw labelled boxes on a PIL image, in place; returns the image.

    Args:
        image: PIL image.
        boxes: ``(n, 4)`` corners (y_min, x_min, y_max, x_max) in the image's pixels.
        box_classes: ``(n,)`` class indices; class_names: their names.
        scores: ``(n,)`` scores shown after the class name, or None.
    """
    from PIL import ImageDraw

    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    box_classes = np.asarray(box_classes).reshape(-1).astype(int)
    colors = get_colors_for_classes(len(class_names))
    font = _load_font(max(12, image.size[1] // 40))
    thickness = max(1, (image.size[0] + image.size[1]) // 600)
    draw = ImageDraw.Draw(image)
    for i in reversed(range(len(boxes))):
        c = box_classes[i]
        label = class_names[c] if scores is None else f"{class_names[c]} {float(np.asarray(scores).reshape(-1)[i]):.2f}"
        top, left, bottom, right = boxes[i]
        top, left = max(0, int(np.floor(top + 0.5))), max(0, int(np.floor(left + 0.5)))
        bottom = min(image.size[1], int(np.floor(bottom + 0.5)))
        right = min(image.size[0], int(np.floor(right + 0.5)))
        x0, y0, x1, y1 = draw.textbbox((0, 0), label, font=font)
        text_w, text_h = x1 - x0, y1 - y0
        text_top = top - text_h - 4 if top - text_h - 4 >= 0 else top + 1
        draw.rectangle([left, top, right, bottom], outline=colors[c], width=thickness)
        draw.rectangle([left, text_top, left + text_w + 4, text_top + text_h + 4], fill=colors[c])
        draw.text((left + 2 - x0, text_top + 2 - y0), label, fill=(0, 0, 0), font=font)
    return image


def test_frames() -> list[Path]:
    """The committed 720 x 1280 test frames (hash-checked), in order."""
    folder = paths.data_dir() / DATA / "frames"
    return [data.verified_path(f"{DATA}/frames/{p.name}") for p in sorted(folder.glob("*.jpg"))]
