"""utils.keras2: Keras 2 code raises the real Keras 3 error, and the error gets the hint naming the Keras 3 spelling.

Also: the ``input_shape=`` UserWarning of Keras 3 never reaches stderr after ``setup()`` (nbgrader scores a test
cell that writes to stderr as 0).
"""

import importlib
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from utils.keras2 import hint_for
from utils.notebook import setup

ROOT = Path(__file__).resolve().parents[1]


def raised(fn):
    try:
        fn()
    except Exception as error:  # noqa: BLE001  (the test inspects whatever Keras raises)
        return error
    pytest.fail("expected an error, none was raised")


def throw(error):
    raise error


def pooled(tf, layer):
    return tf.keras.Sequential([tf.keras.Input((8, 8, 3)), layer])


def tiny_model(tf):
    model = tf.keras.Sequential([tf.keras.Input((4,)), tf.keras.layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    return model


def legacy_adam():
    from tensorflow.keras.optimizers.legacy import Adam

    return Adam()


def case(name, code, kind, expected, marks=()):
    """``code(tf)`` raises exactly ``kind``; its hint contains every string in ``expected``."""
    return pytest.param(code, kind, expected, id=name, marks=marks)


CASES = [
    case("MaxPool2D-SAME", lambda tf: pooled(tf, tf.keras.layers.MaxPool2D(padding="SAME")),
         ValueError, ["padding='same'", "lower case"]),
    case("MaxPooling2D-VALID", lambda tf: pooled(tf, tf.keras.layers.MaxPooling2D(padding="VALID")),
         ValueError, ["padding='valid'"]),
    case("AveragePooling2D-SAME-functional",
         lambda tf: tf.keras.layers.AveragePooling2D(pool_size=2, padding="SAME")(tf.keras.Input((8, 8, 3))),
         ValueError, ["padding='same'"]),
    case("MaxPooling2D-SAME-input_shape",
         lambda tf: tf.keras.Sequential([tf.keras.layers.MaxPooling2D(padding="SAME", input_shape=(8, 8, 3))]),
         ValueError, ["padding='same'"],
         marks=pytest.mark.filterwarnings("ignore:Do not pass an `input_shape`:UserWarning")),
    case("Adam-lr", lambda tf: tf.keras.optimizers.Adam(lr=0.01), ValueError, ["learning_rate=0.01"]),
    case("SGD-lr", lambda tf: tf.keras.optimizers.SGD(lr=0.1, momentum=0.9), ValueError, ["learning_rate=0.1"]),
    case("RMSprop-lr", lambda tf: tf.keras.optimizers.RMSprop(lr=1e-3), ValueError, ["learning_rate=0.001"]),
    case("experimental-RandomFlip", lambda tf: tf.keras.layers.experimental.preprocessing.RandomFlip("horizontal"),
         AttributeError, ["tf.keras.layers.RandomFlip", "Rescaling"]),
    case("experimental-Rescaling-keras",
         lambda tf: importlib.import_module("keras").layers.experimental.preprocessing.Rescaling(1 / 255),
         AttributeError, ["tf.keras.layers.Rescaling"]),
    case("experimental-import",
         lambda tf: importlib.import_module("tensorflow.keras.layers.experimental.preprocessing"),
         ModuleNotFoundError, ["from tensorflow.keras.layers import RandomFlip"]),
    case("fit_generator", lambda tf: tiny_model(tf).fit_generator(iter([])), AttributeError, ["model.fit(...)"]),
    case("predict_generator", lambda tf: tiny_model(tf).predict_generator(iter([])),
         AttributeError, ["model.predict(...)"]),
    case("optimizer.lr", lambda tf: tiny_model(tf).optimizer.lr, AttributeError, ["optimizer.learning_rate"]),
    case("optimizers.legacy", lambda tf: legacy_adam(), ImportError, ["tf.keras.optimizers.Adam(learning_rate="]),
    case("layer.output_shape", lambda tf: tiny_model(tf).layers[0].output_shape,
         AttributeError, ["layer.output.shape"]),
    case("layer.input_shape", lambda tf: tiny_model(tf).layers[0].input_shape, AttributeError, ["layer.input.shape"]),
    case("predict_classes", lambda tf: tiny_model(tf).predict_classes(np.zeros((1, 4))),
         AttributeError, ["np.argmax(model.predict(x), axis=-1)"]),
]


@pytest.mark.parametrize("code, kind, expected", CASES)
def test_keras2_error_gets_its_hint(tf, code, kind, expected):
    error = raised(lambda: code(tf))
    assert type(error) is kind, (type(error), error)
    hint = hint_for(error)
    assert hint is not None, str(error)
    for part in expected:
        assert part in hint, (part, hint)


def test_padding_hint_names_the_received_value(tf):
    hint = hint_for(raised(lambda: pooled(tf, tf.keras.layers.MaxPool2D(padding="Same"))))
    assert "padding='same' instead of padding='Same'" in hint


def test_lower_case_padding_and_conv_padding_in_any_case_build(tf):
    """Conv layers lower-case their padding; pooling layers only fail on upper case, so no hint is needed here."""
    pooled(tf, tf.keras.layers.MaxPooling2D(padding="same"))
    pooled(tf, tf.keras.layers.Conv2D(2, 3, padding="SAME"))
    pooled(tf, tf.keras.layers.Conv2D(2, 3, padding="VALID"))


UNRELATED = [
    ("plain", lambda tf: throw(ValueError("something else"))),
    ("dense-shape-mismatch", lambda tf: tiny_model(tf)(np.zeros((2, 5), "float32"))),
    ("add-shape-mismatch", lambda tf: tf.keras.layers.Add()([tf.keras.Input((3,)), tf.keras.Input((4,))])),
    ("unknown-optimizer-argument", lambda tf: tf.keras.optimizers.Adam(foo=1)),
    ("invalid-pooling-padding", lambda tf: pooled(tf, tf.keras.layers.MaxPooling2D(padding="full"))),
    ("tensor-output_shape", lambda tf: tf.keras.Input((3,)).output_shape),
    ("missing-layer", lambda tf: tf.keras.layers.NoSuchLayer),
    ("missing-module", lambda tf: importlib.import_module("tensorflow.keras.no_such_module")),
    ("user-attribute-lr", lambda tf: type("Schedule", (), {})().lr),
]


@pytest.mark.parametrize("code", [c[1] for c in UNRELATED], ids=[c[0] for c in UNRELATED])
def test_unrelated_error_gets_no_hint(tf, code):
    error = raised(lambda: code(tf))
    assert hint_for(error) is None, (error, hint_for(error))


def test_hint_follows_the_cause_chain_as_python_shows_it():
    cause = ValueError("Argument(s) not recognized: {'lr': 0.01}")
    try:
        try:
            raise cause
        except ValueError as inner:
            raise RuntimeError("while building the model") from inner
    except RuntimeError as outer:
        assert "learning_rate=0.01" in hint_for(outer)
    try:
        try:
            raise cause
        except ValueError:
            raise RuntimeError("unrelated") from None
    except RuntimeError as outer:
        assert hint_for(outer) is None


def test_import_does_not_load_tensorflow_or_keras():
    code = "import sys, utils.keras2; print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# --- input_shape= and stderr ------------------------------------------------------------------------------------


def _print_to_stderr(message, category, filename, lineno, file=None, line=None):
    """What Python does with a warning that passes the filters (pytest records warnings instead)."""
    sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


def _input_shape_model(tf):
    tfl = tf.keras.layers
    return tf.keras.Sequential([
        tfl.ZeroPadding2D(padding=3, input_shape=(64, 64, 3)),
        tfl.Conv2D(4, 7),
        tfl.BatchNormalization(axis=3),
        tfl.ReLU(),
        tfl.MaxPooling2D(),
        tfl.Flatten(),
        tfl.Dense(1, activation="sigmoid"),
    ])


def test_input_shape_writes_nothing_to_stderr_after_setup(tf, capfd):
    """Checks sys.stderr and file descriptor 2 (capfd sees both) across build, summary, one fit step and a call."""
    x = np.random.default_rng(0).random((4, 64, 64, 3), dtype=np.float32)
    y = np.ones((4, 1), np.float32)
    with warnings.catch_warnings():
        warnings.showwarning = _print_to_stderr
        setup(seed=0, verbose=False)  # as in a notebook's first cell (pytest undoes filters between tests)
        filters = list(warnings.filters)
        capfd.readouterr()
        model = _input_shape_model(tf)
        model.summary()
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
        model.fit(x, y, epochs=1, batch_size=4, verbose=1)
        model(x)
        captured = capfd.readouterr()
        assert warnings.filters == filters  # Keras left setup()'s filters as they were
    assert captured.err == ""
    assert "zero_padding2d" in captured.out  # the summary went to stdout


@pytest.mark.parametrize("reenable", [warnings.resetwarnings, lambda: warnings.simplefilter("default")],
                         ids=["resetwarnings", "simplefilter-default"])
def test_input_shape_warning_returns_if_filters_are_reset(tf, capfd, reenable):
    """Code that resets the warning filters after setup() (Keras, TensorFlow and IPython do not) brings it back."""
    with warnings.catch_warnings():
        warnings.showwarning = _print_to_stderr
        setup(seed=0, verbose=False)
        reenable()
        capfd.readouterr()
        tf.keras.layers.ZeroPadding2D(padding=3, input_shape=(64, 64, 3))
        err = capfd.readouterr().err
    assert "UserWarning: Do not pass an `input_shape`" in err


KERNEL_CELLS = [
    "from utils.notebook import setup\nsetup()",
    """\
import numpy as np
import tensorflow as tf
tfl = tf.keras.layers
model = tf.keras.Sequential([tfl.ZeroPadding2D(padding=3, input_shape=(64, 64, 3)), tfl.Conv2D(4, 7),
                             tfl.BatchNormalization(axis=3), tfl.ReLU(), tfl.MaxPooling2D(), tfl.Flatten(),
                             tfl.Dense(1, activation="sigmoid")])
model.summary()
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
x = np.random.default_rng(0).random((4, 64, 64, 3), dtype=np.float32)
model.fit(x, np.ones((4, 1), np.float32), epochs=1, batch_size=4)
model(x);""",
    # Control: the kernel does show the warning on stderr once the filters are reset.
    "import warnings\nwarnings.simplefilter('default')\ntfl.ZeroPadding2D(padding=3, input_shape=(64, 64, 3));",
]


@pytest.mark.slow
def test_input_shape_writes_nothing_to_stderr_in_a_kernel():
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in KERNEL_CELLS])
    in_repo = {"metadata": {"path": str(ROOT)}}  # the kernel's working directory, so that `utils` imports
    nbclient.NotebookClient(nb, kernel_name="python3", timeout=300, resources=in_repo).execute()
    stderr = ["".join(o.text for o in cell.outputs if o.output_type == "stream" and o.name == "stderr")
              for cell in nb.cells]
    assert stderr[:2] == ["", ""], stderr[:2]
    assert "UserWarning: Do not pass an `input_shape`" in stderr[2], stderr[2]
