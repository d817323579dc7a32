"""utils.checking.models: the model-summary comparator, seeded weights and the generic model probes."""

import numpy as np
import pytest

from utils.checking import models
from utils.checking.compare import describe_structure_difference
from utils.checking.messages import ProbeError


def _happy(tf, *, padding="valid", order=("bn", "relu"), relu_layer="ReLU", pool=2):
    layers = tf.keras.layers
    stack = [layers.Input((64, 64, 3)), layers.ZeroPadding2D(3), layers.Conv2D(32, 7, padding=padding)]
    for step in order:
        if step == "bn":
            stack.append(layers.BatchNormalization(axis=3))
        elif relu_layer == "ReLU":
            stack.append(layers.ReLU())
        else:
            stack.append(layers.Activation("relu"))
    stack += [layers.MaxPooling2D(pool), layers.Flatten(), layers.Dense(1, activation="sigmoid")]
    return tf.keras.Sequential(stack)


def test_summary_ignores_names_and_equivalent_activation_spellings(tf):
    reference = models.summarize_model(_happy(tf))
    assert describe_structure_difference(models.summarize_model(_happy(tf, relu_layer="Activation")), reference) is None
    assert sum(entry["params"] for entry in reference) == 37633


def test_summary_fused_activation_equals_separate_layer(tf):
    layers = tf.keras.layers
    inputs = tf.keras.Input((16, 16, 3))
    fused = tf.keras.Model(inputs, layers.Conv2D(4, 3, activation="relu")(inputs))
    inputs2 = tf.keras.Input((16, 16, 3))
    separate = tf.keras.Model(inputs2, layers.ReLU()(layers.Conv2D(4, 3)(inputs2)))
    assert describe_structure_difference(models.summarize_model(fused), models.summarize_model(separate)) is None


@pytest.mark.parametrize("variant, expected", [
    (dict(padding="same"), "Layer 2: Conv2D padding is 'same', expected 'valid'"),
    (dict(pool=4), "Layer 5: MaxPooling2D pool_size is [4, 4], expected [2, 2]"),
    (dict(order=("relu", "bn")), "Layer 3: found Activation(relu), expected BatchNormalization"),
    (dict(order=("bn",)), "Layer 4: found MaxPooling2D"),
])
def test_summary_names_the_first_difference_in_one_line(tf, variant, expected):
    difference = describe_structure_difference(models.summarize_model(_happy(tf, **variant)),
                                            models.summarize_model(_happy(tf)))
    assert difference is not None and difference.startswith(expected)
    assert "\n" not in difference


def test_summary_catches_strides_and_activation(tf):
    layers = tf.keras.layers

    def model(strides=1, activation="softmax"):
        inputs = tf.keras.Input((8, 8, 3))
        x = layers.Conv2D(2, 1, strides=strides)(inputs)
        return tf.keras.Model(inputs, layers.Dense(3, activation=activation)(layers.Flatten()(x)))

    base = models.summarize_model(model())
    assert "strides is [2, 2]" in describe_structure_difference(models.summarize_model(model(strides=2)), base)
    relu = models.summarize_model(model(activation="relu"))
    assert "activation is 'relu'" in describe_structure_difference(relu, base)


def test_branch_order_does_not_matter(tf):
    layers = tf.keras.layers

    def block(shortcut_first):
        inputs = tf.keras.Input((8, 8, 4))
        if shortcut_first:
            shortcut = layers.Conv2D(6, 1)(inputs)
            main = layers.Conv2D(6, 3, padding="same")(inputs)
        else:
            main = layers.Conv2D(6, 3, padding="same")(inputs)
            shortcut = layers.Conv2D(6, 1)(inputs)
        return tf.keras.Model(inputs, layers.Add()([main, shortcut]))

    a, b = block(False), block(True)
    assert describe_structure_difference(models.summarize_model(a), models.summarize_model(b)) is None
    out_a = models.seeded_forward(a, weight_seed=1, input_seed=2)
    out_b = models.seeded_forward(b, weight_seed=1, input_seed=2)
    np.testing.assert_allclose(out_a, out_b, rtol=1e-6)


def test_seeded_weights_are_reproducible_and_make_bn_modes_differ(tf):
    model = _happy(tf)
    first = models.seeded_forward(model, weight_seed=3, input_seed=4, batch=8)
    again = models.seeded_forward(_happy(tf), weight_seed=3, input_seed=4, batch=8)
    np.testing.assert_array_equal(first, again)
    training = models.seeded_forward(_happy(tf), weight_seed=3, input_seed=4, batch=8, training=True)
    assert np.max(np.abs(training - first)) > 1e-3


def test_build_model_rejects_a_missing_return(tf):
    with pytest.raises(ProbeError, match="Expected a keras.Model, got NoneType"):
        models.build_model(lambda: None)


def test_interface_counts_parameters_exactly(tf):
    facts = models.interface(lambda: _happy(tf))
    assert facts == {"input_shape": [None, 64, 64, 3], "output_shape": [None, 1],
                     "params": 37_633, "non_trainable_params": 64}
    assert all(type(v) is int for v in (facts["params"], facts["non_trainable_params"]))
