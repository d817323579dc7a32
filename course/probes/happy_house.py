"""Probes of assignment 01 (Happy House): the two graded model builders."""

from utils.checks import build_model, seeded_forward, summarize_model
from course.references import Probe

ASSIGNMENT = "01_happy_house"


def _happy(fn):
    return build_model(fn, exercise="happyModel")


def _conv(shape):
    return lambda fn: build_model(fn, shape, exercise="convolutional_model")


PROBES = [
    Probe("happyModel/summary", "happyModel", "layer-by-layer structure",
          lambda fn: summarize_model(_happy(fn)), kind="summary"),
    Probe("happyModel/forward", "happyModel", "output on a seeded batch with seeded weights (inference mode)",
          lambda fn: seeded_forward(_happy(fn), weight_seed=1, input_seed=2)),
    Probe("happyModel/forward_training", "happyModel",
          "output on a seeded batch with seeded weights (training mode, BatchNorm uses batch statistics)",
          lambda fn: seeded_forward(_happy(fn), weight_seed=3, input_seed=4, batch=8, training=True)),
    Probe("convolutional_model/summary", "convolutional_model", "layer-by-layer structure for input_shape=(64, 64, 3)",
          lambda fn: summarize_model(_conv((64, 64, 3))(fn)), kind="summary"),
    Probe("convolutional_model/forward", "convolutional_model",
          "output on a seeded batch with seeded weights, input_shape=(64, 64, 3)",
          lambda fn: seeded_forward(_conv((64, 64, 3))(fn), weight_seed=5, input_seed=6)),
    Probe("convolutional_model/summary_other_shape", "convolutional_model",
          "layer-by-layer structure for input_shape=(48, 40, 3) (is input_shape used?)",
          lambda fn: summarize_model(_conv((48, 40, 3))(fn)), kind="summary"),
    Probe("convolutional_model/forward_other_shape", "convolutional_model",
          "output on a seeded batch with seeded weights, input_shape=(48, 40, 3)",
          lambda fn: seeded_forward(_conv((48, 40, 3))(fn), weight_seed=7, input_seed=8)),
]
