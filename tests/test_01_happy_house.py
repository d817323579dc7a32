"""Assignment 01 specifics (the generic checks of every assignment are in test_assignments.py):
the required mistakes are covered and correct code written differently gets full marks."""

import pytest
from test_assignments import lost_cells

from course import inprocess, spec

pytestmark = pytest.mark.slow

A = "01_happy_house"
MISTAKES = spec.load(A).mistakes


def _lost(notebook):
    return lost_cells(A, notebook)


def test_at_least_five_mistakes_are_covered():
    assert len(MISTAKES) >= 5
    assert {m.cell for m in MISTAKES} == {"happyModel", "convolutional_model"}


CLASSIC_HAPPY = '''
def happyModel():
    model = tf.keras.Sequential([
        tfl.ZeroPadding2D(padding=(3, 3), input_shape=(64, 64, 3), data_format="channels_last"),
        tfl.Conv2D(32, (7, 7), strides=(1, 1), name='conv0'),
        tfl.BatchNormalization(axis=3, name='bn0'),
        tfl.ReLU(),
        tfl.MaxPooling2D((2, 2), name='max_pool0'),
        tfl.Flatten(),
        tfl.Dense(1, activation='sigmoid', name='fc'),
    ])
    return model
'''

ADD_STYLE_HAPPY = '''
def happyModel():
    model = tf.keras.Sequential()
    model.add(tfl.Input((64, 64, 3)))
    model.add(tfl.ZeroPadding2D(3))
    model.add(tfl.Conv2D(32, 7))
    model.add(tfl.BatchNormalization(axis=-1))
    model.add(tfl.Activation("relu"))
    model.add(tfl.MaxPool2D(pool_size=2, strides=2))
    model.add(tfl.Flatten())
    model.add(tfl.Dense(1))
    model.add(tfl.Activation("sigmoid"))
    return model
'''

FUSED_CONV = '''
def convolutional_model(input_shape):
    inputs = tf.keras.Input(input_shape)
    x = tfl.Conv2D(8, 4, padding="same", activation="relu")(inputs)
    x = tfl.MaxPooling2D(8, padding="same")(x)
    x = tfl.Conv2D(16, 2, padding="same")(x)
    x = tf.keras.activations.relu(x)
    x = tfl.MaxPooling2D(4, 4, "same")(x)
    x = tfl.Flatten()(x)
    outputs = tfl.Softmax()(tfl.Dense(6)(x))
    return tf.keras.Model(inputs, outputs)
'''


@pytest.mark.parametrize("answers", [
    {"happyModel": CLASSIC_HAPPY, "convolutional_model": FUSED_CONV},
    {"happyModel": ADD_STYLE_HAPPY, "convolutional_model": FUSED_CONV},
], ids=["classic-style", "add-style"])
def test_correct_code_written_differently_gets_full_marks(tf, answers):
    lost, results = _lost(inprocess.submission(A, answers))
    assert lost == set(), {g: results[g].message for g in lost}

