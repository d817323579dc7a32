"""Public tests of assignment 02 (Residual networks).

Each function checks one aspect of a graded function and prints a short
confirmation when it passes; a failure raises ``AssertionError`` with what
was expected, what came and where to look.
"""

from utils import checks
from course.probes.resnets import CONV_F, CONV_FILTERS, CONV_S, CONV_SHAPE, ID_F, ID_FILTERS, ID_SHAPE, probe_initializer
from course.references import assert_interface, check, run_probe

ASSIGNMENT = "02_resnets"

# ResNet50() for (64, 64, 3) pictures and 6 classes.
RESNET50_PARAMS = 23_600_006
RESNET50_NON_TRAINABLE = 53_120  # BatchNorm's moving means and variances


def _output_shape(fn, exercise: str, shape, f, filters, expected, **kwargs) -> None:
    """Call a block on a batch of zeros and check the shape of what it returns."""
    __tracebackhide__ = True
    import numpy as np

    X = np.zeros(shape, dtype=np.float32)
    out = fn(X, f, list(filters), training=False, initializer=probe_initializer, **kwargs)
    if out is None:
        checks.fail(exercise, "return value", "Expected the output tensor of the block, got None.",
                    "Check that the block ends with `return X`.")
    settings = ", ".join([f"f={f}", f"filters={list(filters)}"] + [f"{k}={v}" for k, v in kwargs.items()])
    checks.assert_shape(out, expected, exercise=exercise,
                        what=f"output shape for X of shape {tuple(shape)}, {settings}")


def identity_block_structure_test(identity_block) -> None:
    """Shape and layers: three convolutions with BatchNorm, the shortcut added, a final ReLU."""
    __tracebackhide__ = True
    run_probe(ASSIGNMENT, "identity_block/summary",
              lambda: _output_shape(identity_block, "identity_block", ID_SHAPE, ID_F, ID_FILTERS, ID_SHAPE))
    check(ASSIGNMENT, "identity_block/summary", identity_block)
    print("identity_block: output shape and layers are correct.")


def identity_block_inference_test(identity_block) -> None:
    """Behaviour in inference mode: kernels from initializer(seed=0), BatchNorm uses its moving statistics."""
    __tracebackhide__ = True
    check(ASSIGNMENT, "identity_block/inference", identity_block)
    print("identity_block: the output in inference mode matches the reference.")


def identity_block_training_test(identity_block) -> None:
    """Behaviour with training=True: BatchNorm normalises with the statistics of the batch."""
    __tracebackhide__ = True
    check(ASSIGNMENT, "identity_block/training", identity_block)
    print("identity_block: the output in training mode matches the reference.")


def convolutional_block_structure_test(convolutional_block) -> None:
    """Shape and layers: a strided main path and a shortcut with its own 1x1 convolution and BatchNorm."""
    __tracebackhide__ = True
    n, h, w, _ = CONV_SHAPE
    size = lambda d: (d - 1) // CONV_S + 1  # noqa: E731  (a 1x1 'valid' convolution with stride s)
    run_probe(ASSIGNMENT, "convolutional_block/summary",
              lambda: _output_shape(convolutional_block, "convolutional_block", CONV_SHAPE, CONV_F, CONV_FILTERS,
                                    (n, size(h), size(w), CONV_FILTERS[2]), s=CONV_S))
    check(ASSIGNMENT, "convolutional_block/summary", convolutional_block)
    print("convolutional_block: output shape and layers are correct.")


def convolutional_block_inference_test(convolutional_block) -> None:
    __tracebackhide__ = True
    check(ASSIGNMENT, "convolutional_block/inference", convolutional_block)
    print("convolutional_block: the output in inference mode matches the reference.")


def convolutional_block_training_test(convolutional_block) -> None:
    __tracebackhide__ = True
    check(ASSIGNMENT, "convolutional_block/training", convolutional_block)
    print("convolutional_block: the output in training mode matches the reference.")


def ResNet50_test(ResNet50) -> None:
    """Interface: (None, 64, 64, 3) to (None, 6), 23,600,006 parameters of which 53,120 non-trainable."""
    __tracebackhide__ = True
    model = run_probe(ASSIGNMENT, "ResNet50/summary", lambda: checks.build_model(ResNet50, exercise="ResNet50"))
    total, non_trainable = checks.count_params(model)
    assert_interface(ASSIGNMENT, "ResNet50/summary", model, "ResNet50", [
        ("input shape", tuple(model.input_shape), (None, 64, 64, 3),
         "Build the Input from the input_shape argument (default (64, 64, 3))."),
        ("output shape", tuple(model.output_shape), (None, 6),
         "The last layer is Dense(classes, activation='softmax') after AveragePooling2D and Flatten."),
        ("number of parameters", total, RESNET50_PARAMS,
         "Compare each stage with the table: number of identity blocks, filters and strides. "
         "model.summary() lists every layer."),
        ("number of non-trainable parameters (BatchNorm's moving statistics)", non_trainable, RESNET50_NON_TRAINABLE,
         "Each BatchNormalization layer has 2 non-trainable numbers per channel: a BatchNorm is missing or extra."),
    ])
    print("ResNet50: input, output and parameter counts are correct.")


def ResNet50_layers_test(ResNet50) -> None:
    __tracebackhide__ = True
    check(ASSIGNMENT, "ResNet50/summary", ResNet50)
    print("ResNet50: all layers match.")


def ResNet50_forward_test(ResNet50) -> None:
    __tracebackhide__ = True
    check(ASSIGNMENT, "ResNet50/forward", ResNet50)
    print("ResNet50: the forward pass matches the reference.")
