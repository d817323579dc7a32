"""How a probe's output is compared with its reference: one class per kind of value.

Every kind answers two questions about ``(got, want)``:

* :meth:`Comparison.difference` -- ``None`` when they agree, else one or two
  sentences a student can act on ("3 of 8 values differ ... largest difference
  0.21 at index (1, 0): got 0.43, expected 0.22").
* :meth:`Comparison.distance` -- how far apart they are (``0.0`` when equal,
  ``inf`` when not comparable); used to pick the closest known mistake.

Kinds: :class:`Close` (float arrays within a tolerance), :class:`Exact`
(integers, strings, shapes, nested lists and dicts of them, stored exactly),
:class:`Boolean`, :class:`Items` and :class:`Fields` (tuples and dicts whose
parts each have their own kind), :class:`Boxes` (sets of detected boxes matched
by IoU, class and score), :class:`Structure` (Keras layer summaries, see
``utils.checking.models.summarize_model``) and :class:`Config` (optimizer,
loss and trainable settings: numbers within a relative tolerance, the rest
exactly).

Comparisons are plain data: :meth:`Comparison.to_json` and :func:`from_json`
store them in the compiled references next to the expected values. This module
imports NumPy only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from utils.checking.messages import short_repr


def plain(value):
    """A JSON-friendly copy: tuples become lists, NumPy scalars Python numbers, tensors lists."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
    if hasattr(value, "numpy") and callable(value.numpy):  # a tensor
        return plain(np.asarray(value))
    return value


class Comparison:
    """Base class: an exact kind. Subclasses set ``kind`` and implement :meth:`difference`; kinds with a
    tolerance (``exact = False``) also implement :meth:`scaled`, :meth:`deviation`,
    :meth:`absolute_deviation` and :meth:`tolerance_text`, and kinds holding arrays :meth:`encode`."""

    kind = "?"
    exact = True  # no tolerance: every kernel must give the identical value

    def difference(self, got, want) -> str | None:  # pragma: no cover - abstract
        raise NotImplementedError

    def distance(self, got, want) -> float:
        return 0.0 if self.difference(got, want) is None else math.inf

    def to_json(self) -> dict:
        return {"kind": self.kind}

    def scaled(self, fraction: float) -> Comparison:
        """The same comparison with every tolerance multiplied by ``fraction``."""
        return self

    def deviation(self, got, want) -> float:
        """How many tolerances ``got`` lies from ``want`` at its worst element (0 when equal, inf when not
        comparable). An exact kind is 0 or inf."""
        return 0.0 if self.difference(got, want) is None else math.inf

    def absolute_deviation(self, got, want) -> float:
        """The largest absolute difference among the numbers compared with a tolerance."""
        return self.deviation(got, want)

    def tolerance_text(self) -> str:
        return "exact"

    def encode(self, value, name: str, arrays: dict):
        """A JSON-friendly form of ``value``; arrays go to ``arrays`` as ``{"$array": key}`` (see :func:`decode`)."""
        return plain(value)


# ---------------------------------------------------------------------------
# Float arrays
# ---------------------------------------------------------------------------


def as_float_array(value) -> np.ndarray | str:
    """``value`` as a float64 array, or a sentence saying why it is not numbers."""
    if value is None:
        return "Expected numbers (an array or tensor), got None."
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return f"Expected numbers (an array or tensor), got {type(value).__name__}: {short_repr(value)}."


@dataclass(frozen=True)
class Close(Comparison):
    """Float arrays: ``|got - want| <= atol + rtol * |want|`` at every element, same shape, all finite."""

    rtol: float
    atol: float
    kind = "close"

    def allowed(self, want: np.ndarray) -> np.ndarray:
        return self.atol + self.rtol * np.abs(want)

    def difference(self, got, want) -> str | None:
        got = as_float_array(got)
        if isinstance(got, str):
            return got
        want = np.asarray(want, dtype=np.float64)
        if got.shape != want.shape:
            return f"Expected an output of shape {want.shape}, got {got.shape}."
        if not np.all(np.isfinite(got)):
            bad = tuple(int(i) for i in np.argwhere(~np.isfinite(got))[0])
            return f"Your output contains NaN or infinity, first at index {bad}."
        excess = np.abs(got - want) - self.allowed(want)
        if np.all(excess <= 0):
            return None
        where = np.unravel_index(int(np.argmax(np.abs(got - want))), got.shape) if got.ndim else ()
        index = tuple(int(i) for i in where)
        return (f"{int(np.sum(excess > 0))} of {got.size} values differ from the reference "
                f"(tolerance {self.atol:g} + {self.rtol:g}*|expected|). Largest difference "
                f"{abs(got[where] - want[where]):.3g} at index {index}: got {got[where]:.6g}, "
                f"expected {want[where]:.6g}.")

    def distance(self, got, want) -> float:
        got = as_float_array(got)
        want = np.asarray(want, dtype=np.float64)
        if isinstance(got, str) or got.shape != want.shape:
            return math.inf
        return float(np.max(np.abs(got - want))) if got.size else 0.0

    def to_json(self) -> dict:
        return {"kind": self.kind, "rtol": self.rtol, "atol": self.atol}

    exact = False

    def scaled(self, fraction: float) -> Close:
        return Close(self.rtol * fraction, self.atol * fraction)

    def deviation(self, got, want) -> float:
        got = as_float_array(got)
        want = np.asarray(want, dtype=np.float64)
        if isinstance(got, str) or got.shape != want.shape or not np.all(np.isfinite(got)):
            return math.inf
        return float(np.max(np.abs(got - want) / self.allowed(want))) if want.size else 0.0

    def absolute_deviation(self, got, want) -> float:
        return self.distance(got, want)

    def tolerance_text(self) -> str:
        return f"{self.atol:g}+{self.rtol:g}|x|"

    def encode(self, value, name: str, arrays: dict):
        array = np.asarray(value)
        arrays[name] = array.astype(np.float32) if array.dtype.kind == "f" else array
        return {ARRAY_TAG: name}


# ---------------------------------------------------------------------------
# Exact values
# ---------------------------------------------------------------------------


def _first_difference(got, want, path: str) -> str | None:
    where = f"{path}: " if path else ""
    if isinstance(want, dict):
        if not isinstance(got, dict):
            return f"{where}expected a dict with keys {sorted(want)}, got {type(got).__name__}: {short_repr(got)}."
        for key in want:
            if key not in got:
                return f"{where}the entry {key!r} is missing."
            found = _first_difference(got[key], want[key], f"{path}.{key}" if path else str(key))
            if found:
                return found
        extra = sorted(set(got) - set(want))
        return f"{where}unexpected entries {extra}." if extra else None
    if isinstance(want, list):
        if not isinstance(got, list):
            return f"{where}expected {short_repr(want)}, got {short_repr(got)}."
        if len(got) != len(want):
            return f"{where}expected {len(want)} items {short_repr(want)}, got {len(got)}: {short_repr(got)}."
        for index, (g, w) in enumerate(zip(got, want)):
            found = _first_difference(g, w, f"{path}[{index}]")
            if found:
                # A short list (a shape) reads better whole than by element.
                return f"{where}expected {want!r}, got {got!r}." if len(want) <= 8 else found
        return None
    if type(got) is bool or type(want) is bool:  # True must not equal 1
        same = type(got) is type(want) and got == want
    else:
        same = got == want
    if same:
        return None
    shown = lambda v: f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else repr(v)  # noqa: E731
    return f"{where}expected {shown(want)}, got {shown(got)}."


def _sentence(found: str | None) -> str | None:
    """Capitalise a message that starts with a word, not with a field name such as ``params``."""
    if found and found.startswith(("expected", "the entry", "unexpected", "value")):
        return found[0].upper() + found[1:]
    return found


@dataclass(frozen=True)
class Exact(Comparison):
    """Integers, strings, shapes and nested lists/dicts of them: equal, with nothing rounded.

    Stored as JSON, so 23,589,636 stays 23,589,636 (float32 would round it).
    """

    kind = "exact"

    def difference(self, got, want) -> str | None:
        return _sentence(_first_difference(plain(got), plain(want), ""))


@dataclass(frozen=True)
class Boolean(Comparison):
    """A truth value: ``True``/``False`` (a NumPy or tensor boolean scalar is accepted)."""

    kind = "boolean"

    def difference(self, got, want) -> str | None:
        value = plain(got)
        if isinstance(value, list) and len(value) == 1:
            value = value[0]
        if not isinstance(value, bool):
            return f"Expected True or False, got {type(got).__name__}: {short_repr(got)}."
        return None if value == bool(want) else f"Expected {bool(want)}, got {value}."


# ---------------------------------------------------------------------------
# Containers
# ---------------------------------------------------------------------------


class _Composite(Comparison):
    """A value made of parts that each have their own kind (:class:`Items`, :class:`Fields`).

    Subclasses give ``_kinds()`` (the parts' comparisons) and ``_triples(got, want)``
    (``(kind, got part, wanted part)`` for each part, or None when ``got`` has the wrong form)."""

    def _kinds(self) -> tuple:  # pragma: no cover - abstract
        raise NotImplementedError

    def _triples(self, got, want) -> list | None:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def exact(self) -> bool:
        return all(p.exact for p in self._kinds())

    def _worst(self, measure, got, want) -> float:
        """The worst ``measure`` over the parts with a tolerance; inf when an exact part differs."""
        triples = self._triples(got, want)
        if triples is None or any(p.exact and p.difference(g, w) is not None for p, g, w in triples):
            return math.inf
        return max((measure(p, g, w) for p, g, w in triples if not p.exact), default=0.0)

    def deviation(self, got, want) -> float:
        return self._worst(lambda p, g, w: p.deviation(g, w), got, want)

    def absolute_deviation(self, got, want) -> float:
        return self._worst(lambda p, g, w: p.absolute_deviation(g, w), got, want)

    def tolerance_text(self) -> str:
        return ", ".join(dict.fromkeys(p.tolerance_text() for p in self._kinds() if not p.exact)) or "exact"


@dataclass(frozen=True)
class Items(_Composite):
    """A tuple (or list) whose items each have their own kind, e.g. ``(scores, boxes, classes)``."""

    parts: tuple
    names: tuple = ()
    kind = "items"

    def _label(self, index: int) -> str:
        return f"item {index}" + (f" ({self.names[index]})" if index < len(self.names) else "")

    def difference(self, got, want) -> str | None:
        if not isinstance(got, (tuple, list)):
            return f"Expected a tuple of {len(self.parts)} items, got {type(got).__name__}: {short_repr(got)}."
        if len(got) != len(self.parts):
            return f"Expected a tuple of {len(self.parts)} items, got {len(got)}."
        for index, (part, g, w) in enumerate(zip(self.parts, got, want)):
            found = part.difference(g, w)
            if found:
                return f"In {self._label(index)}: {found}"
        return None

    def distance(self, got, want) -> float:
        if not isinstance(got, (tuple, list)) or len(got) != len(self.parts):
            return math.inf
        return max((p.distance(g, w) for p, g, w in zip(self.parts, got, want)), default=0.0)

    def to_json(self) -> dict:
        return {"kind": self.kind, "parts": [p.to_json() for p in self.parts], "names": list(self.names)}

    def _kinds(self) -> tuple:
        return self.parts

    def _triples(self, got, want) -> list | None:
        if not isinstance(got, (tuple, list)) or len(got) != len(self.parts):
            return None
        return list(zip(self.parts, got, want))

    def scaled(self, fraction: float) -> Items:
        return Items(tuple(p.scaled(fraction) for p in self.parts), self.names)

    def encode(self, value, name: str, arrays: dict):
        return [p.encode(v, f"{name}#{i}", arrays) for i, (v, p) in enumerate(zip(value, self.parts))]


@dataclass(frozen=True)
class Fields(_Composite):
    """A dict whose entries each have their own kind, e.g. ``{"loss": Exact(), "learning_rate": Close(...)}``."""

    parts: dict
    kind = "fields"

    def difference(self, got, want) -> str | None:
        if not isinstance(got, dict):
            return f"Expected a dict with keys {sorted(self.parts)}, got {type(got).__name__}: {short_repr(got)}."
        for name, part in self.parts.items():
            if name not in got:
                return f"The entry {name!r} is missing."
            found = part.difference(got[name], want[name])
            if found:
                return f"{name}: {found}"
        return None

    def distance(self, got, want) -> float:
        if not isinstance(got, dict) or set(self.parts) - set(got):
            return math.inf
        return max((p.distance(got[n], want[n]) for n, p in self.parts.items()), default=0.0)

    def to_json(self) -> dict:
        return {"kind": self.kind, "parts": {n: p.to_json() for n, p in self.parts.items()}}

    def _kinds(self) -> tuple:
        return tuple(self.parts.values())

    def _triples(self, got, want) -> list | None:
        if not isinstance(got, dict) or set(self.parts) - set(got):
            return None
        return [(p, got[n], want[n]) for n, p in self.parts.items()]

    def scaled(self, fraction: float) -> Fields:
        return Fields({n: p.scaled(fraction) for n, p in self.parts.items()})

    def encode(self, value, name: str, arrays: dict):
        return {n: p.encode(value[n], f"{name}#{n}", arrays) for n, p in self.parts.items()}


# ---------------------------------------------------------------------------
# Detected boxes
# ---------------------------------------------------------------------------


def box_iou(a, b) -> float:
    """IoU of two corner boxes ``(y1, x1, y2, x2)`` (any consistent corner order works)."""
    y1, x1 = max(a[0], b[0]), max(a[1], b[1])
    y2, x2 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, y2 - y1) * max(0.0, x2 - x1)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


@dataclass(frozen=True)
class Boxes(Comparison):
    """A set of detections ``(scores (n,), boxes (n, 4), classes (n,))``, compared as a set.

    Order does not matter (non-max suppression may order ties differently on
    other kernels). Each expected box must be matched by one of the student's
    boxes of the same class, with IoU >= ``min_iou`` and a score within
    ``score_atol``; no box may be left over on either side.
    """

    min_iou: float = 0.99
    score_atol: float = 1e-4
    kind = "boxes"

    @staticmethod
    def _unpack(value):
        if not isinstance(value, (tuple, list)) or len(value) != 3:
            return f"Expected (scores, boxes, classes), got {type(value).__name__}: {short_repr(value)}."
        scores, boxes, classes = (np.asarray(v) for v in value)
        n = scores.reshape(-1).shape[0]
        if boxes.size % 4 or (boxes.size // 4) != n:
            return f"Got {n} scores but boxes of shape {boxes.shape}: expected ({n}, 4)."
        if classes.reshape(-1).shape[0] != n:
            return f"Got {n} scores but {classes.reshape(-1).shape[0]} classes."
        return (scores.reshape(-1).astype(np.float64), boxes.reshape(-1, 4).astype(np.float64),
                classes.reshape(-1).astype(np.int64))

    def _match(self, got, want):
        """``(pairs, unmatched expected indices, unmatched got indices)``, greedy by IoU."""
        g_scores, g_boxes, g_classes = got
        w_scores, w_boxes, w_classes = want
        free = set(range(len(g_scores)))
        pairs, missing = [], []
        for i in np.argsort(-w_scores, kind="stable"):
            candidates = [(box_iou(w_boxes[i], g_boxes[j]), j) for j in free
                          if g_classes[j] == w_classes[i] and abs(g_scores[j] - w_scores[i]) <= self.score_atol]
            best = max(candidates, default=None)
            if best is not None and best[0] >= self.min_iou:
                pairs.append((int(i), best[1]))
                free.discard(best[1])
            else:
                missing.append(int(i))
        return pairs, missing, sorted(free)

    @staticmethod
    def _describe(detections, i) -> str:
        scores, boxes, classes = detections
        corners = ", ".join(f"{c:.4g}" for c in boxes[i])
        return f"class {int(classes[i])}, score {scores[i]:.4g}, box ({corners})"

    def difference(self, got, want) -> str | None:
        got = self._unpack(got)
        if isinstance(got, str):
            return got
        want = self._unpack(want)
        pairs, missing, extra = self._match(got, want)
        if not missing and not extra:
            return None
        parts = [f"Expected {len(want[0])} boxes, got {len(got[0])}."]
        if missing:
            parts.append("No box of yours matches the expected " + self._describe(want, missing[0])
                         + f" (same class, IoU >= {self.min_iou:g}, score within {self.score_atol:g}).")
        if extra:
            parts.append("Your box " + self._describe(got, extra[0]) + " matches no expected box.")
        return " ".join(parts)

    def distance(self, got, want) -> float:
        got, want = self._unpack(got), self._unpack(want)
        if isinstance(got, str) or isinstance(want, str):
            return math.inf
        pairs, missing, extra = self._match(got, want)
        return 0.0 if not missing and not extra else float(len(missing) + len(extra))

    def to_json(self) -> dict:
        return {"kind": self.kind, "min_iou": self.min_iou, "score_atol": self.score_atol}

    exact = False

    def scaled(self, fraction: float) -> Boxes:
        return Boxes(1 - (1 - self.min_iou) * fraction, self.score_atol * fraction)

    def _worst(self, got, want) -> tuple[float, float]:
        """``(tolerances used, largest score difference)`` over the matched pairs; inf when a box is
        missing or left over. Tolerances used: a pair's score difference over ``score_atol`` or its
        ``1 - IoU`` over ``1 - min_iou``."""
        got, want = self._unpack(got), self._unpack(want)
        if isinstance(got, str) or isinstance(want, str):
            return math.inf, math.inf
        pairs, missing, extra = self._match(got, want)
        if missing or extra:
            return math.inf, math.inf
        worst, score = 0.0, 0.0
        for i, j in pairs:
            difference = abs(got[0][j] - want[0][i])
            worst = max(worst, difference / self.score_atol, (1 - box_iou(want[1][i], got[1][j])) / (1 - self.min_iou))
            score = max(score, difference)
        return worst, score

    def deviation(self, got, want) -> float:
        return self._worst(got, want)[0]

    def absolute_deviation(self, got, want) -> float:
        return self._worst(got, want)[1]

    def tolerance_text(self) -> str:
        return f"set: IoU>={self.min_iou:g}, score+-{self.score_atol:g}"

    def encode(self, value, name: str, arrays: dict):
        return [Close(0, 0).encode(v, f"{name}#{i}", arrays) for i, v in enumerate(value)]


# ---------------------------------------------------------------------------
# Keras model structure
# ---------------------------------------------------------------------------

_BOOKKEEPING = {"type", "output_shape", "params", "activation"}


def _entry_text(entry: dict) -> str:
    if entry["type"] == "Activation":
        return f"Activation({entry['activation']})"
    settings = ", ".join(f"{k}={v}" for k, v in entry.items() if k not in {"type", "output_shape", "params"})
    return f"{entry['type']}({settings})"


def describe_structure_difference(actual: list[dict], expected: list[dict]) -> str | None:
    """One sentence naming the first difference between two layer summaries, or None if they match."""
    for index, (got, want) in enumerate(zip(actual, expected), start=1):
        if got["type"] != want["type"]:
            return (f"Layer {index}: found {_entry_text(got)}, expected {_entry_text(want)} "
                    f"(a layer is missing, extra or in the wrong place).")
        if got.get("activation") != want.get("activation"):
            return f"Layer {index}: activation is '{got.get('activation')}', expected '{want.get('activation')}'."
        for key in want:
            if key not in _BOOKKEEPING and got.get(key) != want[key]:
                return f"Layer {index}: {got['type']} {key} is {got.get(key)!r}, expected {want[key]!r}."
        if got["output_shape"] != want["output_shape"]:
            return (f"Layer {index}: {got['type']} output shape is {tuple(got['output_shape'])}, "
                    f"expected {tuple(want['output_shape'])}.")
        if got["params"] != want["params"]:
            return f"Layer {index}: {got['type']} has {got['params']:,} parameters, expected {want['params']:,}."
    if len(actual) < len(expected):
        return (f"Your model has {len(actual)} layers, expected {len(expected)}: "
                f"layer {len(actual) + 1} should be {_entry_text(expected[len(actual)])}.")
    if len(actual) > len(expected):
        return (f"Your model has {len(actual)} layers, expected {len(expected)}: "
                f"layer {len(expected) + 1}, {_entry_text(actual[len(expected)])}, is extra.")
    return None


@dataclass(frozen=True)
class Structure(Comparison):
    """Layer-by-layer summaries of Keras models (``utils.checking.models.summarize_model``)."""

    kind = "structure"

    def difference(self, got, want) -> str | None:
        if not isinstance(got, list):
            return f"Expected a layer summary, got {type(got).__name__}."
        return describe_structure_difference(plain(got), want)


# ---------------------------------------------------------------------------
# Training configuration
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Config(Comparison):
    """Optimizer, loss and trainable settings as a flat or nested dict.

    Numbers (learning rates, momenta) compare within ``rtol``: a learning rate
    goes through float32 on the way into an optimizer. Strings, booleans,
    integers (counts of trainable layers) and lists compare exactly.
    """

    rtol: float = 1e-6
    kind = "config"

    def _difference(self, got, want, path: str) -> str | None:
        if isinstance(want, dict):
            if not isinstance(got, dict):
                return f"{path or 'value'}: expected a dict, got {short_repr(got)}."
            for key, value in want.items():
                name = f"{path}.{key}" if path else key
                if key not in got:
                    return f"{name} is missing."
                found = self._difference(got[key], value, name)
                if found:
                    return found
            return None
        if isinstance(want, float) and isinstance(got, (int, float)) and not isinstance(got, bool):
            if abs(got - want) <= self.rtol * abs(want):
                return None
            return f"{path} is {got:g}, expected {want:g}."
        found = _first_difference(got, want, path)
        return found

    def difference(self, got, want) -> str | None:
        return _sentence(self._difference(plain(got), want, ""))

    def to_json(self) -> dict:
        return {"kind": self.kind, "rtol": self.rtol}

    def scaled(self, fraction: float) -> Config:
        return Config(self.rtol * fraction)


_KINDS = {cls.kind: cls for cls in (Close, Exact, Boolean, Items, Fields, Boxes, Structure, Config)}


def from_json(data: dict) -> Comparison:
    """The comparison stored by :meth:`Comparison.to_json`."""
    data = dict(data)
    cls = _KINDS[data.pop("kind")]
    if cls is Items:
        return Items(tuple(from_json(p) for p in data["parts"]), tuple(data.get("names", ())))
    if cls is Fields:
        return Fields({n: from_json(p) for n, p in data["parts"].items()})
    return cls(**data)


# ---------------------------------------------------------------------------
# Values with arrays inside, stored as JSON + .npz
# ---------------------------------------------------------------------------

ARRAY_TAG = "$array"


def encode(value, name: str, arrays: dict, comparison: Comparison):
    """A JSON-friendly form of ``value`` as ``comparison`` stores it (:meth:`Comparison.encode`): the arrays
    that :class:`Close` or :class:`Boxes` compare go to ``arrays[name...]`` (float32 for floats) and are
    referenced as ``{"$array": key}``."""
    return comparison.encode(value, name, arrays)


def decode(value, arrays: dict):
    """Inverse of :func:`encode`."""
    if isinstance(value, dict):
        if set(value) == {ARRAY_TAG}:
            return arrays[value[ARRAY_TAG]]
        return {k: decode(v, arrays) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v, arrays) for v in value]
    return value
