"""Assignment 04 (Face recognition): ``grade`` for its test cells, the probe runners its checks use,
and the notebook's helpers (the embedding network, encodings, the office database, pictures).

The photographs are synthetic people (``course/synth/identities.py``) whom the shipped network
never saw in training: twelve office staff enrolled in the database with one photograph each,
eight camera photographs taken at the door (six staff, two strangers) and a gallery of four more
photographs of each staff member and of twelve strangers.

``verify`` and ``who_is_it`` are graded with a *probe model*: the shipped network followed by a
fixed rotation of the 128-d space. Rotating every encoding keeps every distance, so the
reference distances and decisions are those of the shipped network, but a function that encodes
the camera photograph with a global ``FRmodel`` instead of its ``model`` argument compares
encodings from two different spaces and gets other distances.
"""

from __future__ import annotations

import contextlib
import io
from functools import lru_cache

import numpy as np

from utils import data
from utils.checking.grader import Grader
from utils.checking.messages import ProbeError, one_number
from utils.face_recognition_net import (  # noqa: F401  (re-exported for the notebook)
    DATA,
    EMBEDDING,
    IMAGE_SIZE,
    facenet_body,
    load_facenet,
)

ASSIGNMENT = "04_face_recognition"
grade = Grader(ASSIGNMENT)
THRESHOLD = 0.7
OFFICE = ("danielle", "younes", "tian", "andrew", "kian", "dan", "sebastiano", "bertrand", "kevin", "felix",
          "benoit", "arnaud")
CAMERA = tuple(f"camera_{i}.jpg" for i in range(8))
GALLERY_FILE = f"{DATA}/gallery.png"
GALLERY_SHOTS = 4
ROTATION_SEED = 404


# ---------------------------------------------------------------------------
# Photographs, encodings and the database
# ---------------------------------------------------------------------------
def image_path(name: str) -> str:
    """The path of a committed photograph (``"danielle.png"``, ``"camera_0.jpg"``), hash-checked."""
    return str(data.verified_path(f"{DATA}/images/{name}"))


def load_photo(path) -> np.ndarray:
    """A photograph as uint8 ``(96, 96, 3)`` RGB, resized if it has another size."""
    from PIL import Image

    with Image.open(path) as picture:
        picture = picture.convert("RGB")
        if picture.size != IMAGE_SIZE[::-1]:
            picture = picture.resize(IMAGE_SIZE[::-1], Image.Resampling.BILINEAR)
        return np.asarray(picture, dtype=np.uint8)


def img_to_encoding(image_path, model) -> np.ndarray:
    """The encoding of the photograph at ``image_path``: shape ``(1, 128)``, length 1."""
    x = load_photo(image_path)[None].astype(np.float32) / 255.0
    embedding = np.asarray(model(x, training=False))
    return embedding / np.linalg.norm(embedding, ord=2)


def build_database(model, names=OFFICE) -> dict:
    """The office database: ``{name: img_to_encoding(<name>.png, model)}`` for the enrolled staff."""
    return {name: img_to_encoding(image_path(f"{name}.png"), model) for name in names}


@lru_cache(maxsize=1)
def gallery() -> tuple[np.ndarray, np.ndarray]:
    """Further photographs: ``(images (n, 96, 96, 3) uint8, labels (n,))``; labels 0-11 are ``OFFICE``,
    the rest strangers."""
    from PIL import Image

    with Image.open(data.verified_path(GALLERY_FILE)) as picture:
        sheet = np.asarray(picture.convert("RGB"), dtype=np.uint8)
    size = IMAGE_SIZE[0]
    people = sheet.shape[0] // size
    images = sheet.reshape(people, size, GALLERY_SHOTS, size, 3).transpose(0, 2, 1, 3, 4)
    return images.reshape(-1, size, size, 3), np.repeat(np.arange(people), GALLERY_SHOTS)


def encode_images(model, images) -> np.ndarray:
    """Encodings ``(n, 128)`` of uint8 photographs."""
    return np.asarray(model(np.asarray(images, dtype=np.float32) / 255.0, training=False))


# ---------------------------------------------------------------------------
# Probe runners
# ---------------------------------------------------------------------------
@lru_cache(maxsize=1)
def shipped_model():
    """The shipped network, loaded once per kernel."""
    return load_facenet()


@lru_cache(maxsize=1)
def probe_model():
    """The shipped network followed by a fixed rotation of the encoding space (same distances, other
    encodings)."""
    from tensorflow import keras

    rng = np.random.default_rng(ROTATION_SEED)
    rotation, _ = np.linalg.qr(rng.normal(size=(EMBEDDING, EMBEDDING)))
    base = shipped_model()
    inputs = keras.Input(shape=(*IMAGE_SIZE, 3))
    turn = keras.layers.Dense(EMBEDDING, use_bias=False, trainable=False, name="rotation")
    outputs = turn(base(inputs))
    turn.set_weights([rotation.astype(np.float32)])
    return keras.Model(inputs, outputs, name="facenet_rotated")


SUM_HINT = ("Reduce to a single number: sum over the batch as well (tf.reduce_sum without an axis at the "
            "end).")


def _scalar(value, what: str) -> float:
    return one_number(value, what, SUM_HINT)


def _boolean(value, what: str) -> bool:
    try:
        array = np.asarray(value)
    except (TypeError, ValueError):
        array = None
    if array is None or array.size != 1 or array.dtype.kind not in "bi":
        raise ProbeError(f"{what} must be True or False; got {type(value).__name__} {value!r}.")
    return bool(array.reshape(()))


def triplet_cases(fn, *, cases) -> list[float]:
    """Probe: ``triplet_loss(None, [anchor, positive, negative], alpha)`` for each case, as numbers."""
    import tensorflow as tf

    values = []
    for case in cases:
        y_pred = [tf.constant(case[part], tf.float32) for part in ("anchor", "positive", "negative")]
        values.append(_scalar(fn(None, y_pred, alpha=case["alpha"]), "triplet_loss"))
    return values


def random_triplets(seed, m: int, dim: int = EMBEDDING) -> dict:
    """Seeded anchor, positive and negative encodings ``(m, dim)`` of length 1: positives and negatives are
    their anchor plus noise of a scale drawn per row, so that some triplets meet the margin and others do
    not."""
    rng = np.random.default_rng(seed)

    def unit(x):
        return x / np.linalg.norm(x, axis=-1, keepdims=True)

    anchor = unit(rng.normal(size=(m, dim)))
    positive = unit(anchor + rng.uniform(0.02, 0.1, (m, 1)) * rng.normal(size=(m, dim)))
    negative = unit(anchor + rng.uniform(0.05, 0.14, (m, 1)) * rng.normal(size=(m, dim)))
    return {"anchor": anchor.tolist(), "positive": positive.tolist(), "negative": negative.tolist()}


def triplet_random(fn, *, seed: int, m: int, batches: int = 2, alpha: float = 0.2) -> list[float]:
    """Probe: ``triplet_loss`` on ``batches`` seeded batches of ``m`` triplets of unit encodings
    (:func:`random_triplets` with seeds ``[seed, k]``)."""
    return triplet_cases(fn, cases=[{**random_triplets([seed, k], m), "alpha": alpha} for k in range(batches)])


def _quietly(fn, *args):
    """``fn(*args)`` and what it printed."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        result = fn(*args)
    return result, printed.getvalue()


def _pair(result, what: str, names: tuple[str, str]):
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise ProbeError(f"{what} must return a tuple ({names[0]}, {names[1]}); it returned "
                         f"{type(result).__name__}.")
    return result


def verify_cases(fn, *, cases) -> dict:
    """Probe: ``verify(image_path, identity, database, model)`` with the probe model and its database, for
    each ``[camera photograph, identity]``; the distances and whether the door opened."""
    model = probe_model()
    database = build_database(model)
    found = {"dist": [], "door_open": []}
    for image, identity in cases:
        result, _ = _quietly(fn, image_path(image), identity, database, model)
        dist, door_open = _pair(result, "verify", ("dist", "door_open"))
        found["dist"].append(_scalar(dist, "verify's dist"))
        found["door_open"].append(_boolean(door_open, "verify's door_open"))
    return found


def who_cases(fn, *, images, extra=()) -> dict:
    """Probe: ``who_is_it(image_path, database, model)`` with the probe model for each camera photograph;
    the smallest distance, the identity and whether it printed "Not in the database".

    ``extra`` adds database entries after the office staff, in order: ``[name, gallery index]``.
    """
    model = probe_model()
    database = build_database(model)
    if extra:
        images_, _ = gallery()
        encodings = encode_images(model, images_[[index for _, index in extra]])
        for (name, _), encoding in zip(extra, encodings):
            database[name] = encoding[None] / np.linalg.norm(encoding)
    found = {"min_dist": [], "identity": [], "not_in_database": []}
    for image in images:
        result, printed = _quietly(fn, image_path(image), database, model)
        min_dist, identity = _pair(result, "who_is_it", ("min_dist", "identity"))
        found["min_dist"].append(_scalar(min_dist, "who_is_it's min_dist"))
        if isinstance(identity, bytes):
            identity = identity.decode()
        found["identity"].append(str(identity) if identity is not None else None)
        found["not_in_database"].append("not in the database" in printed.lower())
    return found


# ---------------------------------------------------------------------------
# Notebook pictures
# ---------------------------------------------------------------------------
def _row(images, titles, size: float = 2.2):
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(images), figsize=(size * len(images), size * 1.15))
    for axis, image, title in zip(np.atleast_1d(axes), images, titles):
        axis.imshow(image)
        axis.set_title(title, fontsize=9)
        axis.axis("off")
    figure.tight_layout()
    return figure


def show_database(names=OFFICE):
    """The office staff's enrolment photographs, with their names."""
    import matplotlib.pyplot as plt

    _row([load_photo(image_path(f"{name}.png")) for name in names], names, size=1.3)
    plt.show()


def show_triplet(model=None):
    """An anchor, a positive (the same person) and a negative (someone else), with their distances."""
    import matplotlib.pyplot as plt

    images, _ = gallery()
    anchor, positive, negative = images[0], images[1], images[GALLERY_SHOTS * 2]
    titles = ["anchor (A)", "positive (P): same person", "negative (N): someone else"]
    if model is not None:
        a, p, n = encode_images(model, np.stack([anchor, positive, negative]))
        titles[1] += f"\n|f(A) - f(P)| = {np.linalg.norm(a - p):.2f}"
        titles[2] += f"\n|f(A) - f(N)| = {np.linalg.norm(a - n):.2f}"
    _row([anchor, positive, negative], titles, size=2.6)
    plt.show()


def gallery_distances(model) -> tuple[np.ndarray, np.ndarray]:
    """L2 distances of every pair of gallery photographs: ``(same person, different people)``."""
    images, labels = gallery()
    encodings = encode_images(model, images)
    distances = np.linalg.norm(encodings[:, None] - encodings[None], axis=-1)
    upper = np.triu(np.ones(distances.shape, dtype=bool), k=1)
    same = labels[:, None] == labels[None]
    return distances[upper & same], distances[upper & ~same]


def plot_distance_distributions(model, threshold: float = THRESHOLD):
    """Histograms of the distances between photographs of the same person and of different people."""
    import matplotlib.pyplot as plt

    same, different = gallery_distances(model)
    figure, axis = plt.subplots(figsize=(7, 3.5))
    bins = np.linspace(0, max(1.6, float(different.max()) + 0.05), 50)
    axis.hist(same, bins=bins, density=True, alpha=0.6, label=f"same person ({len(same)} pairs)")
    axis.hist(different, bins=bins, density=True, alpha=0.6, label=f"different people ({len(different)} pairs)")
    axis.axvline(threshold, color="black", linestyle="--", label=f"threshold {threshold}")
    axis.set_xlabel("distance between encodings")
    axis.set_ylabel("density")
    accepted = float(np.mean(same < threshold))
    rejected = float(np.mean(different >= threshold))
    axis.set_title(f"same person below {threshold}: {accepted:.0%}; different people at or above: {rejected:.0%}")
    axis.legend(fontsize=8)
    figure.tight_layout()
    plt.show()


def show_nearest(photo_path, database, model, k: int = 3):
    """A camera photograph and the ``k`` database entries closest to it, with their distances."""
    import matplotlib.pyplot as plt

    encoding = img_to_encoding(photo_path, model)
    distances = sorted((float(np.linalg.norm(encoding - value)), name) for name, value in database.items())[:k]
    images = [load_photo(photo_path)]
    titles = ["camera"]
    for dist, name in distances:
        images.append(load_photo(image_path(f"{name}.png")) if name in OFFICE else np.zeros_like(images[0]))
        verdict = "match" if dist < THRESHOLD else "no match"
        titles.append(f"{name}\n{dist:.2f} ({verdict})")
    _row(images, titles, size=2.2)
    plt.show()
