"""Assignment 05, Art generation with neural style transfer: the content, style and total costs and one
optimisation step.

Read by the course's tools only (``course.spec``); students never see it.
"""

from course.spec import Assignment, Mistake, Probe, TestCell
from utils.checking.compare import Close, Exact, Fields, Items

RUN = "utils.art_generation"
# Hand-built costs are sums of small integers over powers of two and small products (exact or within a few
# 1e-8 in float32); seeded costs move by a few 1e-7 between kernels (docs/tolerances.md).
COST = Close(rtol=1e-5, atol=1e-6)
GRAM = Close(rtol=1e-5, atol=1e-5)


def grams(n):
    """``n`` Gram matrices, of their own shapes, each compared as ``GRAM``."""
    return Items(tuple(GRAM for _ in range(n)), tuple(f"matrix {k + 1}" for k in range(n)))

# train_step: three Adam steps on a seeded 16 x 16 picture through a seeded three-layer network. Adam's first
# steps divide each gradient by its own size, so pixels whose gradient is near 0 carry the largest spread
# (float64 against float32 over 24 seeds: up to 2.4e-5 on a pixel, 2e-5 relative on the costs); the known
# mistakes lie 0.05 and more away.
STEP = Fields({"J": Close(rtol=3e-3, atol=1e-6), "image": Close(rtol=3e-3, atol=3e-4), "called": Exact()})


def layers(*arrays):
    return list(arrays)


# compute_content_cost: each output is a list of activations (1, n_H, n_W, n_C), the content layer last.
# The first element differs from the last, so a cost taken from the first gives another value (in brackets).
CONTENT_CASES = [
    # last: (1, 1, 2, 2), differences 0, 2, 0, -1: sum of squares 5, / (4 * 1 * 2 * 2) = 0.3125 (without the 4:
    # 1.25; the mean instead of the sum: 0.078125; first elements (1, 2, 1, 1), 0 against 1: 2 / 8 = 0.25).
    {"content": layers([[[[0]], [[0]]]], [[[[1, 2], [3, 4]]]]),
     "generated": layers([[[[1]], [[1]]]], [[[[1, 0], [3, 5]]]])},
    # last equal: 0 (first elements 0 against 3: 9 / 4 = 2.25).
    {"content": layers([[[[0]]]], [[[[2, 1, 0]]]]), "generated": layers([[[[3]]]], [[[[2, 1, 0]]]])},
    # last (1, 2, 2, 1) against zeros: 1 + 4 + 9 + 16 = 30, / 16 = 1.875 (first elements equal: 0).
    {"content": layers([[[[1]]]], [[[[1], [2]], [[3], [4]]]]),
     "generated": layers([[[[1]]]], [[[[0], [0]], [[0], [0]]]])},
]
CONTENT_EXPECTED = [0.3125, 0.0, 1.875]
CONTENT_HIDDEN = [
    # last (1, 1, 3, 2), differences 1, 0, -2, 0, 0, -3: 14 / 24 = 7 / 12.
    {"content": layers([[[[5]]]], [[[[1, 1], [0, 2], [2, 0]]]]),
     "generated": layers([[[[1]]]], [[[[0, 1], [2, 2], [2, 3]]]])},
    # last (1, 2, 1, 2), zeros against ones: 4 / 16 = 0.25.
    {"content": layers([[[[0]]]], [[[[0, 0]], [[0, 0]]]]), "generated": layers([[[[2]]]], [[[[1, 1]], [[1, 1]]]])},
]
CONTENT_HIDDEN_EXPECTED = [7 / 12, 0.25]

# gram_matrix: A (n_C, n_H * n_W) -> A A^T (n_C, n_C). A^T A has another shape, except for square A.
GRAM_CASES = [
    [[1, 2, 0], [0, 1, 3]],  # [[1 + 4, 2], [2, 1 + 9]]
    [[1, 0], [2, 1], [0, 3]],  # [[1, 2, 0], [2, 5, 3], [0, 3, 9]]
    [[1, 2, 3, 4]],  # [[30]]
]
GRAM_EXPECTED = [[[5, 2], [2, 10]], [[1, 2, 0], [2, 5, 3], [0, 3, 9]], [[30]]]
GRAM_HIDDEN = [
    [[1, -1], [2, 0]],  # [[2, 2], [2, 4]] (A^T A: [[5, -1], [-1, 1]])
    [[0, 1, 0, 1], [1, 0, 1, 0], [1, 1, 1, 1]],  # [[2, 0, 2], [0, 2, 2], [2, 2, 4]]
]
GRAM_HIDDEN_EXPECTED = [[[2, 2], [2, 4]], [[2, 0, 2], [0, 2, 2], [2, 2, 4]]]

# compute_layer_style_cost: a_S, a_G (1, n_H, n_W, n_C). Unrolled, channel c is row c of (n_C, n_H * n_W).
LAYER_CASES = [
    # (1, 1, 3, 2): rows S = [[1, 0, 1], [0, 2, 1]], G = [[0, 1, 0], [1, 0, 0]]; G_S = [[2, 1], [1, 5]],
    # G_G = [[1, 0], [0, 1]]; squares 1 + 1 + 1 + 16 = 19, / (4 * 2^2 * 3^2 = 144) = 19 / 144 (reshaped
    # straight to (n_C, -1): 45 / 144 = 0.3125; without the square of n_H n_W: 19 / 48).
    {"style": [[[[1, 0], [0, 2], [1, 1]]]], "generated": [[[[0, 1], [1, 0], [0, 0]]]]},
    # (1, 1, 2, 1): G_S = [[5]], G_G = [[1]]: 16 / (4 * 1 * 2^2) = 1 (without the square: 2).
    {"style": [[[[1], [2]]]], "generated": [[[[0], [1]]]]},
    # the same activations: 0.
    {"style": [[[[1, 2], [0, 1]], [[1, 0], [2, 1]]]], "generated": [[[[1, 2], [0, 1]], [[1, 0], [2, 1]]]]},
]
LAYER_EXPECTED = [19 / 144, 1.0, 0.0]
LAYER_HIDDEN = [
    # (1, 2, 1, 3): rows S = [[2, 0], [0, 1], [1, 0]], G = [[1, 0], [1, 0], [0, 1]]; G_S - G_G =
    # [[3, -1, 2], [-1, 0, 0], [2, 0, 0]]: 19 / (4 * 3^2 * 2^2) = 19 / 144 (reshaped straight: 17 / 144).
    {"style": [[[[2, 0, 1]], [[0, 1, 0]]]], "generated": [[[[1, 1, 0]], [[0, 0, 1]]]]},
]
LAYER_HIDDEN_EXPECTED = [19 / 144]

# total_cost: the defaults alpha = 10, beta = 40, then given weights.
TOTAL_CASES = [
    {"J_content": 1.0, "J_style": 1.0},  # 10 + 40 = 50
    {"J_content": 2.0, "J_style": 0.5},  # 20 + 20 = 40 (swapped: 10 * 0.5 + 40 * 2 = 85)
    {"J_content": 4.0, "J_style": 5.0, "alpha": 1.0, "beta": 3.0},  # 4 + 15 = 19 (swapped: 5 + 12 = 17)
]
TOTAL_EXPECTED = [50.0, 40.0, 19.0]
TOTAL_HIDDEN = [
    {"J_content": 0.25, "J_style": 3.0, "alpha": 8.0, "beta": 0.5},  # 2 + 1.5 = 3.5
    {"J_content": 0.0, "J_style": 2.0},  # 80
]
TOTAL_HIDDEN_EXPECTED = [3.5, 80.0]

STEP_ADVICE = ("train_step computes a_G = vgg_model_outputs(generated_image), J_style = compute_style_cost(a_S, "
               "a_G), J_content = compute_content_cost(a_C, a_G) and J = total_cost(J_content, J_style, "
               "alpha=ALPHA, beta=BETA) inside the tape, then applies the gradient with optimizer and clips the "
               "image with clip_0_1.")

TESTS = (
    TestCell("compute_content_cost_test", "compute_content_cost", 2, "compute_content_cost: every case is correct.", (
        Probe("compute_content_cost/hand_cases", f"{RUN}:content_cost_cases",
              "the content cost of three small hand-built pairs of output lists (content layer last)", COST,
              {"cases": CONTENT_CASES}, expected=CONTENT_EXPECTED),
        Probe("compute_content_cost/random", f"{RUN}:content_cost_random",
              "the content cost of seeded activations of shape (1, 6, 5, 8) (content layer) and of a content "
              "output with itself (0)", COST, {"seed": 1, "shapes": [[1, 8, 8, 3], [1, 6, 5, 8]]}),
        Probe("compute_content_cost/symbolic", f"{RUN}:content_cost_symbolic",
              "the content cost inside a Keras model built on symbolic keras.Input tensors, evaluated on seeded "
              "activations of shape (1, 4, 3, 5)", COST, {"seed": 2, "shape": [4, 3, 5]}),
        Probe("compute_content_cost/hidden_cases", f"{RUN}:content_cost_cases",
              "the content cost of two more hand-built pairs", COST, {"cases": CONTENT_HIDDEN},
              expected=CONTENT_HIDDEN_EXPECTED, hidden=True),
        Probe("compute_content_cost/random_hidden", f"{RUN}:content_cost_random",
              "the content cost of seeded activations of shape (1, 7, 9, 16)", COST,
              {"seed": 3, "shapes": [[1, 14, 18, 4], [1, 7, 9, 16]]}, hidden=True),
    )),
    TestCell("gram_matrix_test", "gram_matrix", 1, "gram_matrix: every case is correct.", (
        Probe("gram_matrix/hand_cases", f"{RUN}:gram_cases",
              "the Gram matrix of three small hand-built matrices (2 x 3, 3 x 2 and 1 x 4)", grams(3),
              {"cases": GRAM_CASES}, expected=GRAM_EXPECTED),
        Probe("gram_matrix/random", f"{RUN}:gram_random",
              "the Gram matrix of seeded matrices of shapes (3, 20) and (6, 4)", grams(2),
              {"seed": 4, "shapes": [[3, 20], [6, 4]]}),
        Probe("gram_matrix/hidden_cases", f"{RUN}:gram_cases", "the Gram matrix of two more hand-built matrices",
              grams(2), {"cases": GRAM_HIDDEN}, expected=GRAM_HIDDEN_EXPECTED, hidden=True),
        Probe("gram_matrix/random_hidden", f"{RUN}:gram_random", "the Gram matrix of a seeded (8, 30) matrix",
              grams(1), {"seed": 5, "shapes": [[8, 30]]}, hidden=True),
    )),
    TestCell("compute_layer_style_cost_test", "compute_layer_style_cost", 2,
             "compute_layer_style_cost: every case is correct.", (
                 Probe("compute_layer_style_cost/hand_cases", f"{RUN}:layer_style_cases",
                       "the style cost of three small hand-built pairs of activations (the last pair equal: 0)", COST,
                       {"cases": LAYER_CASES}, expected=LAYER_EXPECTED),
                 Probe("compute_layer_style_cost/random", f"{RUN}:layer_style_random",
                       "the style cost of seeded activations of shapes (1, 4, 4, 3) and (1, 3, 5, 6), and of the "
                       "first with itself (0)", COST, {"seed": 6, "shapes": [[1, 4, 4, 3], [1, 3, 5, 6]]}),
                 Probe("compute_layer_style_cost/hidden_cases", f"{RUN}:layer_style_cases",
                       "the style cost of one more hand-built pair", COST, {"cases": LAYER_HIDDEN},
                       expected=LAYER_HIDDEN_EXPECTED, hidden=True),
                 Probe("compute_layer_style_cost/random_hidden", f"{RUN}:layer_style_random",
                       "the style cost of seeded activations of shape (1, 6, 7, 10)", COST,
                       {"seed": 7, "shapes": [[1, 6, 7, 10]]}, hidden=True),
             )),
    TestCell("total_cost_test", "total_cost", 1, "total_cost: every case is correct.", (
        Probe("total_cost/cases", f"{RUN}:total_cost_cases",
              "the total cost of three pairs of costs, with the default weights and with alpha=1, beta=3", COST,
              {"cases": TOTAL_CASES}, expected=TOTAL_EXPECTED),
        Probe("total_cost/hidden_cases", f"{RUN}:total_cost_cases", "the total cost of two more pairs", COST,
              {"cases": TOTAL_HIDDEN}, expected=TOTAL_HIDDEN_EXPECTED, hidden=True),
    )),
    TestCell("train_step_test", "train_step", 2, "train_step: the costs, the image and the clipping are right.", (
        Probe("train_step/three_steps", f"{RUN}:train_step_run",
              "three calls of train_step on a seeded 16 x 16 picture, with a small seeded network standing in for "
              "vgg_model_outputs (its a_C and a_S, a fresh Adam optimizer with learning rate 0.05, ALPHA=3, "
              "BETA=500): the cost each step returned, the final image and which cost functions it called",
              STEP, {"seed": 8}, advice=STEP_ADVICE),
        Probe("train_step/hidden", f"{RUN}:train_step_run",
              "four calls of train_step on a seeded 12 x 12 picture", STEP,
              {"seed": 9, "size": 12, "steps": 4, "learning_rate": 0.08, "alpha": 2.0, "beta": 800.0}, hidden=True,
              advice=STEP_ADVICE),
    )),
)

CONTENT = frozenset({"compute_content_cost_test"})
GRAM_CELLS = frozenset({"gram_matrix_test", "compute_layer_style_cost_test"})
LAYER = frozenset({"compute_layer_style_cost_test"})
TOTAL = frozenset({"total_cost_test"})
STEP_CELL = frozenset({"train_step_test"})

MISTAKES = (
    Mistake("content_first_element", "compute_content_cost",
            (("    a_C = content_output[-1]\n    a_G = generated_output[-1]\n",
              "    a_C = content_output[0]\n    a_G = generated_output[0]\n"),),
            CONTENT,
            "Take the content layer, the last element of each list: a_C = content_output[-1] and "
            "a_G = generated_output[-1]. The first elements are the style layers'.",
            variant=(("    a_C = content_output[-1]\n    a_G = generated_output[-1]\n",
                      "    a_C, *_ = content_output\n    a_G, *_ = generated_output\n"),)),
    Mistake("content_no_4", "compute_content_cost",
            (("/ (4.0 * n_H * n_W * n_C)", "/ (n_H * n_W * n_C)"),),
            CONTENT,
            "Divide the sum of squares by 4 * n_H * n_W * n_C: the factor 4 is part of the normalisation.",
            variant=(("/ (4.0 * n_H * n_W * n_C)", "/ float(n_H * n_W * n_C)"),)),
    Mistake("content_mean", "compute_content_cost",
            (("tf.reduce_sum(tf.square(a_C - a_G))", "tf.reduce_mean(tf.square(a_C - a_G))"),),
            CONTENT,
            "Sum the squared differences (tf.reduce_sum), do not average them: the division by 4 * n_H * n_W * n_C "
            "is the only normalisation.",
            variant=(("tf.reduce_sum(tf.square(a_C - a_G))", "tf.reduce_mean((a_C - a_G) ** 2)"),)),
    Mistake("gram_transposed", "gram_matrix",
            (("tf.matmul(A, tf.transpose(A))", "tf.matmul(tf.transpose(A), A)"),),
            GRAM_CELLS,
            "The Gram matrix is A A^T, of shape (n_C, n_C): tf.matmul(A, tf.transpose(A)). A^T A compares "
            "positions, not filters.",
            variant=(("tf.matmul(A, tf.transpose(A))", "tf.matmul(A, A, transpose_a=True)"),)),
    Mistake("style_no_transpose", "compute_layer_style_cost",
            (("    a_S = tf.transpose(tf.reshape(a_S, shape=[-1, n_C]))\n"
              "    a_G = tf.transpose(tf.reshape(a_G, shape=[-1, n_C]))\n",
              "    a_S = tf.reshape(a_S, shape=[n_C, -1])\n    a_G = tf.reshape(a_G, shape=[n_C, -1])\n"),),
            LAYER,
            "Unroll by reshaping to (-1, n_C), one row per position, then transpose to (n_C, n_H * n_W). Reshaping "
            "straight to (n_C, -1) mixes the channels of different positions.",
            variant=(("    a_S = tf.transpose(tf.reshape(a_S, shape=[-1, n_C]))\n"
                      "    a_G = tf.transpose(tf.reshape(a_G, shape=[-1, n_C]))\n",
                      "    a_S = tf.reshape(a_S, [n_C, n_H * n_W])\n    a_G = tf.reshape(a_G, [n_C, n_H * n_W])\n"),)),
    Mistake("style_not_squared", "compute_layer_style_cost",
            (("(4.0 * n_C ** 2 * (n_H * n_W) ** 2)", "(4.0 * n_C ** 2 * n_H * n_W)"),),
            LAYER,
            "The normaliser is 4 * n_C^2 * (n_H * n_W)^2: both n_C and n_H * n_W are squared.",
            variant=(("(4.0 * n_C ** 2 * (n_H * n_W) ** 2)", "(4 * (n_C * n_C) * (n_H * n_W))"),)),
    Mistake("total_swapped", "total_cost",
            (("alpha * J_content + beta * J_style", "alpha * J_style + beta * J_content"),),
            TOTAL,
            "alpha weighs the content cost and beta the style cost: J = alpha * J_content + beta * J_style.",
            variant=(("alpha * J_content + beta * J_style", "beta * J_content + alpha * J_style"),)),
    Mistake("step_no_clip", "train_step",
            (("    generated_image.assign(clip_0_1(generated_image))\n", ""),),
            STEP_CELL,
            "After the optimizer's step, clip the image back to [0, 1]: generated_image.assign(clip_0_1("
            "generated_image)).",
            variant=(("    generated_image.assign(clip_0_1(generated_image))\n",
                      "    generated_image.assign(generated_image)\n"),)),
    Mistake("step_without_total_cost", "train_step",
            (("J = total_cost(J_content, J_style, alpha=ALPHA, beta=BETA)", "J = J_content + J_style"),),
            STEP_CELL,
            "Combine the two costs with your total_cost(J_content, J_style, alpha=ALPHA, beta=BETA), not with a "
            "sum of your own.",
            variant=(("J = total_cost(J_content, J_style, alpha=ALPHA, beta=BETA)",
                      "J = tf.add(J_content, J_style)"),)),
)

SPEC = Assignment(
    id="05_art_generation",
    title="Art generation with neural style transfer",
    notebook="art_generation.ipynb",
    helper="utils.art_generation",
    answers=("compute_content_cost", "gram_matrix", "compute_layer_style_cost", "total_cost", "train_step"),
    tests=TESTS,
    mistakes=MISTAKES,
    partly_wrong=("style_no_transpose", "step_no_clip"),
    data=("art_generation/vgg16_part1.h5", "art_generation/vgg16_part2.h5", "art_generation/hopper.jpg",
          "art_generation/lake.jpg", "art_generation/swirls.png", "art_generation/water.png",
          "art_generation/mosaic.png"),
    notebook_seconds=360,
    # Not run while grading (course.cells.skipped_while_grading): the list of VGG's convolution layers.
    display_only=("ee76927a",),
)
