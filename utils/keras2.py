"""Hints for Keras 2 code that fails under Keras 3.

``hint_for(error)`` looks up a raised exception in ``RULES`` and returns a
one- or two-sentence hint naming the Keras 3 spelling, or ``None`` when the
error is not a known Keras 2 leftover. Each rule is matched on the exception's
type and a regular expression searched in ``str(error)``; the patterns follow
the messages of Keras 3.15 with the TensorFlow backend.

Not covered, because Keras 3 raises nothing for them:

* ``Conv2D(padding="SAME")`` and the other convolution layers: they accept
  padding in any case.
* ``decay=`` given to an optimizer: Keras 3 warns and ignores it (``setup()``
  hides the warning); use a ``tf.keras.optimizers.schedules`` learning-rate
  schedule instead.
* ``input_shape=`` given to a layer: only a ``UserWarning``, which
  ``utils.notebook.setup()`` filters out.

Importing this module does not import TensorFlow or Keras.
"""

from __future__ import annotations

import re
import string
from typing import NamedTuple


class Rule(NamedTuple):
    name: str
    types: tuple[type[BaseException], ...]
    pattern: re.Pattern
    hint: str  # str.format template over the pattern's named groups; ``{group!l}`` gives it in lower case


RULES: tuple[Rule, ...] = (
    # MaxPooling2D(padding="SAME") is accepted when built, and fails when the layer is called on a symbolic
    # input (Input(...), Sequential with input_shape, model.fit): ValueError "Exception encountered when calling
    # MaxPooling2D.call(). ... Argument `padding` must be either 'valid' or 'same'. Received: padding=SAME ..."
    Rule(
        "pooling_padding_case",
        (ValueError,),
        re.compile(
            r"Argument `padding` must be either 'valid' or 'same'\. Received: padding=(?P<padding>(?i:same|valid))\b"
        ),
        "Keras 3 pooling layers (MaxPooling2D, AveragePooling2D, ...) accept padding in lower case only: "
        "write padding='{padding!l}' instead of padding='{padding}'.",
    ),
    # Adam(lr=0.01): ValueError "Argument(s) not recognized: {'lr': 0.01}"
    Rule(
        "optimizer_lr_argument",
        (ValueError,),
        re.compile(r"Argument\(s\) not recognized: \{.*'lr': (?P<lr>[^,}]+)"),
        "Keras 3 optimizers take learning_rate, not lr: write e.g. tf.keras.optimizers.Adam(learning_rate={lr}) "
        "(the same for SGD, RMSprop, ...).",
    ),
    # tf.keras.layers.experimental.preprocessing.RandomFlip: AttributeError "module 'keras._tf_keras.keras.layers'
    # has no attribute 'experimental'"; from tensorflow.keras.layers.experimental.preprocessing import RandomFlip:
    # ModuleNotFoundError "No module named 'tensorflow.keras.layers.experimental'"
    Rule(
        "experimental_preprocessing",
        (AttributeError, ImportError),
        re.compile(
            r"module '[\w.]*\blayers' has no attribute 'experimental'"
            r"|No module named '[\w.]*\blayers\.experimental\b"
        ),
        "Keras 3 has no layers.experimental.preprocessing: the preprocessing layers live directly under layers, "
        "e.g. tf.keras.layers.RandomFlip, tf.keras.layers.RandomRotation, tf.keras.layers.Rescaling "
        "(or: from tensorflow.keras.layers import RandomFlip).",
    ),
    # model.fit_generator(...): AttributeError "'Sequential' object has no attribute 'fit_generator'"
    Rule(
        "generator_methods",
        (AttributeError,),
        re.compile(r"object has no attribute '(?P<method>fit|evaluate|predict)_generator'"),
        "Keras 3 models have no {method}_generator(): call model.{method}(...), which takes Python generators, "
        "keras.utils.PyDataset and tf.data datasets directly.",
    ),
    # optimizer.lr / model.optimizer.lr: AttributeError "'Adam' object has no attribute 'lr'"
    Rule(
        "optimizer_lr_attribute",
        (AttributeError,),
        re.compile(
            r"'(?:Adam|AdamW|SGD|RMSprop|Adagrad|Adadelta|Adamax|Nadam|Ftrl|Lion|Lamb|Adafactor|Muon|\w*Optimizer)' "
            r"object has no attribute 'lr'"
        ),
        "Keras 3 optimizers have no .lr attribute: use optimizer.learning_rate "
        "(read it with float(optimizer.learning_rate), set it with optimizer.learning_rate = 0.001).",
    ),
    # tf.keras.optimizers.legacy.Adam(): ImportError "`keras.optimizers.legacy` is not supported in Keras 3. ..."
    Rule(
        "legacy_optimizers",
        (ImportError,),
        re.compile(r"keras\.optimizers\.legacy` is not supported in Keras 3"),
        "Keras 3 has a single family of optimizers: write tf.keras.optimizers.Adam(learning_rate=...) "
        "(or SGD, RMSprop, ...) instead of tf.keras.optimizers.legacy.Adam(...).",
    ),
    # layer.output_shape: AttributeError "'Conv2D' object has no attribute 'output_shape'" (tensors excluded: they
    # never had one)
    Rule(
        "layer_shape_attributes",
        (AttributeError,),
        re.compile(r"'(?!\w*Tensor')\w+' object has no attribute '(?P<side>input|output)_shape'"),
        "Keras 3 layers have no {side}_shape attribute: use layer.{side}.shape (for a layer called on a Keras Input), "
        "or model.{side}_shape for a whole model.",
    ),
    # model.predict_classes(x): AttributeError "'Sequential' object has no attribute 'predict_classes'"
    # (removed in TensorFlow 2.6, still common in Keras 2 tutorials)
    Rule(
        "predict_classes",
        (AttributeError,),
        re.compile(r"object has no attribute 'predict_classes'"),
        "Keras models have no predict_classes(): use np.argmax(model.predict(x), axis=-1) for a softmax output, "
        "or (model.predict(x) > 0.5).astype('int32') for a sigmoid output.",
    ),
)


class _HintFormatter(string.Formatter):
    def convert_field(self, value, conversion):
        if conversion == "l":
            return str(value).lower()
        return super().convert_field(value, conversion)


_FORMATTER = _HintFormatter()


def _chain(error: BaseException | None):
    """The error, then the exceptions it was raised from, as Python's traceback display shows them."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = error.__cause__ if error.__cause__ is not None or error.__suppress_context__ else error.__context__


def hint_for(error: BaseException) -> str | None:
    """A hint naming the Keras 3 spelling when ``error`` comes from Keras 2 code, else ``None``."""
    for exc in _chain(error):
        try:
            text = str(exc)
        except Exception:  # a broken __str__ must not hide the original error
            continue
        for rule in RULES:
            if isinstance(exc, rule.types):
                match = rule.pattern.search(text)
                if match:
                    return _FORMATTER.format(rule.hint, **match.groupdict(default=""))
    return None
