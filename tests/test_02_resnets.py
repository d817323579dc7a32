"""Assignment 02 specifics (the generic checks of every assignment are in test_assignments.py):
the required mistakes are covered, hints, training flag, and correct code written differently."""

import pytest
from test_assignments import lost_cells

from course import inprocess, spec

pytestmark = pytest.mark.slow

A = "02_resnets"
MISTAKES = spec.load(A).mistakes


def _lost(notebook):
    return lost_cells(A, notebook)


def test_the_required_mistakes_are_covered():
    names = {m.name for m in MISTAKES}
    assert {"id_bn_without_training", "id_add_before_last_bn", "conv_shortcut_without_bn",
            "conv_stride_on_middle_conv", "id_same_padding_1x1", "id_no_final_relu", "id_wrong_seed",
            "conv_shortcut_hardcoded_initializer", "id_filters_swapped"} <= names
    assert {m.cell for m in MISTAKES} == {"identity_block", "convolutional_block", "ResNet50"}


def test_failing_checks_name_the_known_mistake(tf):
    """A student who makes a known mistake is told what it is, not only that numbers differ."""

    from utils.resnets import grade

    mistake = spec.load(A).mistake("id_bn_without_training")
    namespace = inprocess.solution_namespace(spec.load(A), mistake)
    with pytest.raises(AssertionError, match="training=training"):
        grade("identity_block_test_training", namespace["identity_block"])


# One Activation object reused for every ReLU, keras.layers.add with the shortcut first,
# BatchNormalization(axis=-1) or without axis, integer kernel sizes and strides,
# the convolutional block's shortcut built before its main path, a ResNet50 built in a loop
# with a separate softmax layer.
REUSE_IDENTITY = '''
def identity_block(X, f, filters, training=True, initializer=random_uniform):
    F1, F2, F3 = filters
    X_shortcut = X
    relu = Activation('relu')
    X = Conv2D(F1, (1, 1), padding='valid', kernel_initializer=initializer(seed=0))(X)
    X = relu(BatchNormalization(axis=-1)(X, training=training))
    X = Conv2D(F2, (f, f), padding='same', kernel_initializer=initializer(seed=0))(X)
    X = relu(BatchNormalization()(X, training=training))
    X = Conv2D(F3, 1, kernel_initializer=initializer(seed=0))(X)
    X = BatchNormalization(axis=3)(X, training=training)
    return relu(tf.keras.layers.add([X_shortcut, X]))
'''

SHORTCUT_FIRST_CONV = '''
def convolutional_block(X, f, filters, s=2, training=True, initializer=glorot_uniform):
    F1, F2, F3 = filters
    shortcut = Conv2D(F3, 1, strides=s, kernel_initializer=initializer(seed=0))(X)
    shortcut = BatchNormalization(axis=3)(shortcut, training=training)
    relu = tf.keras.layers.ReLU()
    X = Conv2D(F1, 1, strides=s, kernel_initializer=initializer(seed=0))(X)
    X = relu(BatchNormalization(axis=3)(X, training=training))
    X = Conv2D(F2, f, padding='same', kernel_initializer=initializer(seed=0))(X)
    X = relu(BatchNormalization(axis=3)(X, training=training))
    X = Conv2D(F3, 1, kernel_initializer=initializer(seed=0))(X)
    X = BatchNormalization(axis=3)(X, training=training)
    return relu(Add()([shortcut, X]))
'''

LOOP_RESNET = '''
def ResNet50(input_shape=(64, 64, 3), classes=6):
    X_input = Input(input_shape)
    X = ZeroPadding2D(3)(X_input)
    X = Conv2D(64, 7, strides=2, kernel_initializer=glorot_uniform(seed=0))(X)
    X = BatchNormalization(axis=3)(X)
    X = tf.keras.layers.ReLU()(X)
    X = MaxPooling2D(3, 2)(X)
    stages = [([64, 64, 256], 1, 2), ([128, 128, 512], 2, 3), ([256, 256, 1024], 2, 5), ([512, 512, 2048], 2, 2)]
    for filters, s, n_identity in stages:
        X = convolutional_block(X, 3, filters, s=s)
        for _ in range(n_identity):
            X = identity_block(X, 3, filters)
    X = AveragePooling2D(pool_size=2)(X)
    X = Flatten()(X)
    X = Dense(classes, kernel_initializer=glorot_uniform(seed=0))(X)
    X = Activation('softmax')(X)
    model = Model(inputs=X_input, outputs=X)
    return model
'''

# A helper for conv + BatchNorm (+ ReLU), `+` and keras activation functions instead of layers,
# and a ResNet50 that passes training=False to its blocks (fit still trains: Keras 3's model-level
# flag wins), with a tuple-driven stage list.
HELPER_IDENTITY = '''
def conv_bn(X, filters, size, stride, padding, training, initializer, relu=True):
    X = Conv2D(filters=filters, kernel_size=size, strides=stride, padding=padding,
               kernel_initializer=initializer(seed=0))(X)
    X = BatchNormalization(axis=3)(X, training=training)
    return tf.keras.activations.relu(X) if relu else X


def identity_block(X, f, filters, training=True, initializer=random_uniform):
    F1, F2, F3 = filters
    out = conv_bn(X, F1, 1, 1, 'valid', training, initializer)
    out = conv_bn(out, F2, f, 1, 'same', training, initializer)
    out = conv_bn(out, F3, 1, 1, 'valid', training, initializer, relu=False)
    return tf.keras.activations.relu(out + X)
'''

HELPER_CONV = '''
def convolutional_block(X, f, filters, s=2, training=True, initializer=glorot_uniform):
    F1, F2, F3 = filters
    main = conv_bn(X, F1, 1, s, 'valid', training, initializer)
    main = conv_bn(main, F2, f, 1, 'same', training, initializer)
    main = conv_bn(main, F3, 1, 1, 'valid', training, initializer, relu=False)
    shortcut = conv_bn(X, F3, 1, s, 'valid', training, initializer, relu=False)
    return tf.keras.activations.relu(main + shortcut)
'''

TRAINING_FALSE_RESNET = '''
def ResNet50(input_shape=(64, 64, 3), classes=6):
    X_input = Input(shape=input_shape)
    X = ZeroPadding2D(padding=(3, 3))(X_input)
    X = Conv2D(filters=64, kernel_size=(7, 7), strides=(2, 2), padding='valid',
               kernel_initializer=glorot_uniform(seed=0))(X)
    X = BatchNormalization(axis=3)(X, training=False)
    X = Activation('relu')(X)
    X = MaxPooling2D(pool_size=(3, 3), strides=(2, 2))(X)
    for width, s, n_identity in ((64, 1, 2), (128, 2, 3), (256, 2, 5), (512, 2, 2)):
        filters = [width, width, 4 * width]
        X = convolutional_block(X, f=3, filters=filters, s=s, training=False)
        for _ in range(n_identity):
            X = identity_block(X, f=3, filters=filters, training=False)
    X = AveragePooling2D(pool_size=(2, 2))(X)
    X = Flatten()(X)
    X = Dense(units=classes, activation='softmax', kernel_initializer=glorot_uniform(seed=0))(X)
    model = Model(inputs=X_input, outputs=X)
    return model
'''


@pytest.mark.parametrize("answers", [
    {"identity_block": REUSE_IDENTITY, "convolutional_block": SHORTCUT_FIRST_CONV, "ResNet50": LOOP_RESNET},
    {"identity_block": HELPER_IDENTITY, "convolutional_block": HELPER_CONV, "ResNet50": TRAINING_FALSE_RESNET},
], ids=["reused-layers-shortcut-first", "helpers-training-false"])
def test_correct_code_written_differently_gets_full_marks(tf, answers):
    lost, results = _lost(inprocess.submission(A, answers))
    assert lost == set(), {g: results[g].message for g in lost}


def test_model_level_training_flag_wins_over_the_one_stored_by_the_blocks(tf):
    """The notebook's claim about Keras 3: ``predict``/``evaluate`` (training=False) override the
    blocks' stored ``training=True``; only a bare ``model(x)`` keeps batch statistics."""
    import numpy as np


    identity_block = inprocess.solution_namespace(spec.load(A))["identity_block"]
    inputs = tf.keras.Input(shape=(4, 4, 6))
    model = tf.keras.Model(inputs, identity_block(inputs, 3, [2, 4, 6]))  # training=True stored
    for layer in model.layers:
        if isinstance(layer, tf.keras.layers.BatchNormalization):
            layer.moving_mean.assign(np.full(layer.moving_mean.shape, 0.5, np.float32))
            layer.moving_variance.assign(np.full(layer.moving_variance.shape, 2.0, np.float32))
    x = np.random.default_rng(0).uniform(-1, 1, (8, 4, 4, 6)).astype(np.float32)
    inference = model(x, training=False).numpy()
    np.testing.assert_allclose(model.predict(x, verbose=0), inference, rtol=1e-5, atol=1e-6)
    model.compile(loss="mse")
    assert abs(model.evaluate(x, inference, verbose=0)) < 1e-8
    assert np.abs(model(x).numpy() - inference).max() > 1e-2  # a bare call uses batch statistics

