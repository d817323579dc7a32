"""Assignment 04, Face recognition: the triplet loss, face verification and face recognition.

Read by the course's tools only (``course.spec``); students never see it.
"""

from course.spec import Assignment, Mistake, Probe, TestCell
from utils.checking.compare import Close, Exact, Fields

RUN = "utils.face_recognition"
# Hand-built losses are exact in float32 (small integers and halves); seeded batches of 128-d unit
# encodings move by a few 1e-7 between kernels (docs/tolerances.md).
LOSS = Close(rtol=1e-5, atol=1e-6)
# Distances between encodings of the shipped network (docs/tolerances.md); decisions exactly.
VERIFIED = Fields({"dist": Close(rtol=1e-4, atol=1e-5), "door_open": Exact()})
RECOGNISED = Fields({"min_dist": Close(rtol=1e-4, atol=1e-5), "identity": Exact(), "not_in_database": Exact()})


def case(anchor, positive, negative, alpha):
    return {"anchor": anchor, "positive": positive, "negative": negative, "alpha": alpha}


# Hand-built triplet batches (rows are triplets) and their losses, worked out by hand. Each catches one
# mistake; the value that mistake gives is in brackets.
HAND_CASES = [
    # A missing max(., 0): |A-P|^2 = 1, 4; |A-N|^2 = 2, 4; 1 - 2 + 0.5 = -0.5 -> 0 and 4 - 4 + 0.5 = 0.5:
    # loss 0.5 (without the max, -0.5 + 0.5 = 0).
    case([[0, 0], [0, 0]], [[1, 0], [0, 2]], [[1, 1], [2, 0]], 0.5),
    # Mean instead of sum: both rows give 1 - 1 + 0.2 = 0.2: loss 0.4 (mean 0.2).
    case([[0, 0], [0, 0]], [[1, 0], [0, 1]], [[1, 0], [0, 1]], 0.2),
    # Squared distances: row 0, 9 - 4 + 0.2 = 5.2; row 1, 9 - 4 + 0.2 = 5.2: loss 10.4 (with plain
    # distances 3 - 2 + 0.2 = 1.2 per row: 2.4).
    case([[0, 0], [1, 1]], [[0, 3], [1, 4]], [[0, 2], [3, 1]], 0.2),
    # Summing over the last axis: rows give 4 - 1 + 0.2 = 3.2 and 0 - 0 + 0.2 = 0.2: loss 3.4 (over
    # axis 0, per dimension, 4 - 0 + 0.2 = 4.2 and 0 - 1 + 0.2 -> 0: 4.2; over no axis, 4 - 1 + 0.2 = 3.2).
    case([[0, 0], [0, 0]], [[2, 0], [0, 0]], [[0, 1], [0, 0]], 0.2),
    # Alpha added to the loss, not to the negative's distance: 0 - 2 + 3 = 1 per row: loss 2 (with
    # |A-P|^2 - (|A-N|^2 + alpha), -5 -> 0 per row: 0).
    case([[1, 0], [0, 1]], [[1, 0], [0, 1]], [[0, 1], [1, 0]], 3.0),
]
HAND_EXPECTED = [0.5, 0.4, 10.4, 3.4, 2.0]
HIDDEN_CASES = [
    # m = 3, alpha = 1.5: |A-P|^2 = 1, 3, 0; |A-N|^2 = 4, 4, 1; 1 - 4 + 1.5 -> 0, 3 - 4 + 1.5 = 0.5,
    # 0 - 1 + 1.5 = 0.5: loss 1.0.
    case([[1, 2, 2], [0, 0, 0], [1, 1, 1]], [[1, 2, 3], [1, 1, 1], [1, 1, 1]], [[1, 0, 2], [2, 0, 0], [0, 1, 1]],
         1.5),
    # Anchor, positive and negative all equal: every row costs alpha: 2 rows x 5 = 10 (over no axis, 5).
    case([[1, 1, 1, 1], [1, 1, 1, 1]], [[1, 1, 1, 1], [1, 1, 1, 1]], [[1, 1, 1, 1], [1, 1, 1, 1]], 5.0),
    # A negative closer than the positive by a lot, alpha = 0: 4 - 0 + 0 = 4 per row: 8.
    case([[0, 0, 0], [0, 0, 0]], [[2, 0, 0], [0, 0, 2]], [[0, 0, 0], [0, 0, 0]], 0.0),
]
HIDDEN_EXPECTED = [1.0, 10.0, 8.0]

# Camera photographs (course/synth/identities.py: camera_0 younes, camera_1 bertrand, camera_2 andrew,
# camera_3 danielle, camera_4 felix, camera_5 kian, camera_6 and camera_7 strangers). Every distance
# between a camera photograph and a database entry lies at least 0.1 from 0.7 (a test checks it), so
# `<` and `<=` and the last digits of a kernel decide alike.
VERIFY_PUBLIC = [["camera_0.jpg", "younes"], ["camera_2.jpg", "kian"]]
VERIFY_HIDDEN = [["camera_1.jpg", "bertrand"], ["camera_3.jpg", "danielle"], ["camera_4.jpg", "dan"],
                 ["camera_6.jpg", "tian"], ["camera_5.jpg", "kian"], ["camera_7.jpg", "arnaud"]]
WHO_PUBLIC = ["camera_0.jpg", "camera_6.jpg"]
WHO_HIDDEN = ["camera_1.jpg", "camera_2.jpg", "camera_3.jpg", "camera_4.jpg", "camera_5.jpg", "camera_7.jpg"]
# Several photographs per person: more entries for the person of camera_3 (danielle, gallery indices 0-3),
# after the office staff and in this order. camera_3 lies 0.42 from danielle's enrolment photograph and
# 0.42, 0.31 and 0.49 from these, so the closest is in the middle: keeping the first or the last match
# under 0.7 is not keeping the closest (a test checks the design).
SEVERAL = [["danielle (2019)", 0], ["danielle (2021)", 1], ["danielle (2023)", 3]]

TESTS = (
    TestCell("triplet_loss_test", "triplet_loss", 3, "triplet_loss: every case is correct.", (
        Probe("triplet_loss/hand_cases", f"{RUN}:triplet_cases",
              "the loss of five small hand-built batches (2 triplets of 2-d encodings each)", LOSS,
              {"cases": HAND_CASES}, expected=HAND_EXPECTED),
        Probe("triplet_loss/random", f"{RUN}:triplet_random",
              "the loss of seeded batches of 16 triplets of 128-d unit encodings, alpha=0.2", LOSS,
              {"seed": 1, "m": 16, "batches": 2}),
        Probe("triplet_loss/hidden_cases", f"{RUN}:triplet_cases",
              "the loss of three more hand-built batches", LOSS, {"cases": HIDDEN_CASES},
              expected=HIDDEN_EXPECTED, hidden=True),
        Probe("triplet_loss/random_hidden", f"{RUN}:triplet_random",
              "the loss of seeded batches of 32 triplets, alpha=0.3", LOSS,
              {"seed": 2, "m": 32, "batches": 3, "alpha": 0.3}, hidden=True),
    )),
    TestCell("verify_test", "verify", 3, "verify: the distances and the door are right.", (
        Probe("verify/accept_and_reject", f"{RUN}:verify_cases",
              "verify on camera_0.jpg as younes (his photograph) and camera_2.jpg as kian (someone else), with a "
              "model and a database other than FRmodel's", VERIFIED, {"cases": VERIFY_PUBLIC}),
        Probe("verify/hidden", f"{RUN}:verify_cases",
              "verify on six more camera photographs, of the claimed person, of someone else and of strangers",
              VERIFIED, {"cases": VERIFY_HIDDEN}, hidden=True),
    )),
    TestCell("who_is_it_test", "who_is_it", 3, "who_is_it: the people and the strangers are right.", (
        Probe("who_is_it/several_photographs", f"{RUN}:who_cases",
              "who_is_it on camera_3.jpg (danielle) with three more photographs of danielle after the office staff "
              "in the database, the closest in the middle; with a model and a database other than FRmodel's",
              RECOGNISED, {"images": ["camera_3.jpg"], "extra": SEVERAL}),
        Probe("who_is_it/staff_and_stranger", f"{RUN}:who_cases",
              "who_is_it on camera_0.jpg (younes) and camera_6.jpg (a stranger)", RECOGNISED,
              {"images": WHO_PUBLIC}),
        Probe("who_is_it/hidden", f"{RUN}:who_cases",
              "who_is_it on six more camera photographs", RECOGNISED, {"images": WHO_HIDDEN}, hidden=True),
    )),
)

TRIPLET = frozenset({"triplet_loss_test"})
VERIFY = frozenset({"verify_test"})
WHO = frozenset({"who_is_it_test"})

MISTAKES = (
    Mistake("triplet_no_max", "triplet_loss",
            (("    loss = tf.reduce_sum(tf.maximum(basic_loss, 0.0))\n", "    loss = tf.reduce_sum(basic_loss)\n"),),
            TRIPLET,
            "Take max(basic_loss, 0) before summing: a triplet that already meets the margin must cost "
            "nothing, not a negative amount.",
            variant=(("    loss = tf.reduce_sum(tf.maximum(basic_loss, 0.0))\n",
                      "    loss = tf.math.reduce_sum(pos_dist - neg_dist + alpha)\n"),)),
    Mistake("triplet_mean", "triplet_loss",
            (("    loss = tf.reduce_sum(tf.maximum(basic_loss, 0.0))\n",
              "    loss = tf.reduce_mean(tf.maximum(basic_loss, 0.0))\n"),),
            TRIPLET,
            "Sum the per-triplet losses over the batch (tf.reduce_sum), do not average them.",
            variant=(("    loss = tf.reduce_sum(tf.maximum(basic_loss, 0.0))\n",
                      "    loss = tf.reduce_sum(tf.maximum(basic_loss, 0.0)) / tf.cast(tf.shape(anchor)[0], "
                      "tf.float32)\n"),)),
    Mistake("triplet_not_squared", "triplet_loss",
            (("    pos_dist = tf.reduce_sum(tf.square(tf.subtract(anchor, positive)), axis=-1)\n"
              "    neg_dist = tf.reduce_sum(tf.square(tf.subtract(anchor, negative)), axis=-1)\n",
              "    pos_dist = tf.norm(anchor - positive, axis=-1)\n"
              "    neg_dist = tf.norm(anchor - negative, axis=-1)\n"),),
            TRIPLET,
            "Use squared distances: sum the squares of the differences, without taking the square root.",
            variant=(("    pos_dist = tf.reduce_sum(tf.square(tf.subtract(anchor, positive)), axis=-1)\n"
                      "    neg_dist = tf.reduce_sum(tf.square(tf.subtract(anchor, negative)), axis=-1)\n",
                      "    pos_dist = tf.sqrt(tf.reduce_sum(tf.square(anchor - positive), axis=-1))\n"
                      "    neg_dist = tf.sqrt(tf.reduce_sum(tf.square(anchor - negative), axis=-1))\n"),)),
    Mistake("triplet_axis_0", "triplet_loss",
            (("tf.subtract(anchor, positive)), axis=-1)", "tf.subtract(anchor, positive)), axis=0)"),
             ("tf.subtract(anchor, negative)), axis=-1)", "tf.subtract(anchor, negative)), axis=0)")),
            TRIPLET,
            "Sum the squared differences over the last axis (axis=-1), the 128 numbers of one encoding: one "
            "distance per triplet, not per dimension.",
            variant=(("tf.subtract(anchor, positive)), axis=-1)", "tf.subtract(anchor, positive)), 0)"),
                     ("tf.subtract(anchor, negative)), axis=-1)", "tf.subtract(anchor, negative)), 0)"))),
    Mistake("triplet_no_axis", "triplet_loss",
            (("tf.subtract(anchor, positive)), axis=-1)", "tf.subtract(anchor, positive)))"),
             ("tf.subtract(anchor, negative)), axis=-1)", "tf.subtract(anchor, negative)))")),
            TRIPLET,
            "Sum the squared differences over the last axis only (axis=-1): one distance per triplet. Summing "
            "over everything mixes the triplets of the batch together.",
            variant=(("    pos_dist = tf.reduce_sum(tf.square(tf.subtract(anchor, positive)), axis=-1)\n"
                      "    neg_dist = tf.reduce_sum(tf.square(tf.subtract(anchor, negative)), axis=-1)\n",
                      "    pos_dist = tf.reduce_sum((anchor - positive) ** 2)\n"
                      "    neg_dist = tf.reduce_sum((anchor - negative) ** 2)\n"),)),
    Mistake("triplet_alpha_on_negative", "triplet_loss",
            (("    basic_loss = tf.add(tf.subtract(pos_dist, neg_dist), alpha)\n",
              "    basic_loss = tf.subtract(pos_dist, tf.add(neg_dist, alpha))\n"),),
            TRIPLET,
            "The margin is added to the difference: |A-P|^2 - |A-N|^2 + alpha. Adding it to the negative's "
            "distance subtracts it instead.",
            variant=(("    basic_loss = tf.add(tf.subtract(pos_dist, neg_dist), alpha)\n",
                      "    basic_loss = pos_dist - neg_dist - alpha\n"),)),
    Mistake("verify_squared_distance", "verify",
            (("    dist = np.linalg.norm(encoding - database[identity])\n",
              "    dist = np.sum(np.square(encoding - database[identity]))\n"),),
            VERIFY,
            "dist is the L2 distance, np.linalg.norm(encoding - database[identity]): the square root of the sum "
            "of squares, not the sum of squares itself.",
            variant=(("    dist = np.linalg.norm(encoding - database[identity])\n",
                      "    dist = np.linalg.norm(encoding - database[identity]) ** 2\n"),)),
    Mistake("verify_door_reversed", "verify",
            (("    if dist < 0.7:\n", "    if dist > 0.7:\n"),),
            VERIFY,
            "The door opens when the distance is small: dist < 0.7 means the photograph matches the identity.",
            variant=(("    if dist < 0.7:\n", "    if not dist < 0.7:\n"),)),
    Mistake("verify_global_model", "verify",
            (("    encoding = img_to_encoding(image_path, model)\n",
              "    encoding = img_to_encoding(image_path, FRmodel)\n"),),
            VERIFY,
            "verify must encode the photograph with its model argument, img_to_encoding(image_path, model), not "
            "the global FRmodel: the database was built with that model, and encodings of two networks do not "
            "compare.",
            variant=(("    encoding = img_to_encoding(image_path, model)\n",
                      "    model = FRmodel\n    encoding = img_to_encoding(image_path, model)\n"),)),
    Mistake("who_last_match", "who_is_it",
            (("        if dist < min_dist:\n", "        if dist < 0.7:\n"),),
            WHO,
            "Keep the smallest distance: compare each distance with min_dist (if dist < min_dist), not with the "
            "threshold, or a later entry under 0.7 replaces a closer one.",
            variant=(("        if dist < min_dist:\n", "        if dist <= 0.7:\n"),)),
    Mistake("who_first_match", "who_is_it",
            (("        if dist < min_dist:\n            min_dist = dist\n            identity = name\n",
              "        if dist < 0.7:\n            min_dist = dist\n            identity = name\n"
              "            break\n"),),
            WHO,
            "Do not stop at the first entry under 0.7: go through the whole database and keep the smallest "
            "distance (if dist < min_dist).",
            variant=(("        if dist < min_dist:\n",
                      "        if dist < 0.7 and min_dist == 100:\n"),)),
    Mistake("who_global_model", "who_is_it",
            (("    encoding = img_to_encoding(image_path, model)\n",
              "    encoding = img_to_encoding(image_path, FRmodel)\n"),),
            WHO,
            "who_is_it must encode the photograph with its model argument, img_to_encoding(image_path, model), "
            "not the global FRmodel: the database was built with that model, and encodings of two networks do "
            "not compare.",
            variant=(("    encoding = img_to_encoding(image_path, model)\n",
                      "    encoding = img_to_encoding(image_path, model=FRmodel)\n"),)),
)

SPEC = Assignment(
    id="04_face_recognition",
    title="Face recognition: the triplet loss, verification and recognition",
    notebook="face_recognition.ipynb",
    helper="utils.face_recognition",
    answers=("triplet_loss", "verify", "who_is_it"),
    tests=TESTS,
    mistakes=MISTAKES,
    partly_wrong=("triplet_mean", "who_last_match"),
    data=("face_recognition/facenet.weights.h5", "face_recognition/gallery.png",
          "face_recognition/images/danielle.png", "face_recognition/images/camera_0.jpg"),
    notebook_seconds=300,
    # Not run while grading (course.cells.skipped_while_grading): FRmodel's summary, one encoding, the triplet and
    # distance figures, the office database and its two verify calls.
    display_only=("ce0d6621", "373d5489", "1b34ef0b", "f17af95f", "81cecc80", "5ab1cb89", "7934a2c7",),
)
