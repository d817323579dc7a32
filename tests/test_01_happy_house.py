"""Assignment 01, in-process: the solution passes, the release fails, each known mistake
loses exactly its cells, and correct code written differently gets full marks."""

import pytest

from utils import grading, registry

A = "01_happy_house"
MUTANTS = registry.mutants(A)


def _lost(notebook):
    results = grading.run_in_process(notebook, A)
    return {gid for gid, result in results.items() if not result.passed}, results


def test_reference_solution_passes_every_test_cell(tf):
    lost, results = _lost(grading.submission(A, grading.reference_answers(A)))
    assert lost == set(), {g: results[g].message for g in lost}
    assert len(results) == 6


def test_release_fails_every_test_cell(tf):
    lost, results = _lost(grading.submission(A))
    assert lost == set(results)


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.name for m in MUTANTS])
def test_each_mistake_loses_exactly_its_cells(tf, mutant):
    lost, results = _lost(grading.submission(A, mutants=[mutant]))
    assert lost == set(mutant.lost), {g: results[g].message for g in lost}


def test_at_least_five_mistakes_are_covered():
    assert len(MUTANTS) >= 5
    assert {m.cell for m in MUTANTS} == {"happyModel", "convolutional_model"}


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
    lost, results = _lost(grading.submission(A, answers))
    assert lost == set(), {g: results[g].message for g in lost}


def test_references_are_current(tf):
    """The stored reference outputs equal what the solution notebook computes now."""
    import numpy as np

    from utils import references

    meta, arrays = references.compute(A)
    stored_meta, stored_arrays = references.load(A)
    assert meta == stored_meta, "reference summaries or hints changed: run `make references`"
    assert sorted(arrays) == sorted(stored_arrays)
    for key in arrays:
        np.testing.assert_allclose(arrays[key], stored_arrays[key], rtol=1e-5, atol=1e-6, err_msg=key)
