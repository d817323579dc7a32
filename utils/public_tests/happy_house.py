"""Public tests of assignment 01 (Happy House).

Each function checks one aspect of a graded function and prints a short
confirmation when it passes; a failure raises ``AssertionError`` with what
was expected, what came and where to look.
"""

from utils import checks
from course.references import assert_interface, check, expected, run_probe

ASSIGNMENT = "01_happy_house"


def _total_params(key: str) -> int:
    return sum(entry["params"] for entry in expected(ASSIGNMENT, key))


def _check_interface(model, exercise: str, input_shape, output_shape, summary_key: str) -> None:
    __tracebackhide__ = True
    generic = ("Compare your layers with the table in the exercise; model.summary() lists each layer's "
               "output shape and parameter count.")
    assert_interface(ASSIGNMENT, summary_key, model, exercise, [
        ("input shape", tuple(model.input_shape), input_shape, generic),
        ("output shape", tuple(model.output_shape), output_shape, generic),
        ("number of parameters", model.count_params(), _total_params(summary_key), generic),
    ])


def happyModel_test(happyModel) -> None:
    """Interface: a Keras model from (None, 64, 64, 3) to (None, 1) with 37,633 parameters."""
    __tracebackhide__ = True
    model = run_probe(ASSIGNMENT, "happyModel/summary", lambda: checks.build_model(happyModel, exercise="happyModel"))
    _check_interface(model, "happyModel", (None, 64, 64, 3), (None, 1), "happyModel/summary")
    print("happyModel: input, output and parameter count are correct.")


def happyModel_layers_test(happyModel) -> None:
    """Structure: the layers, in order, with their settings."""
    __tracebackhide__ = True
    check(ASSIGNMENT, "happyModel/summary", happyModel)
    print("happyModel: all layers match.")


def happyModel_forward_test(happyModel) -> None:
    """Behaviour: with seeded weights, the model computes the reference output."""
    __tracebackhide__ = True
    check(ASSIGNMENT, "happyModel/forward", happyModel)
    print("happyModel: the forward pass matches the reference.")


def convolutional_model_test(convolutional_model) -> None:
    """Interface: (None, 64, 64, 3) to (None, 6) with 1,310 parameters."""
    __tracebackhide__ = True
    model = run_probe(ASSIGNMENT, "convolutional_model/summary",
                      lambda: checks.build_model(convolutional_model, (64, 64, 3), exercise="convolutional_model"))
    _check_interface(model, "convolutional_model", (None, 64, 64, 3), (None, 6), "convolutional_model/summary")
    print("convolutional_model: input, output and parameter count are correct.")


def convolutional_model_layers_test(convolutional_model) -> None:
    __tracebackhide__ = True
    check(ASSIGNMENT, "convolutional_model/summary", convolutional_model)
    print("convolutional_model: all layers match.")


def convolutional_model_forward_test(convolutional_model) -> None:
    __tracebackhide__ = True
    check(ASSIGNMENT, "convolutional_model/forward", convolutional_model)
    print("convolutional_model: the forward pass matches the reference.")
