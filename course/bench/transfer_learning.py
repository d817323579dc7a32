"""Frozen base, fine-tuning and training from scratch on the alpaca pictures, for assignment 06.

Usage: python benchmarks/assignment.py 06 [--epochs 5] [--fine-tune-epochs 5] [--seed 0]

1. Loads the notebook's split (264 training and 66 validation pictures, split seed 42).
2. **Frozen base**: the solution's ``alpaca_model`` (augmentation, ``preprocess_input``, the shipped
   MobileNetV2 base frozen, the new head), Adam 1e-3, ``--epochs`` epochs; validation accuracy
   (logit > 0) against the bar 0.90.
3. **Fine-tuning**: the solution's ``fine_tune`` on that model, ``--fine-tune-epochs`` more epochs;
   bar 0.93.
4. **From scratch**: the same network with random weights and every layer trainable, ``--epochs``
   epochs; it must stay 0.10 below the frozen base.

Exits 1 when a bar is missed.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from course import inprocess, spec
from course.benchmarking import print_checks, table
from utils import transfer_learning as tl

ASSIGNMENT = "06_transfer_learning"
FROZEN_BAR, FINE_TUNED_BAR, SCRATCH_GAP = 0.90, 0.93, 0.10


def datasets(tf):
    directory = tl.data_directory()
    return [tf.keras.utils.image_dataset_from_directory(directory, shuffle=True, batch_size=32,
                                                        image_size=tl.IMG_SIZE, validation_split=0.2,
                                                        subset=subset, seed=42, verbose=False)
            for subset in ("training", "validation")]


def accuracy(model, validation) -> float:
    """Validation accuracy with the decision logit > 0 (probability > 0.5)."""
    hits = total = 0
    for images, labels in validation:
        logits = np.asarray(model(images, training=False)).ravel()
        hits += int(((logits > 0) == (np.asarray(labels) == 1)).sum())
        total += len(logits)
    return hits / total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks/assignment.py 06", description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--fine-tune-epochs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    import tensorflow as tf

    reference = inprocess.solution_namespace(spec.load(ASSIGNMENT))
    train, validation = datasets(tf)
    train = train.prefetch(tf.data.AUTOTUNE)
    loss = tf.keras.losses.BinaryCrossentropy(from_logits=True)
    rows, seconds = [], {}

    tf.keras.utils.set_random_seed(args.seed)
    model = reference["alpaca_model"](tl.IMG_SIZE, reference["data_augmenter"]())
    model.compile(optimizer=tf.keras.optimizers.Adam(1e-3), loss=loss, metrics=["accuracy"])
    started = time.perf_counter()
    model.fit(train, epochs=args.epochs, verbose=0)
    seconds["frozen"] = time.perf_counter() - started
    frozen = accuracy(model, validation)
    rows.append(["frozen base, new head", args.epochs, f"{frozen:.3f}", f"{seconds['frozen']:.0f}"])

    reference["fine_tune"](model, 1e-3)
    started = time.perf_counter()
    model.fit(train, epochs=args.epochs + args.fine_tune_epochs, initial_epoch=args.epochs, verbose=0)
    seconds["fine"] = time.perf_counter() - started
    fine = accuracy(model, validation)
    rows.append(["after fine-tuning", args.fine_tune_epochs, f"{fine:.3f}", f"{seconds['fine']:.0f}"])

    tf.keras.utils.set_random_seed(args.seed)
    shape = tl.IMG_SIZE + (3,)
    base = tf.keras.applications.MobileNetV2(input_shape=shape, include_top=False, weights=None)
    inputs = tf.keras.Input(shape=shape)
    x = reference["data_augmenter"]()(inputs)
    x = base(tf.keras.applications.mobilenet_v2.preprocess_input(x), training=False)
    x = tf.keras.layers.Dropout(0.2)(tf.keras.layers.GlobalAveragePooling2D()(x))
    scratch_model = tf.keras.Model(inputs, tf.keras.layers.Dense(1)(x))
    scratch_model.compile(optimizer=tf.keras.optimizers.Adam(1e-3), loss=loss, metrics=["accuracy"])
    started = time.perf_counter()
    scratch_model.fit(train, epochs=args.epochs, verbose=0)
    seconds["scratch"] = time.perf_counter() - started
    scratch = accuracy(scratch_model, validation)
    rows.append(["same network from random weights", args.epochs, f"{scratch:.3f}", f"{seconds['scratch']:.0f}"])

    print(f"\nValidation accuracy on {sum(int(len(y)) for _, y in validation)} pictures (seed {args.seed})")
    print(table(["model", "epochs", "val accuracy", "train s"], rows))
    return print_checks([
        ("frozen base", frozen, f">= {FROZEN_BAR:.2f}", frozen >= FROZEN_BAR),
        ("after fine-tuning", fine, f">= {FINE_TUNED_BAR:.2f}", fine >= FINE_TUNED_BAR),
        ("from scratch", scratch, f"<= {frozen - SCRATCH_GAP:.3f}", scratch <= frozen - SCRATCH_GAP),
    ])
