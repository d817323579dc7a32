"""Check a student's Keras model configuration before the grader builds it.

A model probe's observation is the student's model as Keras configuration
(JSON). It is hostile input: a few kilobytes can describe an 8 GiB layer, a
thousand large layers, or a class that loads and runs a saved program. Before
anything is built, :func:`check_model_config`:

1. accepts only the classes in :data:`ALLOWED` (layers with their module, the
   model containers, initializers, regularizers, constraints and dtype
   policies), whatever the installed Keras version would accept;
2. bounds every size the configuration states (units, filters, kernel and pool
   sizes, input dimensions);
3. propagates shapes through the graph without building it, counting the
   parameters, layers and the largest activation, and bounds those.

:data:`BOUNDS` is :data:`MARGIN` times the largest figure among the
reference models of the course (mostly ResNet50 of assignment 02);
``tests/test_judge.py`` recomputes the reference figures and fails when a bound
falls below that margin. Each refusal says which figure was too large.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from course.untrusted import Refused

MARGIN = 4

# Parameters per layer class; every other allowed layer has none.
_DENSE, _CONV, _DEPTHWISE, _SEPARABLE, _NORM, _LAYER_NORM, _PRELU = range(7)
LAYERS = {
    "InputLayer": None, "Dense": _DENSE, "Conv1D": _CONV, "Conv2D": _CONV, "DepthwiseConv2D": _DEPTHWISE,
    "SeparableConv2D": _SEPARABLE, "BatchNormalization": _NORM, "LayerNormalization": _LAYER_NORM,
    "PReLU": _PRELU, "Activation": None, "ReLU": None, "LeakyReLU": None, "ELU": None, "Softmax": None,
    "MaxPooling1D": None, "MaxPooling2D": None, "AveragePooling1D": None, "AveragePooling2D": None,
    "GlobalAveragePooling1D": None, "GlobalAveragePooling2D": None, "GlobalMaxPooling1D": None,
    "GlobalMaxPooling2D": None, "Flatten": None, "Reshape": None, "ZeroPadding2D": None, "Cropping2D": None,
    "Add": None, "Subtract": None, "Multiply": None, "Average": None, "Maximum": None, "Concatenate": None,
    "Dropout": None, "SpatialDropout2D": None, "GaussianNoise": None, "Identity": None, "Rescaling": None,
    "RandomFlip": None, "RandomRotation": None, "RandomZoom": None, "RandomTranslation": None,
    "RandomContrast": None, "UnitNormalization": None,
}
MODELS = {("keras", "Sequential"), ("keras.models", "Sequential"), ("keras", "Model"), ("keras", "Functional"),
          ("keras.src.models.functional", "Functional"), ("keras.src.models.sequential", "Sequential")}
SETTINGS_MODULES = ("keras.initializers", "keras.regularizers", "keras.constraints")
POLICIES = {("keras", "DTypePolicy"), ("keras", "FloatDTypePolicy"), ("keras.dtype_policies", "DTypePolicy"),
            ("keras.dtype_policies", "FloatDTypePolicy")}
KERAS_TENSOR = "__keras_tensor__"
# Keras 3 operations a functional model records as nodes of their own (``preprocess_input`` of
# ``keras.applications`` adds ``x / 127.5 - 1`` this way). Only a tensor with a number is accepted:
# the output has the input's shape and no weights.
OPERATIONS = {("keras.src.ops.numpy", name) for name in ("TrueDivide", "Divide", "Subtract", "Add", "Multiply")}


@dataclass(frozen=True)
class Size:
    """What a configuration asks the grader to build."""

    params: int = 0
    layers: int = 0
    units: int = 0  # widest Dense, filters of a convolution, or channels of an input
    kernel: int = 0  # largest kernel, pool or stride side
    input_dim: int = 0  # largest non-batch dimension of an input
    activation: int = 0  # most values in one sample of any layer's output
    depth: int = 0  # most models nested in one another


# MARGIN x the largest figure among the reference models of every model probe (tests/test_judge.py measures
# them): 23,600,006 parameters, 177 layers and 2048 filters (ResNet50), an 8x8 pool (01's convolutional_model),
# inputs of side 96 and 147,456 values in one output (ResNet50 on 96x96x3), and a model nested in another
# (06's MobileNetV2 base inside its classifier).
BOUNDS = Size(params=94_400_024, layers=708, units=8192, kernel=32, input_dim=384, activation=589_824, depth=8)


def allowed(module, name) -> bool:
    """Is ``module.name`` a class the grader rebuilds?"""
    if name == KERAS_TENSOR and module is None:
        return True
    if not isinstance(module, str) or not isinstance(name, str):
        return False
    if (module == "keras.layers" and name in LAYERS) or (module, name) in MODELS or (module, name) in POLICIES \
            or (module, name) in OPERATIONS:
        return True
    if module in SETTINGS_MODULES:
        import keras

        kind = getattr(keras, module.split(".")[1])
        return isinstance(getattr(kind, name, None), type)
    return False


def _check_classes(node, depth: int = 0) -> None:
    if depth > 60:
        raise Refused("the model configuration is nested too deeply")
    if isinstance(node, dict):
        if "class_name" in node or "module" in node:
            module, name = node.get("module"), node.get("class_name")
            if not allowed(module, name):
                raise Refused(f"the model uses {module}.{name}, which the grader does not rebuild: use the Keras "
                              "layers of the exercise (no Lambda layers, custom classes or saved models)")
            if node.get("registered_name") not in (None, name):
                raise Refused(f"the model uses a registered custom object {str(node['registered_name'])[:80]!r}")
        for value in node.values():
            _check_classes(value, depth + 1)
    elif isinstance(node, list):
        for value in node:
            _check_classes(value, depth + 1)


def _ints(value) -> list[int]:
    items = value if isinstance(value, (list, tuple)) else [value]
    out = []
    for item in items:
        if item is None:
            continue
        if isinstance(item, bool) or not isinstance(item, int):
            raise Refused(f"the model configuration holds {str(item)[:40]!r} where a whole number belongs")
        out.append(item)
    return out


class _Counter:
    def __init__(self, bounds: Size):
        self.bounds = bounds
        self.found = {f.name: 0 for f in fields(Size)}

    def see(self, figure: str, value: int, what: str) -> None:
        if figure == "params":
            self.found["params"] += value
        else:
            self.found[figure] = max(self.found[figure], value)
        limit = getattr(self.bounds, figure)
        if self.found[figure] > limit:
            raise Refused(f"the model is larger than any answer in this course: {what} ({figure} "
                          f"{self.found[figure]:,} > {limit:,}, {MARGIN}x the largest reference model)")

    def add_layer(self) -> None:
        self.found["layers"] += 1
        if self.found["layers"] > self.bounds.layers:
            raise Refused(f"the model has more than {self.bounds.layers} layers, {MARGIN}x the largest "
                          "reference model of this course")


def _shape(value, counter: _Counter, what: str) -> tuple:
    if not isinstance(value, (list, tuple)) or not 1 <= len(value) <= 6:
        raise Refused(f"{what}: not a shape")
    dims = tuple(value)
    for d in dims[1:]:
        if d is not None:
            counter.see("input_dim", _ints(d)[0], what)
    return tuple(None if d is None else int(d) for d in dims)


def _values(shape, unknown: int) -> int:
    """Values in one sample of ``shape``; an unknown dimension counts as ``unknown`` (the largest allowed)."""
    return math.prod(d if d is not None else unknown for d in shape[1:]) if len(shape) > 1 else 1


def _layer(entry: dict, inputs, counter: _Counter, depth: int):
    """Output shape of one layer entry on ``inputs`` (a shape, or a list of shapes); counts its parameters."""
    import keras

    name, config = entry.get("class_name"), entry.get("config")
    if not isinstance(config, dict):
        raise Refused(f"{name}: no configuration")
    if (entry.get("module"), name) in MODELS:
        return _model(entry, inputs, counter, depth + 1)
    counter.add_layer()
    if (entry.get("module"), name) in OPERATIONS:
        if isinstance(inputs, list):
            raise Refused(f"{name}: an operation on more than one tensor")
        return tuple(inputs)
    label = f"{name} {str(config.get('name', ''))[:40]}"
    for key in ("units", "filters"):
        if key in config:
            counter.see("units", max(_ints(config[key]) or [0]), label)
    for key in ("kernel_size", "pool_size", "strides", "depth_multiplier"):
        if key in config:
            counter.see("kernel", max(_ints(config[key]) or [0]), label)
    layer = keras.layers.deserialize({k: entry[k] for k in ("module", "class_name", "config", "registered_name")
                                      if k in entry})
    output = layer.compute_output_shape(inputs)
    channels = (inputs[-1] if not isinstance(inputs, list) else None) or 0
    rule = LAYERS.get(name)
    params = 0
    if rule == _DENSE:
        params = channels * config["units"] + config["units"] * bool(config.get("use_bias", True))
    elif rule == _CONV:
        kernel = math.prod(_ints(config["kernel_size"]))
        params = kernel * channels // max(1, int(config.get("groups", 1))) * config["filters"] \
            + config["filters"] * bool(config.get("use_bias", True))
    elif rule == _DEPTHWISE:
        out = channels * int(config.get("depth_multiplier", 1))
        params = math.prod(_ints(config["kernel_size"])) * out + out * bool(config.get("use_bias", True))
    elif rule == _SEPARABLE:
        middle = channels * int(config.get("depth_multiplier", 1))
        params = math.prod(_ints(config["kernel_size"])) * middle + middle * config["filters"] \
            + config["filters"] * bool(config.get("use_bias", True))
    elif rule == _NORM:
        params = 4 * channels
    elif rule == _LAYER_NORM:
        params = 2 * channels
    elif rule == _PRELU:
        params = _values(inputs, counter.bounds.input_dim)
    counter.see("params", params, label)
    outputs = output if isinstance(output, list) else [output]
    for shape in outputs:
        counter.see("activation", _values(tuple(shape), counter.bounds.input_dim), label)
    return output


def _tensors(node) -> list:
    """Every ``keras_history`` reference in a node's arguments, in order, keeping list nesting for one level."""
    if isinstance(node, dict):
        if node.get("class_name") == KERAS_TENSOR:
            history = node.get("config", {}).get("keras_history")
            if not (isinstance(history, list) and len(history) == 3 and isinstance(history[0], str)):
                raise Refused("a layer's input names no layer")
            return [tuple(history)]
        return [t for v in node.values() for t in _tensors(v)]
    if isinstance(node, list):
        return [t for v in node for t in _tensors(v)]
    return []


def _model(entry: dict, inputs, counter: _Counter, depth: int):
    """Output shape of a Sequential or Functional configuration, given its input shape (or None)."""
    counter.see("depth", depth, "models nested in models")
    config = entry.get("config", {})
    layers = config.get("layers")
    if not isinstance(layers, list):
        raise Refused("the model configuration lists no layers")
    if entry.get("class_name") == "Sequential":
        shape = inputs
        for layer in layers:
            if isinstance(layer, dict) and layer.get("class_name") == "InputLayer":
                shape = _shape(layer.get("config", {}).get("batch_shape"), counter, "input")
                counter.see("units", shape[-1] or 0, "input channels")
                counter.add_layer()
                continue
            if shape is None:
                raw = config.get("build_input_shape")
                if raw is None:
                    raise Refused("the Sequential model states no input shape")
                shape = _shape(raw, counter, "input")
            if not isinstance(layer, dict):
                raise Refused("a layer of the model is not a configuration")
            shape = tuple(_layer(layer, shape, counter, depth))
        return shape
    outputs: dict[tuple, list] = {}
    for layer in layers:
        if not isinstance(layer, dict):
            raise Refused("a layer of the model is not a configuration")
        name = layer.get("name")
        if layer.get("class_name") == "InputLayer":
            shape = _shape(layer.get("config", {}).get("batch_shape"), counter, "input")
            counter.see("units", shape[-1] or 0, "input channels")
            counter.add_layer()
            outputs[(name, 0)] = [shape]
            continue
        nodes = layer.get("inbound_nodes")
        if not isinstance(nodes, list) or not nodes:
            if inputs is not None and not outputs:  # a nested model's first layer takes the outer input
                nodes = None
            else:
                raise Refused(f"layer {str(name)[:40]} has no inputs")
        for index, node in enumerate(nodes or [None]):
            if node is None:
                given = inputs
            else:
                args = node.get("args") if isinstance(node, dict) else None
                refs = _tensors(args)
                if not refs:
                    raise Refused(f"layer {str(name)[:40]} has no inputs")
                try:
                    shapes = [outputs[(ref[0], ref[1])][ref[2]] for ref in refs]
                except (KeyError, IndexError, TypeError):
                    raise Refused(f"layer {str(name)[:40]} uses an input defined after it") from None
                packed = isinstance(args, list) and len(args) == 1 and isinstance(args[0], list)
                given = shapes if (packed or len(shapes) > 1) else shapes[0]
            out = _layer(layer, given, counter, depth)
            outputs[(name, index)] = [tuple(s) for s in out] if isinstance(out, list) else [tuple(out)]
    wanted = config.get("output_layers")
    refs = [wanted] if isinstance(wanted, list) and wanted and isinstance(wanted[0], str) else wanted
    try:
        results = [outputs[(ref[0], ref[1])][ref[2]] for ref in refs]
    except (KeyError, IndexError, TypeError):
        raise Refused("the model's outputs name no layer") from None
    return results[0] if len(results) == 1 else results


def check_model_config(config, bounds: Size = BOUNDS) -> Size:
    """Refuse (:class:`Refused`) a configuration the grader must not build; return its measured :class:`Size`.

    The classes are checked first, then the sizes, all without allocating a weight."""
    if not isinstance(config, dict) or (config.get("module"), config.get("class_name")) not in MODELS:
        raise Refused("the recorded model is not a Keras Sequential or Functional model")
    _check_classes(config)
    counter = _Counter(bounds)
    try:
        _model(config, None, counter, 1)
    except Refused:
        raise
    except Exception as error:  # noqa: BLE001  (a configuration Keras cannot read)
        raise Refused(f"the grader could not read the model configuration "
                      f"({type(error).__name__}: {str(error)[:200]})") from None
    return Size(**counter.found)


def model_for_building(config: dict) -> dict:
    """The configuration without what is not judged (compile settings: optimizer, loss and metrics)."""
    return {k: v for k, v in config.items() if k != "compile_config"}
