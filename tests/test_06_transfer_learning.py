"""Assignment 06 specifics (the generic checks of every assignment are in test_assignments.py): the
committed pictures and base weights, the probe runners on hand-built models, the Keras 3 facts the
exercises rely on, and correct code written differently."""

import importlib.util

import numpy as np
import pytest

from course import inprocess, spec
from course.synth import alpacas
from course.weights import transfer_learning as slot
from utils import data, paths
from utils import transfer_learning as tl

A = "06_transfer_learning"
SPEC_MODULE = paths.REPO_ROOT / "solutions" / A / "spec.py"


def _spec_module():
    loaded = importlib.util.spec_from_file_location("spec_06", SPEC_MODULE)
    module = importlib.util.module_from_spec(loaded)
    loaded.loader.exec_module(module)
    return module


S = _spec_module()


@pytest.fixture(scope="module")
def reference(tf):
    return inprocess.solution_namespace(spec.load(A))


# ---------------------------------------------------------------------------
# The pictures and the base
# ---------------------------------------------------------------------------
def test_the_committed_pictures_are_330_in_two_balanced_folders():
    files = [name for name in data.read_manifest()["files"] if name.startswith(f"{tl.DATA}/")
             and name.endswith(".jpg")]
    assert len(files) == 330
    assert sum(name.startswith(f"{tl.PICTURES}/alpaca/") for name in files) == 165
    assert sum(name.startswith(f"{tl.PICTURES}/not alpaca/") for name in files) == 165


def test_a_picture_is_deterministic():
    a = alpacas.picture(alpacas.SEED, 3)
    assert np.array_equal(np.asarray(a), np.asarray(alpacas.picture(alpacas.SEED, 3)))


def test_the_split_the_notebook_uses_is_264_and_66(tf):
    directory = tl.data_directory()
    split = {subset: tf.keras.utils.image_dataset_from_directory(
        directory, shuffle=True, batch_size=32, image_size=tl.IMG_SIZE, validation_split=0.2, subset=subset,
        seed=42, verbose=False) for subset in ("training", "validation")}
    assert split["training"].class_names == ["alpaca", "not alpaca"]
    counts = {subset: sum(int(labels.shape[0]) for _, labels in dataset) for subset, dataset in split.items()}
    assert counts == {"training": 264, "validation": 66}


def test_the_base_loads_offline_and_says_which_weights(tf, capsys):
    base = tl.load_base_model()
    line = capsys.readouterr().out.strip()
    assert "\n" not in line and slot.WEIGHTS_FILE.rsplit("/", 1)[-1] in line and "datasets" in line
    assert base.count_params() == 2_257_984 and base.output_shape == (None, 5, 5, 1280)
    assert base.get_layer("Conv1").get_weights()[0][0, 0, :, 0] == pytest.approx([0.07517, 0.34905, -0.16981],
                                                                                  abs=1e-5)


def test_the_slot_names_the_weights_the_helper_loads():
    assert slot.WEIGHTS_FILE == tl.WEIGHTS_FILE and slot.ASSIGNMENT == A


# ---------------------------------------------------------------------------
# Keras 3 facts the exercises rely on
# ---------------------------------------------------------------------------
def test_preprocess_input_adds_no_layer_so_index_4_is_not_the_base(reference, tf):
    model = reference["alpaca_model"]((64, 64))
    assert type(model.layers[4]).__name__ == "Dropout"
    assert tl.find_base(model).name.startswith("mobilenetv2")


def test_a_frozen_base_keeps_its_batchnorm_statistics_in_a_training_step(reference, tf):
    model = reference["alpaca_model"]((64, 64))
    base = tl.find_base(model)
    before = [np.array(v) for v in base.non_trainable_weights]
    model.compile(optimizer="adam", loss=tf.keras.losses.BinaryCrossentropy(from_logits=True))
    model.train_on_batch(np.random.default_rng(0).uniform(0, 255, (4, 64, 64, 3)).astype("float32"),
                         np.array([[0.0], [1.0], [0.0], [1.0]], "float32"))
    assert all(np.array_equal(a, np.array(b)) for a, b in zip(before, base.non_trainable_weights))


# ---------------------------------------------------------------------------
# Probe runners
# ---------------------------------------------------------------------------
def test_the_scaling_entries_collapse_whatever_spells_them(reference, tf):
    ours = tl.head_layers(reference["alpaca_model"], kwargs={"image_shape": [64, 64]})
    assert [e["type"] for e in ours] == ["Sequential", "Scaling", "Functional", "GlobalAveragePooling2D",
                                         "Dropout", "Dense"]


def test_pictures_are_read_resized_and_in_pixel_range():
    batch = tl.pictures(S.PUBLIC_PICTURES)
    assert batch.shape == (4, 64, 64, 3) and batch.dtype == np.float32 and 0 <= batch.min() and batch.max() <= 255


def test_the_forward_probe_depends_on_the_picture(reference, tf):
    logits = tl.pretrained_forward(reference["alpaca_model"], kwargs={"image_shape": [64, 64]}, weight_seed=1,
                                   names=S.PUBLIC_PICTURES).ravel()
    assert np.ptp(logits) > 0.3


RESCALING_MODEL = '''def alpaca_model(image_shape=IMG_SIZE, data_augmentation=data_augmenter()):
    shape = (*image_shape, 3)
    base = tf.keras.applications.MobileNetV2(input_shape=shape, include_top=False, weights=base_weights_path())
    base.trainable = False
    inputs = tfl.Input(shape)
    x = tfl.Rescaling(1 / 127.5, offset=-1)(data_augmentation(inputs))
    x = base(x, training=False)
    x = tfl.GlobalAveragePooling2D()(x)
    outputs = tfl.Dense(units=1, activation=None)(tfl.Dropout(rate=0.2)(x))
    return tf.keras.Model(inputs=inputs, outputs=outputs)'''

DIVIDED_FINE_TUNE = '''def fine_tune(model, base_learning_rate):
    base_model = [layer for layer in model.layers
                  if isinstance(layer, tf.keras.Model) and not isinstance(layer, tf.keras.Sequential)][0]
    base_model.trainable = True
    for index, layer in enumerate(base_model.layers):
        layer.trainable = index >= 120 and not isinstance(layer, tfl.BatchNormalization)
    model.compile(loss=tf.keras.losses.BinaryCrossentropy(from_logits=True),
                  optimizer=tf.keras.optimizers.Adam(learning_rate=base_learning_rate / 10), metrics=["accuracy"])
    return model'''

LIST_AUGMENTER = '''def data_augmenter():
    return tf.keras.Sequential([tfl.RandomFlip(mode="horizontal"), tfl.RandomRotation(factor=0.2)])'''


@pytest.mark.slow
def test_equivalent_correct_code_gets_full_marks(tf):
    answers = inprocess.reference_answers(A)
    answers.update(data_augmenter=LIST_AUGMENTER, alpaca_model=RESCALING_MODEL, fine_tune=DIVIDED_FINE_TUNE)
    results = inprocess.run_in_process(inprocess.submission(A, answers), A)
    assert results and all(r.passed for r in results.values()), {g: r.message for g, r in results.items()
                                                                 if not r.passed}
