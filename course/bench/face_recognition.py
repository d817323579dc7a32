"""Verification and recognition on unseen people, two baselines and encoding time for assignment 04.

Usage: python benchmarks/assignment.py 04 [--people 200] [--pairs 2000] [--weights PATH]

1. Renders ``--people`` people of the held-out pool (``course.synth.identities.HELD_OUT_POOL``,
   never used in training and not the notebook's), ``SHOTS`` photographs each, and draws
   ``--pairs`` pairs of photographs, half of the same person and half of two people.
2. **Verification**: the accuracy of ``dist < 0.7`` with the shipped network, against the bar
   0.97; beside it the best threshold and its accuracy.
3. **Baselines** on the same pairs, each at its own best threshold: the L2 distance of raw pixels,
   and the same network with random (seeded) weights. Each must stay 0.15 below the network.
4. **Recognition**, with the solution's ``who_is_it``: trials of a 12-person database (one
   enrolment photograph each) and camera photographs of enrolled people (top-1 accuracy, bar 0.95)
   and of strangers (rejected when the smallest distance is above 0.7, bar 0.90).
5. Times ``img_to_encoding`` on one photograph (median of 50, bar 50 ms).

Exits 1 when a bar is missed.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from course import inprocess, spec
from course.benchmarking import print_checks, table
from course.synth import identities
from course.weights.face_recognition import best_threshold
from utils import data
from utils import face_recognition as fr
from utils import face_recognition_net as net

ASSIGNMENT = "04_face_recognition"
SHOTS = 6
DATABASE = 12
TRIALS = 20
SEED = 4242
THRESHOLD = 0.7
VERIFY_BAR, MARGIN_BAR, TOP1_BAR, STRANGER_BAR, MS_BAR = 0.97, 0.15, 0.95, 0.90, 50.0


def draw_pairs(rng: np.random.Generator, people: int, shots: int, pairs: int) -> tuple[np.ndarray, np.ndarray]:
    """``pairs`` index pairs into a ``(people * shots)`` array, half same person, half different; and the
    labels (True for the same person)."""
    half = pairs // 2
    who = rng.integers(0, people, half)
    first, second = (np.stack([rng.choice(shots, 2, replace=False) for _ in range(half)]).T)
    same = np.stack([who * shots + first, who * shots + second], axis=1)
    a = rng.integers(0, people, pairs - half)
    b = (a + rng.integers(1, people, pairs - half)) % people
    different = np.stack([a * shots + rng.integers(0, shots, len(a)), b * shots + rng.integers(0, shots, len(b))],
                         axis=1)
    return np.concatenate([same, different]), np.concatenate([np.ones(half, bool), np.zeros(len(a), bool)])


def pair_accuracy(vectors: np.ndarray, pairs: np.ndarray, same: np.ndarray, threshold: float | None = None):
    """Accuracy of ``distance < threshold`` on the pairs (the best threshold when none is given), and the
    threshold used."""
    distances = np.linalg.norm(vectors[pairs[:, 0]] - vectors[pairs[:, 1]], axis=-1)
    if threshold is None:
        threshold, _ = best_threshold(distances[same], distances[~same])
    return float(np.mean((distances < threshold) == same)), threshold


def recognition(encodings: np.ndarray, people: int, shots: int, who_is_it, rng: np.random.Generator,
                paths: dict) -> tuple[float, float, int, int]:
    """``who_is_it`` on trials of a DATABASE-person database: (top-1 accuracy on enrolled people, share of
    strangers rejected, counts of each)."""
    from contextlib import redirect_stdout
    from io import StringIO

    class Encoded:
        """A stand-in model: the path's precomputed encoding (what img_to_encoding then normalises)."""

        def __call__(self, x, training=False):
            return self.current

    model = Encoded()
    right = enrolled = rejected = strangers = 0
    for _ in range(TRIALS):
        chosen = rng.permutation(people)
        staff, others = chosen[:DATABASE], chosen[DATABASE:DATABASE * 2]
        database = {f"person {p}": encodings[p * shots][None] for p in staff}
        for person, expected in [(p, f"person {p}") for p in staff] + [(p, None) for p in others]:
            shot = int(rng.integers(1, shots))
            model.current = encodings[person * shots + shot][None]
            with redirect_stdout(StringIO()):
                min_dist, identity = who_is_it(paths["photo"], database, model)
            if expected is None:
                strangers += 1
                rejected += float(min_dist) > THRESHOLD
            else:
                enrolled += 1
                right += identity == expected and float(min_dist) <= THRESHOLD
    return right / enrolled, rejected / strangers, enrolled, strangers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks/assignment.py 04", description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--pairs", type=int, default=2000)
    parser.add_argument("--weights", type=Path, default=None, help="weights file (default: the shipped one)")
    args = parser.parse_args(argv)
    from tensorflow import keras

    started = time.perf_counter()
    photos = identities.photographs(identities.HELD_OUT_POOL, args.people, SHOTS, processes=2)
    photos = photos.reshape(-1, *net.IMAGE_SIZE, 3)
    print(f"rendered {args.people} held-out people x {SHOTS} photographs in {time.perf_counter() - started:.0f} s")

    model = net.facenet_body()
    model.load_weights(args.weights or data.verified_path(net.WEIGHTS_FILE))
    keras.utils.set_random_seed(SEED)
    untrained = net.facenet_body()
    encodings = fr.encode_images(model, photos)
    random_encodings = fr.encode_images(untrained, photos)
    pixels = photos.reshape(len(photos), -1).astype(np.float32) / 255.0

    rng = np.random.default_rng(SEED)
    pairs, same = draw_pairs(rng, args.people, SHOTS, args.pairs)
    at_07, _ = pair_accuracy(encodings, pairs, same, THRESHOLD)
    best, best_t = pair_accuracy(encodings, pairs, same)
    pixel_acc, pixel_t = pair_accuracy(pixels, pairs, same)
    random_acc, random_t = pair_accuracy(random_encodings, pairs, same)
    print(f"\nVerification on {len(pairs)} pairs ({int(same.sum())} same person, {int((~same).sum())} different) "
          f"of {args.people} unseen people")
    print(table(["method", "threshold", "accuracy"],
                [["trained network, dist < 0.7", "0.700", f"{at_07:.4f}"],
                 ["trained network, its best threshold", f"{best_t:.3f}", f"{best:.4f}"],
                 ["raw pixels (L2), best threshold", f"{pixel_t:.2f}", f"{pixel_acc:.4f}"],
                 ["random-weight network, best threshold", f"{random_t:.4f}", f"{random_acc:.4f}"]]))

    reference = inprocess.solution_namespace(spec.load(ASSIGNMENT))
    photo = str(data.verified_path(f"{net.DATA}/images/camera_0.jpg"))
    top1, rejected, enrolled, strangers = recognition(encodings, args.people, SHOTS, reference["who_is_it"], rng,
                                                      {"photo": photo})
    print(f"\nRecognition: {TRIALS} databases of {DATABASE} people; {enrolled} photographs of enrolled people, "
          f"{strangers} of strangers")

    times = []
    for _ in range(51):
        t0 = time.perf_counter()
        fr.img_to_encoding(photo, model)
        times.append(time.perf_counter() - t0)
    ms = float(np.median(times[1:])) * 1000

    checks = [("verification accuracy at 0.7", at_07, f">= {VERIFY_BAR}", at_07 >= VERIFY_BAR),
              ("raw-pixel baseline (best threshold)", pixel_acc, f"<= {at_07 - MARGIN_BAR:.3f}",
               pixel_acc <= at_07 - MARGIN_BAR),
              ("random-weight baseline (best threshold)", random_acc, f"<= {at_07 - MARGIN_BAR:.3f}",
               random_acc <= at_07 - MARGIN_BAR),
              ("who_is_it top-1 on enrolled people", top1, f">= {TOP1_BAR}", top1 >= TOP1_BAR),
              ("who_is_it strangers rejected", rejected, f">= {STRANGER_BAR}", rejected >= STRANGER_BAR),
              ("ms per img_to_encoding (median)", ms, f"<= {MS_BAR:.0f}", ms <= MS_BAR)]
    return print_checks(checks)


if __name__ == "__main__":
    raise SystemExit(main())
