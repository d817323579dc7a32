"""The course's face-embedding network ("FaceNet" in the notebook) and its loader.

:func:`facenet_body` maps a ``(m, 96, 96, 3)`` batch of photographs scaled to [0, 1] to
``(m, 128)`` encodings of length 1. A small convolutional body (about 0.5 M parameters) ends in
global average pooling and a 127-unit dense layer, normalised to length 1; the last layer,
:class:`Calibration`, shrinks those unit vectors by a factor ``s <= 1`` and appends a constant
128th component ``sqrt(1 - s^2)``, so every encoding still has length 1 and every distance
between two encodings is ``s`` times the distance the body learned. The trainer sets ``s``
once, after training, so that the classic threshold ``dist < 0.7`` separates the same person
from different people as well as any threshold can (``course/weights/face_recognition.py``,
``docs/model_cards/04_face_recognition.md``).

Weights are trained by ``course weights 04`` on people of ``course/synth/identities.py`` that
the notebook never shows; loading goes through the manifest's sha256 like every data file.
"""

from __future__ import annotations

import numpy as np

from utils import data

DATA = "face_recognition"
WEIGHTS_FILE = f"{DATA}/facenet.weights.h5"
IMAGE_SIZE = (96, 96)
EMBEDDING = 128
# The body: a stride-2 stem (96 -> 48), then stages of two 3x3 convolutions each followed by
# 2x2 max-pooling (48 -> 24 -> 12 -> 6), then one wider convolution at 6 x 6.
STEM_WIDTH = 32
WIDTHS = (32, 64, 128)
TOP_WIDTH = 256


def _calibration_layer():
    from tensorflow import keras

    class Calibration(keras.layers.Layer):
        """``[s * x, sqrt(1 - s^2)]`` for unit vectors ``x``: a unit vector one component longer, with
        every pairwise distance multiplied by ``s`` (a non-trainable weight saved with the network)."""

        def build(self, input_shape):
            self.scale = self.add_weight(name="scale", shape=(), initializer="ones", trainable=False)

        def call(self, x):
            import tensorflow as tf

            s = tf.cast(self.scale, x.dtype)
            constant = tf.ones_like(x[:, :1]) * tf.sqrt(tf.maximum(1.0 - s * s, 0.0))
            return tf.concat([s * x, constant], axis=-1)

        def compute_output_shape(self, input_shape):
            return (input_shape[0], input_shape[1] + 1)

    return Calibration


def _conv(x, filters: int, name: str, strides: int = 1):
    from tensorflow import keras

    x = keras.layers.Conv2D(filters, 3, strides=strides, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = keras.layers.BatchNormalization(name=f"{name}_bn")(x)
    return keras.layers.ReLU(name=f"{name}_relu")(x)


def facenet_body(image_size=IMAGE_SIZE):
    """The uncompiled embedding network: ``(m, 96, 96, 3)`` in [0, 1] -> ``(m, 128)`` unit vectors."""
    from tensorflow import keras

    inputs = keras.Input(shape=(*image_size, 3), name="image")
    x = _conv(inputs, STEM_WIDTH, "stem", strides=2)
    for i, width in enumerate(WIDTHS):
        x = _conv(x, width, f"block{i + 1}a")
        x = _conv(x, width, f"block{i + 1}b")
        x = keras.layers.MaxPooling2D(2, name=f"block{i + 1}_pool")(x)
    x = _conv(x, TOP_WIDTH, "top")
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    x = keras.layers.Dense(EMBEDDING - 1, name="embedding")(x)
    x = keras.layers.UnitNormalization(name="unit")(x)
    outputs = _calibration_layer()(name="calibration")(x)
    return keras.Model(inputs, outputs, name="facenet")


def load_facenet():
    """The trained embedding network (weights hash-checked against the manifest)."""
    return data.load_network_weights(facenet_body(), WEIGHTS_FILE, "the face-embedding weights",
                                     "course weights 04")


def prepare(images) -> np.ndarray:
    """uint8 photographs ``(m, 96, 96, 3)`` (or one ``(96, 96, 3)``) as float32 in [0, 1], batched."""
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[None]
    return images.astype(np.float32) / 255.0
