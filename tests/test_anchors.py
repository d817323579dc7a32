"""Independent anchors: expected values that do not come from our own solution notebooks.

The reference outputs the course's checks compare students' code with are computed from the solution
notebooks (``course references``). These tests pin the solutions themselves to values of outside origin:

* numbers published with the classic "Residual Networks" and "Convolution Model - Application"
  programming assignments (DeepLearning.AI Deep Learning Specialization, course 4 "Convolutional
  Neural Networks", week 1 and week 2), which our assignments 01 and 02 follow;
* closed forms and parameter counts worked out by hand from the layer definitions;
* a NumPy forward pass of the identity block written from its textbook definition.
"""

import numpy as np
import pytest

from course import inprocess, spec


@pytest.fixture(scope="module")
def resnets(tf):
    return inprocess.solution_namespace(spec.load("02_resnets"))


@pytest.fixture(scope="module")
def happy_house(tf):
    return inprocess.solution_namespace(spec.load("01_happy_house"))


def _count(weights) -> int:
    return int(sum(np.prod(w.shape) for w in weights))


# --- The identity block on constant inputs, with every kernel initialised to 1 ------------------------------

# The published check: three examples, filled with -1, 1 and 3, of shape (4, 4, 3).
def _constant_examples():
    X1 = np.ones((1, 4, 4, 3)) * -1
    X2 = np.ones((1, 4, 4, 3)) * 1
    X3 = np.ones((1, 4, 4, 3)) * 3
    return np.concatenate((X1, X2, X3), axis=0).astype(np.float32)


def _resume(A):
    """Mean over channels of the first and last rows: shape (3, 2, 4)."""
    return np.asarray(A)[:, (0, -1), :, :].mean(axis=3)


# identity_block(X, f=2, filters=[4, 4, 3], kernels = 1, training=False), as published in the assignment's
# public_tests.identity_block_test (the notebook's "Expected value" prints the same numbers rounded to 5 decimals:
# 96.85618, 578.13715).
PUBLISHED_INFERENCE = np.array([
    [[0.0, 0.0, 0.0, 0.0],
     [0.0, 0.0, 0.0, 0.0]],
    [[192.71236, 192.71236, 192.71236, 96.85619],
     [96.85619, 96.85619, 96.85619, 48.9281]],
    [[578.1371, 578.1371, 578.1371, 290.56854],
     [290.56854, 290.56854, 290.56854, 146.78427]],
])

# identity_block(X, f=3, filters=[3, 3, 3], kernels = 1, training=True), the second half of the same published
# test: BatchNormalization normalises with the statistics of this batch of three examples.
PUBLISHED_TRAINING = np.array([
    [[0.0, 0.0, 0.0, 0.0],
     [0.0, 0.0, 0.0, 0.0]],
    [[0.37394285, 0.37394285, 0.37394285, 0.37394285],
     [0.37394285, 0.37394285, 0.37394285, 0.37394285]],
    [[3.2379014, 4.1394243, 4.1394243, 3.2379014],
     [3.2379014, 4.1394243, 4.1394243, 3.2379014]],
])


def _closed_form_inference():
    """The published inference values worked out by hand (float64).

    Kernels are 1, biases 0, and a fresh BatchNormalization in inference mode (gamma 1, beta 0, moving mean 0,
    moving variance 1, epsilon 1e-3) multiplies by s = 1/sqrt(1.001). For a constant input x > 0 with 3 channels:
    conv 1x1 -> 3x in each of 4 channels, BN -> 3xs; the 2x2 'same' convolution (TensorFlow pads 'same' with the
    extra row and column at the bottom/right) sums 2*2 positions * 4 channels = 16 terms inside the picture,
    8 on the last row or column, 4 in the last corner, BN -> * s; the 1x1 convolution to 3 channels sums 4
    channels, BN -> * s. Main path: 192 x s^3 inside, 96 x s^3 on the last row/column, 48 x s^3 in the corner;
    plus the shortcut x, then ReLU. For x = -1 the first ReLU gives 0, the output is ReLU(-1) = 0.
    """
    s3 = 1.001 ** -1.5
    rows = []
    for x in (-1.0, 1.0, 3.0):
        if x < 0:
            rows.append(np.zeros((2, 4)))
            continue
        main = x * s3 * np.array([[192, 192, 192, 96],    # first row: last column on the right edge
                                  [96, 96, 96, 48]])      # last row: bottom edge, last corner
        rows.append(main + x)
    return np.array(rows)


# Tolerances for the constant-input checks. These are float32 sums of a few dozen exactly representable
# constants and three BatchNormalization scalings: the float32 result is within ~2e-7 relative of the float64
# closed form (float32 epsilon 1.2e-7). The published numbers are printed to 7-8 significant digits (48.9281 is
# 2e-7 from the closed form, its rounding alone allows 1e-6). rtol 1e-5 covers both with margin and still catches
# the smallest structural mistake: leaving out one BatchNormalization changes the values by a factor
# sqrt(1.001), i.e. 5e-4 relative. The zeros are exact (ReLU), atol only keeps rtol meaningful around them.
RTOL = 1e-5
ATOL = 1e-6


def test_published_values_agree_with_the_closed_form():
    np.testing.assert_allclose(PUBLISHED_INFERENCE, _closed_form_inference(), rtol=RTOL, atol=ATOL)


def test_identity_block_inference_matches_the_published_values(resnets, tf):
    identity_block = resnets["identity_block"]
    A3 = identity_block(_constant_examples(), f=2, filters=[4, 4, 3],
                        initializer=lambda seed=0: tf.keras.initializers.Constant(value=1), training=False)
    assert tuple(A3.shape) == (3, 4, 4, 3)
    resume = _resume(A3)
    np.testing.assert_allclose(resume, PUBLISHED_INFERENCE, rtol=RTOL, atol=ATOL)
    # float32 against the float64 hand computation: a few float32 roundings (observed <= 1.5e-7 relative).
    np.testing.assert_allclose(resume, _closed_form_inference(), rtol=1e-6, atol=ATOL)


def test_identity_block_training_matches_the_published_values(resnets, tf):
    identity_block = resnets["identity_block"]
    A4 = identity_block(_constant_examples(), f=3, filters=[3, 3, 3],
                        initializer=lambda seed=7: tf.keras.initializers.Constant(value=1), training=True)
    # Batch statistics in float32 (means and variances over 48 values per channel): the solution is within
    # 3e-7 relative of the published values; RTOL as above.
    np.testing.assert_allclose(_resume(A4), PUBLISHED_TRAINING, rtol=RTOL, atol=ATOL)


# --- Parameter counts, by hand ------------------------------------------------------------------------------

def test_happy_model_parameter_count(happy_house):
    model = happy_house["happyModel"]()
    # ZeroPadding2D(3): 64x64x3 -> 70x70x3, no parameters.
    conv = 7 * 7 * 3 * 32 + 32          # Conv2D(32, 7x7), 'valid': 70x70 -> 64x64x32; 4,736
    batch_norm = 4 * 32                 # gamma, beta (trainable), moving mean, moving variance; 128
    dense = (32 * 32 * 32) * 1 + 1      # MaxPooling2D(2): 32x32x32 = 32,768 inputs, Dense(1); 32,769
    assert conv + batch_norm + dense == 37_633
    assert model.count_params() == 37_633
    assert _count(model.non_trainable_weights) == 2 * 32 == 64


def test_convolutional_model_parameter_count(happy_house):
    model = happy_house["convolutional_model"]((64, 64, 3))
    conv1 = 4 * 4 * 3 * 8 + 8           # Conv2D(8, 4x4, 'same'): 64x64x8; 392; MaxPool 8/8 'same' -> 8x8x8
    conv2 = 2 * 2 * 8 * 16 + 16         # Conv2D(16, 2x2, 'same'): 8x8x16; 528; MaxPool 4/4 'same' -> 2x2x16
    dense = (2 * 2 * 16) * 6 + 6        # Flatten: 64 inputs, Dense(6); 390
    assert conv1 + conv2 + dense == 1_310
    assert model.count_params() == 1_310
    assert _count(model.non_trainable_weights) == 0


def _conv(k, c_in, c_out):
    """Parameters of a k x k Conv2D with bias."""
    return k * k * c_in * c_out + c_out


def _bn(c):
    """Parameters of a BatchNormalization over c channels: 2c trainable (gamma, beta), 2c not (moving stats)."""
    return 4 * c


def _convolutional_block(c_in, F1, F2, F3):
    main = _conv(1, c_in, F1) + _bn(F1) + _conv(3, F1, F2) + _bn(F2) + _conv(1, F2, F3) + _bn(F3)
    shortcut = _conv(1, c_in, F3) + _bn(F3)
    return main + shortcut


def _identity_block(F1, F2, F3):
    return _conv(1, F3, F1) + _bn(F1) + _conv(3, F1, F2) + _bn(F2) + _conv(1, F2, F3) + _bn(F3)


@pytest.mark.slow
def test_resnet50_parameter_count(resnets):
    # Stem: ZeroPadding2D(3) 64 -> 70, Conv2D(64, 7x7, stride 2) -> 32, BN, MaxPooling2D(3, 2) -> 15.
    stem = _conv(7, 3, 64) + _bn(64)                                               # 9,472 + 256
    # Each stage: one convolutional block, then identity blocks (per-block counts on the right).
    stage2 = _convolutional_block(64, 64, 64, 256) + 2 * _identity_block(64, 64, 256)         # 76,928; 71,552
    stage3 = _convolutional_block(256, 128, 128, 512) + 3 * _identity_block(128, 128, 512)    # 383,232; 282,368
    stage4 = _convolutional_block(512, 256, 256, 1024) + 5 * _identity_block(256, 256, 1024)  # 1,520,128; 1,121,792
    stage5 = _convolutional_block(1024, 512, 512, 2048) + 2 * _identity_block(512, 512, 2048)  # 6,054,912; 4,471,808
    # Spatial size 15 -> 15 -> 8 -> 4 -> 2, AveragePooling2D(2) -> 1x1x2048, Dense(6).
    dense = 2048 * 6 + 6
    assert (stem, stage2, stage3, stage4, stage5, dense) == (9_728, 220_032, 1_230_336, 7_129_088, 14_998_528, 12_294)
    total = stem + stage2 + stage3 + stage4 + stage5 + dense
    assert total == 23_600_006
    # Non-trainable: the moving mean and variance of every BatchNormalization, 2 per normalised channel.
    bn_channels = (64
                   + (64 + 64 + 256 + 256) + 2 * (64 + 64 + 256)
                   + (128 + 128 + 512 + 512) + 3 * (128 + 128 + 512)
                   + (256 + 256 + 1024 + 1024) + 5 * (256 + 256 + 1024)
                   + (512 + 512 + 2048 + 2048) + 2 * (512 + 512 + 2048))
    assert 2 * bn_channels == 53_120

    model = resnets["ResNet50"]()
    assert model.count_params() == 23_600_006
    assert _count(model.non_trainable_weights) == 53_120
    assert _count(model.trainable_weights) == 23_600_006 - 53_120


# --- The identity block against a NumPy forward pass written from the definition -----------------------------

EPSILON = 1e-3  # Keras BatchNormalization's default epsilon


def _conv2d(x, kernel, bias, padding):
    """Stride-1 2D cross-correlation (what deep-learning frameworks call convolution), NHWC, float64.

    out[n, i, j, o] = bias[o] + sum over (a, b, c) of x_padded[n, i + a, j + b, c] * kernel[a, b, c, o].
    'same' (odd kernel size f only) pads (f - 1) // 2 zeros on every side; 'valid' pads nothing.
    """
    f = kernel.shape[0]
    if padding == "same":
        assert f % 2 == 1, "symmetric 'same' padding needs an odd kernel size"
        p = (f - 1) // 2
        x = np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
    m, h, w, _ = x.shape
    out = np.zeros((m, h - f + 1, w - f + 1, kernel.shape[3]))
    for i in range(out.shape[1]):
        for j in range(out.shape[2]):
            window = x[:, i:i + f, j:j + f, :]
            out[:, i, j, :] = np.einsum("nabc,abco->no", window, kernel) + bias
    return out


def _batch_norm(x, gamma, beta, moving_mean, moving_variance):
    """BatchNormalization in inference mode, over the last axis."""
    return gamma * (x - moving_mean) / np.sqrt(moving_variance + EPSILON) + beta


def _relu(x):
    return np.maximum(x, 0.0)


def _identity_block_numpy(x, convs, norms, add_shortcut_before_last_norm=False):
    """The identity block in inference mode: convs = [(kernel, bias)] * 3, norms = [(gamma, beta, mean, var)] * 3.

    Main path: conv 1x1 'valid' -> BN -> ReLU -> conv f x f 'same' -> BN -> ReLU -> conv 1x1 'valid' -> BN;
    then add the input and apply ReLU. ``add_shortcut_before_last_norm`` builds the classic mistake instead
    (the input added before the last BatchNormalization), for the negative control.
    """
    shortcut = x
    z = _relu(_batch_norm(_conv2d(x, *convs[0], "valid"), *norms[0]))
    z = _relu(_batch_norm(_conv2d(z, *convs[1], "same"), *norms[1]))
    z = _conv2d(z, *convs[2], "valid")
    if add_shortcut_before_last_norm:
        return _relu(_batch_norm(z + shortcut, *norms[2]))
    return _relu(_batch_norm(z, *norms[2]) + shortcut)


def test_identity_block_matches_a_numpy_forward_pass(resnets, tf):
    identity_block = resnets["identity_block"]
    m, h, w, c, f, filters = 2, 5, 5, 6, 3, [2, 4, 6]
    inputs = tf.keras.Input((h, w, c))
    model = tf.keras.Model(inputs, identity_block(inputs, f, filters, training=False))

    rng = np.random.default_rng(20240601)
    for layer in model.layers:
        if isinstance(layer, tf.keras.layers.Conv2D):
            kernel, bias = layer.get_weights()
            layer.set_weights([rng.normal(0.0, 0.5, kernel.shape), rng.normal(0.0, 0.5, bias.shape)])
        elif isinstance(layer, tf.keras.layers.BatchNormalization):
            gamma, beta, mean, variance = layer.get_weights()
            layer.set_weights([rng.uniform(0.5, 2.0, gamma.shape), rng.normal(0.0, 0.5, beta.shape),
                               rng.normal(0.0, 0.5, mean.shape), rng.uniform(0.5, 2.0, variance.shape)])

    # Read the weights back, in the order of the layers along the block.
    convs = [tuple(np.asarray(v, np.float64) for v in layer.get_weights())
             for layer in model.layers if isinstance(layer, tf.keras.layers.Conv2D)]
    norms = [tuple(np.asarray(v, np.float64) for v in layer.get_weights())
             for layer in model.layers if isinstance(layer, tf.keras.layers.BatchNormalization)]
    F1, F2, F3 = filters
    assert [k.shape for k, _ in convs] == [(1, 1, c, F1), (f, f, F1, F2), (1, 1, F2, F3)]
    assert [g.shape for g, *_ in norms] == [(F1,), (F2,), (F3,)]

    X = rng.normal(0.0, 1.0, (m, h, w, c)).astype(np.float32)
    got = np.asarray(model(X, training=False), np.float64)
    expected = _identity_block_numpy(X.astype(np.float64), convs, norms)

    # Non-trivial case: the final ReLU both clips and passes values.
    assert 0 < np.count_nonzero(expected) < expected.size
    # float32 (the model) against float64: each output goes through sums of 6, 3*3*2 and 4 products and three
    # BN scalings, values up to ~10; float32 rounding (epsilon 1.2e-7) stays at a few 1e-7 of the largest
    # output (1.4e-7 on CPU with this seed). The bound, 5e-6 of the largest output, leaves room for other
    # kernels' summation orders (oneDNN, cuDNN with TF32 off, as utils.notebook.setup sets it). It is
    # absolute on the output's scale because elementwise relative errors are meaningless near ReLU's zero.
    scale = np.abs(expected).max()
    tolerance = 5e-6 * scale
    np.testing.assert_allclose(got, expected, rtol=0, atol=tolerance)

    # Negative control: the shortcut added before the last BatchNormalization (a classic mistake) is far
    # outside the tolerance (max difference ~1.2 with this seed, about 2e4 tolerances).
    wrong = _identity_block_numpy(X.astype(np.float64), convs, norms, add_shortcut_before_last_norm=True)
    assert np.abs(got - wrong).max() > 1000 * tolerance
