"""Assignment 06 (Transfer learning with MobileNetV2): ``grade`` for its test cells, the probe runners
its checks use, and the notebook's helpers (the pictures, the pretrained base, plots).

The pictures are the course's own drawings (``course/synth/alpacas.py``): 165 alpacas and 165
other scenes (sheep, goats, dogs, horses, cows, camels, empty fields), 160 x 160 JPEGs in
``datasets/transfer_learning/dataset/alpaca`` and ``datasets/transfer_learning/dataset/not alpaca``. The base is
MobileNetV2 (alpha 1.0, 160 x 160, no top) with the weights shipped in
``datasets/transfer_learning/models`` (``docs/model_cards/06_transfer_learning.md``).
"""

from __future__ import annotations

import numpy as np

from utils import data
from utils.checking.grader import Grader
from utils.checking.messages import ProbeError
from utils.checking.models import call_builder, model_probe, summarize_model

ASSIGNMENT = "06_transfer_learning"
grade = Grader(ASSIGNMENT)
DATA = "transfer_learning"
PICTURES = f"{DATA}/dataset"  # the folder image_dataset_from_directory reads: one sub-folder per class
IMG_SIZE = (160, 160)
CLASS_FOLDERS = ("alpaca", "not alpaca")
WEIGHTS_FILE = f"{DATA}/models/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_160_no_top.h5"
# Operations that only scale and shift pixels: tf.keras.applications.mobilenet_v2.preprocess_input
# (x / 127.5 - 1, two operations under Keras 3, one layer under other versions) or Rescaling(1/127.5, offset=-1).
_SCALING = {"TrueDivide", "Divide", "Subtract", "Add", "Multiply", "Rescaling", "Lambda", "TFOpLambda"}


# ---------------------------------------------------------------------------
# The pictures and the pretrained base
# ---------------------------------------------------------------------------
def data_directory() -> str:
    """The folder holding ``alpaca/`` and ``not alpaca/``, after checking every picture against the manifest."""
    folders = tuple(f"{PICTURES}/{c}/" for c in CLASS_FOLDERS)
    listed = [name for name in data.read_manifest()["files"] if name.startswith(folders)]
    if not listed:
        raise FileNotFoundError(f"datasets/manifest.json lists no pictures under {PICTURES}/; run `course data`")
    for name in listed:
        data.verified_path(name)
    return str(data.verified_path(listed[0]).parent.parent)


def base_weights_path() -> str:
    """The shipped MobileNetV2 base weights (hash-checked), to pass as ``weights=`` to MobileNetV2."""
    return str(data.verified_path(WEIGHTS_FILE))


def load_base_model(input_shape=IMG_SIZE + (3,), verbose: bool = True):
    """MobileNetV2 (alpha 1.0) without its classifier, with the shipped pretrained weights."""
    import tensorflow as tf

    path = base_weights_path()
    model = tf.keras.applications.MobileNetV2(input_shape=tuple(input_shape), include_top=False, weights=path)
    if verbose:
        print(f"MobileNetV2 base (alpha 1.0, no top): weights {path.rsplit('/', 1)[-1]} loaded from "
              f"{path.rsplit('/', 1)[0]} (see docs/model_cards/06_transfer_learning.md)")
    return model


def find_base(model):
    """The pretrained base inside ``model``: its one nested model that is not a Sequential."""
    import keras

    bases = [layer for layer in model.layers
             if isinstance(layer, keras.Model) and not isinstance(layer, keras.Sequential)]
    if len(bases) != 1:
        raise ProbeError(f"Expected one pretrained base model inside the model, found {len(bases)}.",
                         "Call the MobileNetV2 base once, as a layer of your model: x = base_model(x, training=False).")
    return bases[0]


# ---------------------------------------------------------------------------
# Probe runners
# ---------------------------------------------------------------------------
def _augmenter(fn, **_):
    import keras

    model = fn()
    if not isinstance(model, keras.Model):
        raise ProbeError(f"Expected a tf.keras.Sequential, got {type(model).__name__}.",
                         "Return the Sequential model holding the two augmentation layers.")
    if not model.built:  # its configuration then states an input shape (small: only settings are read)
        model.build((None, 64, 64, 3))
    return model


@model_probe(_augmenter)
def augmenter_settings(model, **_) -> list[dict]:
    """Probe: the layers of ``data_augmenter()`` with their mode or factor."""
    settings = []
    for layer in model.layers:
        config = layer.get_config()
        entry = {"type": type(layer).__name__}
        for key in ("mode", "factor"):
            if key in config:
                value = config[key]
                if isinstance(value, (list, tuple)) and len(value) == 2 and value[0] == -value[1]:
                    value = value[1]  # RandomRotation((-0.2, 0.2)) is RandomRotation(0.2)
                entry[key] = float(value) if key == "factor" else value
        settings.append(entry)
    return settings


@model_probe(call_builder)
def head_layers(model, **_) -> list[dict]:
    """Probe: the model's layer summary with the base as one entry and the pixel scaling as one ``Scaling`` entry."""
    summary = []
    for entry in summarize_model(model):
        if entry["type"] in _SCALING:
            entry = {"type": "Scaling", "output_shape": entry["output_shape"], "params": 0}
            if summary and summary[-1]["type"] == "Scaling":
                summary[-1] = entry
                continue
        summary.append(entry)
    return summary


@model_probe(call_builder)
def base_call(model, **_) -> dict:
    """Probe: whether the model's one base is frozen and called with ``training=False``."""
    base = find_base(model)
    training = None
    for layer in model.get_config()["layers"]:
        if layer.get("name") == base.name:
            for node in layer.get("inbound_nodes") or []:
                training = (node.get("kwargs") or {}).get("training")
    return {"frozen": not base.trainable, "training_false": training is False}


def pictures(names, size=(64, 64)) -> np.ndarray:
    """Committed pictures (``"alpaca/alpaca_000.jpg"``), hash-checked, resized, as float32 pixels in [0, 255]."""
    from PIL import Image

    batch = []
    for name in names:
        with Image.open(data.verified_path(f"{PICTURES}/{name}")) as picture:
            batch.append(np.asarray(picture.convert("RGB").resize(tuple(size)[::-1], Image.BILINEAR)))
    return np.stack(batch).astype(np.float32)


@model_probe(call_builder)
def pretrained_forward(model, *, weight_seed: int, names, **_) -> np.ndarray:
    """Probe: the model's logits on committed pictures, with the shipped base weights and a seeded head.

    With seeded weights a network as deep as MobileNetV2 gives nearly the same output for any input;
    with its pretrained weights the output depends on the picture, so scaling, pooling and the head
    are all checked. Augmentation and dropout are inactive (inference mode)."""
    from utils.checking.models import set_seeded_weights

    set_seeded_weights(model, weight_seed)
    find_base(model).load_weights(base_weights_path())
    batch = pictures(names, tuple(int(d) for d in model.input_shape[1:3]))
    return np.asarray(model(batch, training=False))


def _float(value) -> float:
    return float(np.asarray(value.numpy() if hasattr(value, "numpy") else value))


def frozen_model(image_shape=(64, 64), base_learning_rate: float = 0.001, seed: int = 0):
    """A compiled model of the exercise's shape (scaling, frozen MobileNetV2 base, new head), seeded, not trained."""
    import tensorflow as tf

    tf.keras.utils.set_random_seed(seed)
    shape = tuple(image_shape) + (3,)
    base = tf.keras.applications.MobileNetV2(input_shape=shape, include_top=False, weights=None)
    base.trainable = False
    inputs = tf.keras.Input(shape=shape)
    x = tf.keras.layers.Rescaling(1 / 127.5, offset=-1)(inputs)
    x = base(x, training=False)
    x = tf.keras.layers.GlobalAveragePooling2D()(x)
    x = tf.keras.layers.Dropout(0.2)(x)
    model = tf.keras.Model(inputs, tf.keras.layers.Dense(1)(x))
    model.compile(optimizer=tf.keras.optimizers.Adam(learning_rate=base_learning_rate),
                  loss=tf.keras.losses.BinaryCrossentropy(from_logits=True), metrics=["accuracy"])
    return model


def model_state(model) -> dict:
    """Which layers of the base train, the loss, the optimizer, its learning rate and the metrics of ``model``."""
    base = find_base(model)
    flags = [layer.trainable for layer in base.layers]
    loss = getattr(model, "loss", None)
    if loss is None or getattr(model, "optimizer", None) is None:
        raise ProbeError("The model is not compiled.", "Compile the model after unfreezing the layers: "
                         "model.compile(loss=..., optimizer=..., metrics=['accuracy']).")
    loss_config = loss.get_config() if hasattr(loss, "get_config") else {}
    metrics = (model.get_compile_config() or {}).get("metrics")
    return {"base_trainable": bool(base.trainable),
            "first_trainable": flags.index(True) if True in flags else -1,
            "trainable_layers": sum(flags),
            "trainable_batchnorm": sum(layer.trainable for layer in base.layers
                                       if type(layer).__name__ == "BatchNormalization"),
            "loss": type(loss).__name__ if hasattr(loss, "get_config") else str(loss),
            "from_logits": bool(loss_config.get("from_logits", False)),
            "optimizer": type(model.optimizer).__name__,
            "learning_rate": _float(model.optimizer.learning_rate),
            "metrics": list(metrics) if isinstance(metrics, (list, tuple)) else metrics}


def fine_tuning_state(fn, base_learning_rate: float = 0.001, **_) -> dict:
    """Probe: ``fn(model, base_learning_rate)`` on a frozen model of the exercise's shape, then the model's state."""
    model = frozen_model(base_learning_rate=base_learning_rate)
    fn(model, base_learning_rate)
    return model_state(model)


# ---------------------------------------------------------------------------
# Plots
# ---------------------------------------------------------------------------
def show_batch(dataset, class_names, n: int = 9):
    """The first ``n`` pictures of a batched dataset with their class names."""
    import matplotlib.pyplot as plt

    images, labels = next(iter(dataset))
    plt.figure(figsize=(7, 7))
    for i in range(min(n, len(images))):
        axis = plt.subplot(3, 3, i + 1)
        axis.imshow(np.asarray(images[i]).astype("uint8"))
        axis.set_title(class_names[int(labels[i])])
        axis.axis("off")
    plt.show()


def show_augmented(dataset, augmenter, n: int = 9):
    """One picture of ``dataset`` and ``n - 1`` random augmentations of it."""
    import matplotlib.pyplot as plt

    images, _ = next(iter(dataset))
    first = images[0]
    plt.figure(figsize=(7, 7))
    for i in range(n):
        picture = first if i == 0 else augmenter(first[None], training=True)[0]
        axis = plt.subplot(3, 3, i + 1)
        axis.imshow(np.asarray(picture) / 255.0)
        axis.set_title("original" if i == 0 else f"augmented {i}")
        axis.axis("off")
    plt.show()


def plot_learning_curves(acc, val_acc, loss, val_loss, fine_tune_start: int | None = None):
    """Accuracy and loss per epoch; a line marks the epoch where fine-tuning starts."""
    import matplotlib.pyplot as plt

    figure, (top, bottom) = plt.subplots(2, 1, figsize=(7, 6), sharex=True)
    epochs = np.arange(1, len(acc) + 1)
    for axis, train, valid, name in ((top, acc, val_acc, "accuracy"), (bottom, loss, val_loss, "loss")):
        axis.plot(epochs, train, label=f"training {name}")
        axis.plot(epochs, valid, label=f"validation {name}")
        if fine_tune_start is not None:
            axis.axvline(fine_tune_start + 0.5, color="grey", linestyle="--", label="start of fine-tuning")
        axis.set_ylabel(name)
        axis.grid(alpha=0.3)
        axis.legend()
    bottom.set_xlabel("epoch")
    figure.tight_layout()
    plt.show()
