"""utils.checks: tolerances, messages, the model-summary comparator and seeded weights."""

import numpy as np
import pytest

from utils import checks


def test_assert_close_passes_within_float32_tolerance():
    expected = np.linspace(-1, 1, 10, dtype=np.float32)
    checks.assert_close(expected * (1 + 5e-7), expected, exercise="f", what="x", **checks.TOL_ELEMENT)


def test_assert_close_message_locates_the_largest_difference():
    expected = np.zeros((2, 3))
    actual = expected.copy()
    actual[1, 2] = 0.5
    with pytest.raises(AssertionError) as caught:
        checks.assert_close(actual, expected, exercise="iou", what="IoU of two boxes", **checks.TOL_ELEMENT)
    message = str(caught.value)
    assert message.startswith("iou: IoU of two boxes")
    assert "1 of 6 values" in message and "index (1, 2)" in message and "got 0.5" in message


def test_assert_close_reports_shape_and_nan():
    with pytest.raises(checks.CheckError, match=r"shape \(3,\), got \(2,\)"):
        checks.assert_close([1, 2], [1, 2, 3], exercise="f", what="x", **checks.TOL_EXACT)
    with pytest.raises(checks.CheckError, match="NaN"):
        checks.assert_close([1, np.nan], [1, 2], exercise="f", what="x", **checks.TOL_EXACT)


def test_assert_close_rejects_non_numbers_clearly():
    with pytest.raises(checks.CheckError, match="Expected numbers"):
        checks.assert_close(None, [1.0], exercise="f", what="x", **checks.TOL_EXACT)


def test_fingerprint_hint_only_for_a_matching_mistake():
    reference = np.array([1.0, 2.0, 3.0])
    mistake = checks.Fingerprint("no_clamp", np.array([1.0, -2.0, 3.0]), "clamp the intersection at 0")
    with pytest.raises(checks.CheckError, match="Hint: clamp the intersection at 0"):
        checks.assert_close([1.0, -2.0, 3.0], reference, exercise="f", what="x", fingerprints=[mistake],
                            **checks.TOL_ELEMENT)
    with pytest.raises(checks.CheckError) as caught:
        checks.assert_close([9.0, 9.0, 9.0], reference, exercise="f", what="x", fingerprints=[mistake],
                            **checks.TOL_ELEMENT)
    assert "Hint" not in str(caught.value)


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
    reference = checks.summarize_model(_happy(tf))
    assert checks.describe_difference(checks.summarize_model(_happy(tf, relu_layer="Activation")), reference) is None
    assert sum(entry["params"] for entry in reference) == 37633


def test_summary_fused_activation_equals_separate_layer(tf):
    layers = tf.keras.layers
    inputs = tf.keras.Input((16, 16, 3))
    fused = tf.keras.Model(inputs, layers.Conv2D(4, 3, activation="relu")(inputs))
    inputs2 = tf.keras.Input((16, 16, 3))
    separate = tf.keras.Model(inputs2, layers.ReLU()(layers.Conv2D(4, 3)(inputs2)))
    assert checks.describe_difference(checks.summarize_model(fused), checks.summarize_model(separate)) is None


@pytest.mark.parametrize("variant, expected", [
    (dict(padding="same"), "layer 2: Conv2D padding is 'same', expected 'valid'"),
    (dict(pool=4), "layer 5: MaxPooling2D pool_size is [4, 4], expected [2, 2]"),
    (dict(order=("relu", "bn")), "layer 3: found Activation(relu), expected BatchNormalization"),
    (dict(order=("bn",)), "layer 4: found MaxPooling2D"),
])
def test_summary_names_the_first_difference_in_one_line(tf, variant, expected):
    difference = checks.describe_difference(checks.summarize_model(_happy(tf, **variant)),
                                            checks.summarize_model(_happy(tf)))
    assert difference is not None and difference.startswith(expected)
    assert "\n" not in difference


def test_summary_catches_strides_and_activation(tf):
    layers = tf.keras.layers

    def model(strides=1, activation="softmax"):
        inputs = tf.keras.Input((8, 8, 3))
        x = layers.Conv2D(2, 1, strides=strides)(inputs)
        return tf.keras.Model(inputs, layers.Dense(3, activation=activation)(layers.Flatten()(x)))

    base = checks.summarize_model(model())
    assert "strides is [2, 2]" in checks.describe_difference(checks.summarize_model(model(strides=2)), base)
    assert "activation is 'relu'" in checks.describe_difference(checks.summarize_model(model(activation="relu")), base)


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
    assert checks.describe_difference(checks.summarize_model(a), checks.summarize_model(b)) is None
    out_a = checks.seeded_forward(a, weight_seed=1, input_seed=2)
    out_b = checks.seeded_forward(b, weight_seed=1, input_seed=2)
    np.testing.assert_allclose(out_a, out_b, rtol=1e-6)


def test_seeded_weights_are_reproducible_and_make_bn_modes_differ(tf):
    model = _happy(tf)
    first = checks.seeded_forward(model, weight_seed=3, input_seed=4, batch=8)
    again = checks.seeded_forward(_happy(tf), weight_seed=3, input_seed=4, batch=8)
    np.testing.assert_array_equal(first, again)
    training = checks.seeded_forward(_happy(tf), weight_seed=3, input_seed=4, batch=8, training=True)
    assert np.max(np.abs(training - first)) > 1e-3


def test_build_model_rejects_a_missing_return(tf):
    with pytest.raises(checks.CheckError, match="Expected a keras.Model, got NoneType"):
        checks.build_model(lambda: None, exercise="happyModel")
