"""utils.checking.compare: every comparison kind, with hand-worked cases and the messages students read."""

import json
import math

import numpy as np
import pytest

from utils.checking import compare
from utils.checking.compare import Boolean, Boxes, Close, Config, Exact, Fields, Items, Structure

ELEMENT = Close(rtol=1e-5, atol=1e-6)


def test_close_passes_within_float32_rounding():
    want = np.linspace(-1, 1, 10, dtype=np.float32)
    assert ELEMENT.difference(want * (1 + 5e-7), want) is None


def test_close_message_locates_the_largest_difference():
    want = np.zeros((2, 3))
    got = want.copy()
    got[1, 2] = 0.5
    message = ELEMENT.difference(got, want)
    assert "1 of 6 values" in message and "index (1, 2)" in message and "got 0.5" in message


def test_close_reports_shape_nan_and_non_numbers():
    exact = Close(0, 0)
    assert "shape (3,), got (2,)" in exact.difference([1, 2], [1, 2, 3])
    assert "NaN" in exact.difference([1, np.nan], [1, 2])
    assert exact.difference(None, [1.0]).startswith("Expected numbers")
    assert exact.distance([1, 2], [1, 2, 3]) == math.inf


def test_close_tolerance_is_atol_plus_rtol_times_expected():
    tol = Close(rtol=1e-3, atol=1e-4)
    assert tol.difference([100.0 + 0.1], [100.0]) is None  # 0.1 <= 1e-4 + 0.1
    assert tol.difference([100.0 + 0.1002], [100.0]) is not None


def test_exact_keeps_large_integers_exact():
    """23,589,636 is above 2**24: float32 would store it as 23,589,636 and 23,589,637 alike."""
    assert np.float32(23_589_636) == np.float32(23_589_637)
    message = Exact().difference({"params": 23_589_637}, {"params": 23_589_636})
    assert message == "params: expected 23,589,636, got 23,589,637."
    stored = json.loads(json.dumps(compare.encode({"params": 23_589_636}, "k", {}, Exact())))
    assert stored == {"params": 23_589_636}


def test_exact_names_the_entry_and_shows_short_lists_whole():
    want = {"input_shape": [None, 64, 64, 3], "output_shape": [None, 1]}
    message = Exact().difference({"input_shape": (None, 64, 64, 3), "output_shape": (None, 6)}, want)
    assert message == "output_shape: expected [None, 1], got [None, 6]."
    assert Exact().difference({"input_shape": [None, 64, 64, 3]}, want) == "The entry 'output_shape' is missing."
    assert Exact().difference("car", "car") is None
    assert Exact().difference("bus", "car") == "Expected 'car', got 'bus'."


def test_exact_does_not_take_true_for_one():
    assert Exact().difference(True, 1) is not None
    assert Exact().difference(np.int64(3), 3) is None


def test_boolean_accepts_numpy_and_rejects_non_booleans():
    assert Boolean().difference(np.bool_(True), True) is None
    assert Boolean().difference(False, True) == "Expected True, got False."
    assert Boolean().difference(0.7, True).startswith("Expected True or False, got float")


def test_items_compares_each_part_with_its_own_kind():
    kind = Items((Close(1e-5, 1e-6), Exact()), names=("scores", "classes"))
    want = (np.array([0.9, 0.8]), [2, 5])
    assert kind.difference((np.array([0.9, 0.8]) + 1e-8, [2, 5]), want) is None
    assert kind.difference((np.array([0.9, 0.8]), [2, 6]), want).startswith("In item 1 (classes):")
    assert kind.difference((np.array([0.9, 0.8]),), want) == "Expected a tuple of 2 items, got 1."
    assert kind.difference(np.array([1.0]), want).startswith("Expected a tuple of 2 items, got ndarray")


def test_fields_names_the_field():
    kind = Fields({"loss": Exact(), "lr": Close(1e-6, 0)})
    assert kind.difference({"loss": "mse", "lr": 0.001}, {"loss": "mse", "lr": 0.001}) is None
    assert kind.difference({"loss": "mae", "lr": 0.001}, {"loss": "mse", "lr": 0.001}).startswith("loss:")
    assert kind.difference({"lr": 0.001}, {"loss": "mse", "lr": 0.001}) == "The entry 'loss' is missing."


def test_box_iou_hand_worked():
    # The classic case: (2, 1, 4, 3) and (1, 2, 3, 4) overlap in a 1x1 square; union 4 + 4 - 1 = 7.
    assert compare.box_iou((2, 1, 4, 3), (1, 2, 3, 4)) == pytest.approx(1 / 7)
    assert compare.box_iou((0, 0, 1, 1), (2, 2, 3, 3)) == 0.0  # disjoint
    assert compare.box_iou((0, 0, 1, 1), (1, 0, 2, 1)) == 0.0  # touching at an edge
    assert compare.box_iou((0, 0, 2, 2), (0.5, 0.5, 1.5, 1.5)) == pytest.approx(1 / 4)  # contained


DETECTIONS = (np.array([0.9, 0.7, 0.65]),
              np.array([[10, 10, 50, 60], [100, 100, 140, 180], [12, 14, 48, 58]], dtype=float),
              np.array([2, 0, 5]))


def test_boxes_are_compared_as_a_set():
    order = [2, 0, 1]
    shuffled = tuple(a[order] for a in DETECTIONS)
    assert Boxes().difference(shuffled, DETECTIONS) is None
    assert Boxes().distance(shuffled, DETECTIONS) == 0.0


def test_boxes_report_a_missing_a_wrong_class_and_an_extra_box():
    kind = Boxes()
    fewer = tuple(a[:2] for a in DETECTIONS)
    message = kind.difference(fewer, DETECTIONS)
    assert message.startswith("Expected 3 boxes, got 2.") and "class 5, score 0.65" in message
    relabelled = (DETECTIONS[0], DETECTIONS[1], np.array([2, 0, 4]))
    message = kind.difference(relabelled, DETECTIONS)
    assert "class 5" in message and "Your box class 4" in message
    assert kind.difference((DETECTIONS[0], DETECTIONS[1][:, :3], DETECTIONS[2]), DETECTIONS).startswith("Got 3 scores")
    moved = (DETECTIONS[0], DETECTIONS[1] + np.array([0, 0, 0, 5.0]), DETECTIONS[2])
    assert kind.difference(moved, DETECTIONS) is not None  # IoU 0.9 < 0.99


def test_boxes_tolerate_last_digit_differences_only():
    nudged = (DETECTIONS[0] + 2e-5, DETECTIONS[1] + 1e-3, DETECTIONS[2])
    assert Boxes().difference(nudged, DETECTIONS) is None
    assert Boxes().difference((DETECTIONS[0] + 1e-2, DETECTIONS[1], DETECTIONS[2]), DETECTIONS) is not None


def test_structure_names_the_first_differing_layer():
    conv = {"type": "Conv2D", "output_shape": [None, 8, 8, 4], "params": 112, "filters": 4, "padding": "valid"}
    relu = {"type": "Activation", "activation": "relu", "output_shape": [None, 8, 8, 4], "params": 0}
    assert Structure().difference([conv, relu], [conv, relu]) is None
    assert Structure().difference([conv], [conv, relu]).startswith("Your model has 1 layers, expected 2")
    same_padding = dict(conv, padding="same")
    assert Structure().difference([same_padding, relu], [conv, relu]) == \
        "Layer 1: Conv2D padding is 'same', expected 'valid'."


def test_config_compares_numbers_relatively_and_the_rest_exactly():
    want = {"optimizer": {"name": "adam", "learning_rate": 0.0001}, "loss": "binary_crossentropy",
            "trainable_layers": 20}
    assert Config().difference({**want, "optimizer": {"name": "adam", "learning_rate": np.float32(1e-4)}},
                               want) is None
    assert Config().difference({**want, "optimizer": {"name": "adam", "learning_rate": 0.001}}, want) == \
        "optimizer.learning_rate is 0.001, expected 0.0001."
    assert Config().difference({**want, "trainable_layers": 21}, want) == "trainable_layers: expected 20, got 21."
    assert Config().difference({"loss": "binary_crossentropy"}, want) == "optimizer is missing."


@pytest.mark.parametrize("kind", [
    Close(1e-3, 1e-4), Exact(), Boolean(), Boxes(0.9, 1e-3), Structure(), Config(1e-5),
    Items((Close(1e-5, 1e-6), Exact()), ("a", "b")), Fields({"x": Exact(), "y": Close(0, 1e-6)}),
])
def test_every_kind_round_trips_through_json(kind):
    assert compare.from_json(json.loads(json.dumps(kind.to_json()))) == kind


def test_encode_puts_arrays_in_the_npz_and_decode_restores_them():
    arrays = {}
    kind = Items((Close(1e-5, 1e-6), Exact()), ("scores", "classes"))
    stored = compare.encode((np.array([0.5, 0.25]), np.array([1, 2])), "probe", arrays, kind)
    assert stored == [{"$array": "probe#0"}, [1, 2]] and arrays["probe#0"].dtype == np.float32
    back = compare.decode(json.loads(json.dumps(stored)), arrays)
    assert kind.difference(back, (np.array([0.5, 0.25]), [1, 2])) is None


def test_each_kind_measures_its_own_deviation_in_tolerances():
    # |1.0011 - 1| = 0.0011 = 1e-4 + 1e-3 * 1: exactly one tolerance.
    close = compare.Close(rtol=1e-3, atol=1e-4)
    assert close.deviation([1.0011, 2.0], [1.0, 2.0]) == pytest.approx(1.0)
    assert close.absolute_deviation([1.0011, 2.0], [1.0, 2.0]) == pytest.approx(0.0011)
    assert close.deviation([1.0], [1.0, 2.0]) == float("inf")
    items = compare.Items((close, compare.Exact()))
    assert items.deviation(([1.0011], [3, 4]), ([1.0], [3, 4])) == pytest.approx(1.0)
    assert items.deviation(([1.0], [3, 5]), ([1.0], [3, 4])) == float("inf")  # an exact part differs
    assert compare.Exact().deviation([1, 2], [1, 2]) == 0.0 and compare.Exact().exact and not items.exact
    # One matched pair: scores 0.9 vs 0.90005 (half of score_atol=1e-4) and IoU 100/100.5 (1 - IoU is
    # 0.4975 of 1 - min_iou = 0.01): the worst is 0.5 tolerances.
    boxes = compare.Boxes(min_iou=0.99, score_atol=1e-4)
    got = ([0.90005], [[0, 0, 10, 10.05]], [1])
    want = ([0.9], [[0, 0, 10, 10]], [1])
    assert boxes.deviation(got, want) == pytest.approx(0.5)
    assert boxes.absolute_deviation(got, want) == pytest.approx(5e-5)
    assert boxes.deviation(([0.9002], [[0, 0, 10, 10]], [1]), want) == float("inf")  # beyond the score tolerance
    assert boxes.deviation(([0.9], [[0, 0, 10, 10]], [2]), want) == float("inf")  # wrong class: no match


def test_scaled_multiplies_every_tolerance():
    assert compare.Close(1e-3, 1e-4).scaled(0.5) == compare.Close(5e-4, 5e-5)
    assert compare.Boxes(0.99, 1e-4).scaled(0.5) == compare.Boxes(0.995, 5e-5)
    nested = compare.Fields({"a": compare.Items((compare.Close(1e-2, 0),)), "b": compare.Exact()}).scaled(0.1)
    assert nested.parts["a"].parts[0] == compare.Close(1e-3, 0) and nested.parts["b"] == compare.Exact()
    assert compare.Config(1e-6).scaled(2) == compare.Config(2e-6)
