"""Assignment 04's face-embedding network, trained from scratch (``course weights 04``).

The network slot of ``04_face_recognition`` (see :mod:`course.weights`): :func:`build` calls
:func:`train` with the defaults below and writes into ``datasets/face_recognition/``.

1. Render ``PEOPLE`` identities of :data:`course.synth.identities.TRAIN_POOL`, ``SHOTS``
   photographs each; the last ``CALIBRATION_PEOPLE`` of them are kept out of training.
2. Train :func:`utils.face_recognition_net.facenet_body` with the triplet loss the notebook
   asks for (``max(|a - p|^2 - |a - n|^2 + alpha, 0)``), mined online: every batch holds ``P``
   people with ``K`` photographs each, and every valid (anchor, positive, negative) triplet in
   it counts; the loss is the mean over the triplets that still violate the margin ("batch
   all"). The margin is :data:`TRAIN_ALPHA`, larger than the notebook's 0.2, which leaves room
   for step 3.
3. Calibrate: on the held-out training people, find the distance threshold that separates
   pairs of the same person from pairs of different people best, and set the
   :class:`~utils.face_recognition_net.Calibration` scale so that this threshold becomes 0.7,
   the threshold learners' code hard-codes.

Everything is seeded: the same seed gives the same weights on the same machine. The notebook's
people (``OFFICE_POOL``) and the benchmark's (``HELD_OUT_POOL``) are never seen in training.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from course.synth import identities
from utils import face_recognition_net as net

ASSIGNMENT = "04_face_recognition"
SEED = 4000
CARD = "docs/model_cards/04_face_recognition.md"
PEOPLE, SHOTS = 1600, 10
CALIBRATION_PEOPLE = 100
P, K = 24, 4  # people per batch, photographs per person
STEPS = 4000
TRAIN_ALPHA = 0.8
LEARNING_RATE = 2e-3
THRESHOLD = 0.7  # the distance learners' code compares with


def pair_distances(encodings: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """L2 distances of every pair of rows: ``(same-person distances, different-people distances)``."""
    squared = np.sum((encodings[:, None, :] - encodings[None, :, :]) ** 2, axis=-1)
    upper = np.triu(np.ones(squared.shape, dtype=bool), k=1)
    same = labels[:, None] == labels[None, :]
    distances = np.sqrt(np.maximum(squared, 0.0))
    return distances[upper & same], distances[upper & ~same]


def best_threshold(same: np.ndarray, different: np.ndarray) -> tuple[float, float]:
    """The threshold with the best balanced accuracy (mean of the two classes' rates), and that accuracy."""
    candidates = np.unique(np.concatenate([same, different]))
    same_sorted, diff_sorted = np.sort(same), np.sort(different)
    accepted = np.searchsorted(same_sorted, candidates, side="left") / len(same)  # same < t
    rejected = 1.0 - np.searchsorted(diff_sorted, candidates, side="left") / len(different)  # diff >= t
    balanced = (accepted + rejected) / 2
    best = int(np.argmax(balanced))
    return float(candidates[best]), float(balanced[best])


def batch_all_triplet_loss(embeddings, labels, alpha: float):
    """Mean of ``max(d(a, p)^2 - d(a, n)^2 + alpha, 0)`` over the batch's valid triplets that are positive."""
    import tensorflow as tf

    dot = tf.matmul(embeddings, embeddings, transpose_b=True)
    norms = tf.linalg.diag_part(dot)
    squared = tf.maximum(norms[:, None] - 2.0 * dot + norms[None, :], 0.0)
    same = tf.equal(labels[:, None], labels[None, :])
    eye = tf.eye(tf.shape(labels)[0], dtype=tf.bool)
    positive = tf.logical_and(same, tf.logical_not(eye))
    valid = tf.logical_and(positive[:, :, None], tf.logical_not(same)[:, None, :])
    losses = squared[:, :, None] - squared[:, None, :] + alpha
    losses = tf.where(valid, tf.maximum(losses, 0.0), 0.0)
    active = tf.reduce_sum(tf.cast(losses > 1e-12, tf.float32))
    return tf.reduce_sum(losses) / tf.maximum(active, 1.0), active / tf.reduce_sum(tf.cast(valid, tf.float32))


def encode(model, images: np.ndarray, batch: int = 256) -> np.ndarray:
    """Encodings ``(m, 128)`` of uint8 photographs, in batches."""
    return np.concatenate([model(net.prepare(images[i:i + batch]), training=False).numpy()
                           for i in range(0, len(images), batch)])


def train(people: int, shots: int, steps: int, seed: int, out_dir: Path, log=print,
          learning_rate: float = LEARNING_RATE) -> tuple[dict, list[Path]]:
    """Train, calibrate and write the weights and a summary to ``out_dir``. Returns ``(summary, files)``."""
    import tensorflow as tf
    from tensorflow import keras

    started = time.perf_counter()
    photos = identities.photographs(identities.TRAIN_POOL, people, shots, processes=2)
    log(f"rendered {people} x {shots} photographs in {time.perf_counter() - started:.0f} s")
    trained = people - CALIBRATION_PEOPLE
    train_photos, held_photos = photos[:trained], photos[trained:]

    keras.utils.set_random_seed(seed)
    model = net.facenet_body()
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=steps, alpha=0.02)
    optimizer = keras.optimizers.Adam(learning_rate=schedule)

    @tf.function
    def step(x, y):
        with tf.GradientTape() as tape:
            loss, active = batch_all_triplet_loss(model(x, training=True), y, TRAIN_ALPHA)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss, active

    rng = np.random.default_rng(seed)
    losses, actives = [], []
    for s in range(steps):
        who = rng.choice(trained, P, replace=False)
        shot = np.stack([rng.choice(shots, K, replace=False) for _ in who])
        x = train_photos[who[:, None], shot].reshape(P * K, *net.IMAGE_SIZE, 3)
        y = np.repeat(who, K).astype(np.int32)
        loss, active = step(tf.constant(net.prepare(x)), tf.constant(y))
        losses.append(float(loss))
        actives.append(float(active))
        if (s + 1) % 100 == 0:
            log(f"step {s + 1}/{steps}: loss {np.mean(losses[-100:]):.4f}, active triplets "
                f"{np.mean(actives[-100:]):.3f} ({time.perf_counter() - started:.0f} s)")
    seconds = time.perf_counter() - started

    labels = np.repeat(np.arange(CALIBRATION_PEOPLE), shots)
    encodings = encode(model, held_photos.reshape(-1, *net.IMAGE_SIZE, 3))
    same, different = pair_distances(encodings, labels)
    learned, accuracy = best_threshold(same, different)
    scale = min(1.0, THRESHOLD / learned)
    model.get_layer("calibration").scale.assign(scale)
    log(f"calibration: best threshold {learned:.3f} (balanced accuracy {accuracy:.4f}); scale {scale:.4f}")

    out_dir.mkdir(parents=True, exist_ok=True)
    weights = out_dir / Path(net.WEIGHTS_FILE).name
    summary_path = out_dir / "training.json"
    model.save_weights(weights)
    summary = {"people": people, "shots": shots, "calibration_people": CALIBRATION_PEOPLE, "P": P, "K": K,
               "steps": steps, "seed": seed, "train_alpha": TRAIN_ALPHA, "learning_rate": learning_rate,
               "train_seconds": round(seconds), "parameters": int(model.count_params()),
               "learned_threshold": round(learned, 4), "calibration_scale": round(scale, 6),
               "calibration_balanced_accuracy": round(accuracy, 4)}
    summary_path.write_text(json.dumps(summary, indent=1) + "\n")
    return summary, [weights, summary_path]


def build(out: Path, seed: int = SEED, log=print) -> list[Path]:
    """Train the shipped network (:data:`PEOPLE` people, :data:`STEPS` steps) into ``out/face_recognition/``.

    Returns the written files: the weights and the training summary.
    """
    _, written = train(PEOPLE, SHOTS, STEPS, seed, Path(out) / net.DATA, log=log)
    return written
