"""Shared drawing helpers for the synthetic face and hand generators.

Both generators follow the same recipe:

1. pick random parameters with a ``numpy.random.Generator`` (the only source
   of randomness, so a seed fully determines every pixel);
2. draw a background and the subject on a supersampled Pillow canvas, with all
   shapes expressed as polygons in a *local* coordinate frame and mapped to
   the canvas by a :class:`Pose` (rotation + scale + shift + optional mirror);
3. :func:`finish_image` downsamples with LANCZOS (antialiasing), then adds
   blur, lighting changes and pixel noise.

Colours are RGB triples of floats in [0, 255] while computing and tuples of
ints when handed to Pillow.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

# Shapes are drawn at SUPERSAMPLE x the output size and downscaled; this gives
# smooth antialiased edges even though Pillow's polygon fill is aliased.
SUPERSAMPLE = 4

# A dark-to-light ramp of human skin tones (roughly the Fitzpatrick / Monk
# scale range). A tone is drawn by interpolating between neighbouring entries.
SKIN_TONE_RAMP = np.array(
    [
        [255, 228, 206],
        [243, 204, 178],
        [232, 184, 150],
        [214, 160, 121],
        [190, 132, 94],
        [160, 105, 72],
        [128, 82, 56],
        [99, 63, 44],
        [74, 47, 34],
        [56, 37, 28],
    ],
    dtype=np.float64,
)

Color = Sequence[float]


# --------------------------------------------------------------------------
# Colours
# --------------------------------------------------------------------------
def to_rgb(color: Color) -> tuple[int, int, int]:
    """Clip a float colour to [0, 255] and return an int tuple for Pillow."""
    r, g, b = np.clip(np.round(np.asarray(color, dtype=np.float64)), 0, 255)
    return int(r), int(g), int(b)


def shade(color: Color, factor: float) -> tuple[int, int, int]:
    """Darken (factor < 1) or brighten (factor > 1) a colour."""
    return to_rgb(np.asarray(color, dtype=np.float64) * factor)


def mix(color_a: Color, color_b: Color, t: float) -> tuple[int, int, int]:
    """Linear blend: t = 0 gives ``color_a``, t = 1 gives ``color_b``."""
    a = np.asarray(color_a, dtype=np.float64)
    b = np.asarray(color_b, dtype=np.float64)
    return to_rgb(a + (b - a) * t)


def sample_skin_tone(rng: np.random.Generator) -> np.ndarray:
    """Random human skin tone, float64 array of shape (3,) in [0, 255].

    The position along :data:`SKIN_TONE_RAMP` is uniform, so very light and
    very dark skin are as likely as medium tones; a small warm/cool and
    per-channel jitter avoids every face having one of ten exact colours.
    """
    position = rng.uniform(0.0, len(SKIN_TONE_RAMP) - 1)
    low = int(np.floor(position))
    high = min(low + 1, len(SKIN_TONE_RAMP) - 1)
    t = position - low
    tone = SKIN_TONE_RAMP[low] * (1 - t) + SKIN_TONE_RAMP[high] * t
    warmth = rng.uniform(-0.05, 0.05)  # >0: redder, <0: more olive/yellow
    tone = tone * np.array([1 + warmth, 1.0, 1 - warmth]) * rng.uniform(0.97, 1.03, 3)
    return np.clip(tone, 0, 255)


def random_color(
    rng: np.random.Generator,
    avoid: Color | None = None,
    min_distance: float = 0.0,
    lightness: tuple[float, float] = (0.0, 255.0),
    max_tries: int = 12,
) -> np.ndarray:
    """Random colour, float64 (3,), with channels in ``lightness`` (lo, hi),
    optionally at least ``min_distance`` away (Euclidean, RGB) from ``avoid``.

    Saturation is randomised so we get greys and pastels as well as vivid
    colours. The retry loop consumes a data-dependent number of draws, which
    is still deterministic for a given generator state.
    """
    low, high = lightness
    color = np.zeros(3)
    for _ in range(max_tries):
        base = rng.uniform(0, 255, 3)
        grey = base.mean()
        saturation = rng.uniform(0.0, 1.0)
        color = low + (grey + (base - grey) * saturation) * (high - low) / 255.0
        if avoid is None or np.linalg.norm(color - np.asarray(avoid)) >= min_distance:
            break
    return color


# --------------------------------------------------------------------------
# Geometry: local-frame point lists and the pose that maps them to the canvas
# --------------------------------------------------------------------------
class Pose:
    """Similarity transform from a local drawing frame to canvas pixels.

    Local frame: x to the right, y *down* (image convention), units chosen by
    the caller (e.g. "half a head height"). ``apply`` maps (N, 2) local points
    to (N, 2) canvas points: mirror in x (optional), scale, rotate by
    ``angle_deg`` (counter-clockwise on screen), then move the local origin to
    ``center``.
    """

    def __init__(self, center: Sequence[float], scale: float, angle_deg: float,
                 mirror: bool = False):
        self.center = np.asarray(center, dtype=np.float64)
        self.scale = float(scale)
        theta = np.deg2rad(angle_deg)
        cos, sin = np.cos(theta), np.sin(theta)
        # Screen y points down, so a counter-clockwise screen rotation uses -sin.
        rotation = np.array([[cos, sin], [-sin, cos]])
        flip = np.diag([-1.0 if mirror else 1.0, 1.0])
        self.matrix = self.scale * rotation @ flip

    def apply(self, points: np.ndarray) -> np.ndarray:
        """Map local points (N, 2) float to canvas points (N, 2) float."""
        return np.asarray(points, dtype=np.float64) @ self.matrix.T + self.center

    def width(self, local_width: float) -> int:
        """Line width in canvas pixels (at least 1) for a local width."""
        return max(1, int(round(local_width * self.scale)))


def flat(points: np.ndarray) -> list[float]:
    """(N, 2) array -> flat [x0, y0, x1, y1, ...] list accepted by ImageDraw."""
    return np.asarray(points, dtype=np.float64).ravel().tolist()


def ellipse_points(cx: float, cy: float, rx: float, ry: float, n: int = 40,
                   angle_deg: float = 0.0) -> np.ndarray:
    """Polygon approximating an ellipse, (n, 2) float64, optionally tilted.

    Ellipses are polygons (not ``ImageDraw.ellipse``) so that they can be
    rotated by a :class:`Pose` together with the rest of the drawing.
    """
    t = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
    x, y = rx * np.cos(t), ry * np.sin(t)
    if angle_deg:
        theta = np.deg2rad(angle_deg)
        x, y = x * np.cos(theta) - y * np.sin(theta), x * np.sin(theta) + y * np.cos(theta)
    return np.stack([x + cx, y + cy], axis=1)


def capsule_points(start: Sequence[float], end: Sequence[float], start_radius: float,
                   end_radius: float, n_arc: int = 10) -> np.ndarray:
    """Polygon of a rounded limb from ``start`` to ``end``, (2*n_arc+2, 2).

    The outline is two half-circles (radii ``start_radius`` / ``end_radius``)
    joined by straight sides, i.e. a finger, a thumb or a tapered stroke.
    """
    p0 = np.asarray(start, dtype=np.float64)
    p1 = np.asarray(end, dtype=np.float64)
    axis = p1 - p0
    length = np.hypot(*axis)
    direction = axis / length if length > 1e-9 else np.array([0.0, -1.0])
    normal = np.array([-direction[1], direction[0]])
    arc = np.linspace(-np.pi / 2, np.pi / 2, n_arc + 1)
    # Half-circle around the end point (bulging forwards), then around the start.
    end_cap = p1 + end_radius * (np.outer(np.cos(arc), direction) + np.outer(np.sin(arc), normal))
    start_cap = p0 - start_radius * (np.outer(np.cos(arc), direction)
                                     + np.outer(np.sin(arc), normal))
    return np.concatenate([end_cap, start_cap], axis=0)


def parabola_points(half_width: float, y_center: float, depth: float, n: int = 15,
                    x_center: float = 0.0) -> np.ndarray:
    """Points of y = y_center + depth * (1 - (x/half_width)^2), shape (n, 2).

    With y pointing down, ``depth > 0`` makes the middle lower than the ends
    (a "U": smile, or the top of an eyebrow arch flipped), ``depth < 0`` an
    upside-down "U" (frown, eyebrow arch).
    """
    u = np.linspace(-1.0, 1.0, n)
    return np.stack([x_center + u * half_width, y_center + depth * (1 - u ** 2)], axis=1)


def superellipse_points(rx: float, ry: float, exponent: float, n: int = 64) -> np.ndarray:
    """Centred superellipse |x/rx|^e + |y/ry|^e = 1, (n, 2) float64.

    exponent 2 is an ellipse; larger values give squarer shapes (palms,
    square jaws).
    """
    t = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
    cos, sin = np.cos(t), np.sin(t)
    power = 2.0 / exponent
    x = rx * np.sign(cos) * np.abs(cos) ** power
    y = ry * np.sign(sin) * np.abs(sin) ** power
    return np.stack([x, y], axis=1)


# --------------------------------------------------------------------------
# Backgrounds
# --------------------------------------------------------------------------
BACKGROUND_STYLES = ("solid", "gradient", "stripes", "room", "clutter")


def _gradient(rng: np.random.Generator, width: int, height: int, color_a: np.ndarray,
              color_b: np.ndarray) -> np.ndarray:
    """Linear gradient in a random direction, float32 (height, width, 3)."""
    angle = rng.uniform(0, 2 * np.pi)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    proj = xs * np.cos(angle) + ys * np.sin(angle)
    t = (proj - proj.min()) / max(float(proj.max() - proj.min()), 1e-6)
    return (color_a[None, None, :] * (1 - t[..., None])
            + color_b[None, None, :] * t[..., None]).astype(np.float32)


def _stripes(rng: np.random.Generator, width: int, height: int, color_a: np.ndarray,
             color_b: np.ndarray) -> np.ndarray:
    """Straight stripes (wallpaper, blinds), float32 (height, width, 3)."""
    angle = rng.choice([0.0, np.pi / 2, rng.uniform(0, np.pi)])
    period = rng.uniform(0.06, 0.25) * width
    duty = rng.uniform(0.3, 0.7)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    proj = xs * np.cos(angle) + ys * np.sin(angle)
    in_b = ((proj / period) % 1.0) < duty
    pixels = np.where(in_b[..., None], color_b[None, None, :], color_a[None, None, :])
    return pixels.astype(np.float32)


ColorPicker = Callable[[], np.ndarray]


def _draw_room(rng: np.random.Generator, draw: ImageDraw.ImageDraw, width: int,
               height: int, pick: ColorPicker) -> None:
    """Room-like scene on an existing wall: floor band, window, door, frame."""
    if rng.random() < 0.7:  # floor / desk band at the bottom
        top = height * rng.uniform(0.6, 0.85)
        draw.rectangle([0, top, width, height], fill=to_rgb(pick()))
    if rng.random() < 0.5:  # window: light pane with a cross frame
        x0, y0 = rng.uniform(-0.1, 0.7) * width, rng.uniform(-0.1, 0.3) * height
        w, h = rng.uniform(0.25, 0.5) * width, rng.uniform(0.25, 0.45) * height
        frame = to_rgb(pick())
        pane = to_rgb(rng.uniform([150, 180, 200], [230, 240, 255]))
        line = max(1, int(width * 0.015))
        draw.rectangle([x0, y0, x0 + w, y0 + h], fill=pane, outline=frame, width=line)
        draw.line([x0 + w / 2, y0, x0 + w / 2, y0 + h], fill=frame, width=line)
        draw.line([x0, y0 + h / 2, x0 + w, y0 + h / 2], fill=frame, width=line)
    if rng.random() < 0.4:  # door or tall cupboard
        x0 = rng.uniform(-0.1, 0.8) * width
        w = rng.uniform(0.2, 0.35) * width
        draw.rectangle([x0, height * rng.uniform(0.05, 0.3), x0 + w, height],
                       fill=to_rgb(pick()), outline=to_rgb(pick()), width=max(1, int(width * 0.01)))
    if rng.random() < 0.4:  # picture frame on the wall
        x0, y0 = rng.uniform(0.0, 0.8) * width, rng.uniform(0.0, 0.5) * height
        w, h = rng.uniform(0.1, 0.25) * width, rng.uniform(0.1, 0.25) * height
        draw.rectangle([x0, y0, x0 + w, y0 + h], fill=to_rgb(pick()),
                       outline=to_rgb(pick()), width=max(1, int(width * 0.015)))


def _draw_clutter(rng: np.random.Generator, draw: ImageDraw.ImageDraw, width: int,
                  height: int, pick: ColorPicker) -> None:
    """A few random rectangles, blobs and thick lines (objects on a table)."""
    for _ in range(int(rng.integers(3, 9))):
        color = to_rgb(pick())
        kind = rng.integers(0, 3)
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        w, h = rng.uniform(0.05, 0.35) * width, rng.uniform(0.05, 0.35) * height
        if kind == 0:
            draw.rectangle([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], fill=color)
        elif kind == 1:
            blob = ellipse_points(cx, cy, w / 2, h / 2, 24, rng.uniform(0, 180))
            draw.polygon(flat(blob), fill=color)
        else:
            angle = rng.uniform(0, np.pi)
            dx, dy = np.cos(angle) * w, np.sin(angle) * w
            draw.line([cx - dx, cy - dy, cx + dx, cy + dy], fill=color,
                      width=max(1, int(rng.uniform(0.01, 0.04) * width)))


def draw_background(rng: np.random.Generator, width: int, height: int,
                    style_weights: Sequence[float] = (1, 1, 1, 1, 1),
                    avoid: Color | None = None, min_distance: float = 0.0,
                    lightness: tuple[float, float] = (0.0, 255.0),
                    blur_radius: float = 0.0) -> Image.Image:
    """Random background as an RGB Pillow image of size (width, height).

    Args:
        rng: random generator.
        width, height: size in pixels.
        style_weights: relative probabilities of :data:`BACKGROUND_STYLES`
            (solid, gradient, stripes, room, clutter).
        avoid, min_distance: keep every background colour at least
            ``min_distance`` (RGB distance) from ``avoid``, e.g. the skin, so
            that the subject is not camouflaged.
        lightness: channel range of all background colours; e.g. (170, 255)
            gives light walls and pastel objects.
        blur_radius: Gaussian defocus in pixels, like a camera's shallow
            depth of field, so the background does not compete with the
            subject.
    """
    def pick() -> np.ndarray:
        return random_color(rng, avoid, min_distance, lightness)

    weights = np.asarray(style_weights, dtype=np.float64)
    style = BACKGROUND_STYLES[int(rng.choice(len(weights), p=weights / weights.sum()))]
    color_a = pick()
    # The second colour is a variation of the first more often than not:
    # real walls tend to be gently shaded rather than rainbow-coloured.
    if rng.random() < 0.6:
        color_b = np.clip(color_a * rng.uniform(0.6, 1.3) + rng.uniform(-25, 25, 3), *lightness)
    else:
        color_b = pick()

    if style == "gradient":
        pixels = _gradient(rng, width, height, color_a, color_b)
    elif style == "stripes":
        pixels = _stripes(rng, width, height, color_a, color_b)
    elif style == "room" and rng.random() < 0.5:
        pixels = _gradient(rng, width, height, color_a, color_b)
    else:
        pixels = np.broadcast_to(color_a.astype(np.float32), (height, width, 3))
    image = Image.fromarray(np.clip(np.round(pixels), 0, 255).astype(np.uint8), "RGB")

    if style in ("room", "clutter"):
        draw = ImageDraw.Draw(image)
        if style == "room":
            _draw_room(rng, draw, width, height, pick)
        else:
            _draw_clutter(rng, draw, width, height, pick)
    if blur_radius > 0:
        image = image.filter(ImageFilter.GaussianBlur(blur_radius))
    return image


# --------------------------------------------------------------------------
# Finishing: downsample, blur, lighting, noise
# --------------------------------------------------------------------------
def finish_image(canvas: Image.Image, size: int, rng: np.random.Generator,
                 max_blur: float = 0.7, max_noise: float = 6.0,
                 light_strength: float = 0.3,
                 contrast_range: tuple[float, float] = (0.75, 1.2),
                 brightness_range: tuple[float, float] = (0.8, 1.15)) -> np.ndarray:
    """Turn a supersampled drawing into a camera-like uint8 image.

    Args:
        canvas: RGB Pillow image, normally ``SUPERSAMPLE * size`` pixels wide.
        size: output side length in pixels.
        rng: random generator for blur, lighting and noise.
        max_blur: largest Gaussian blur radius, in output pixels *at size 64*
            (scaled with ``size`` so big demo pictures look the same).
        max_noise: largest standard deviation of Gaussian pixel noise (0..255).
        light_strength: largest brightness difference across the image
            caused by a directional light.
        contrast_range, brightness_range: ranges of the global contrast and
            exposure factors.

    Returns:
        uint8 array of shape (size, size, 3).
    """
    image = canvas.resize((size, size), Image.Resampling.LANCZOS)
    blur = rng.uniform(0.0, max_blur)
    if blur > 0.15:  # tiny radii are visually a no-op; skip the filter
        image = image.filter(ImageFilter.GaussianBlur(blur * size / 64))

    pixels = np.asarray(image, dtype=np.float32)
    # Directional light: a linear brightness ramp across the image.
    angle = rng.uniform(0, 2 * np.pi)
    strength = rng.uniform(0.0, light_strength)
    coords = (np.arange(size, dtype=np.float32) + 0.5) / size - 0.5
    ramp = np.cos(angle) * coords[None, :] + np.sin(angle) * coords[:, None]
    pixels = pixels * (1.0 + strength * ramp)[..., None].astype(np.float32)
    # Global exposure, contrast and a colour cast (white balance).
    contrast = rng.uniform(*contrast_range)
    brightness = rng.uniform(*brightness_range)
    cast = rng.uniform(0.9, 1.1, 3).astype(np.float32)
    mean = pixels.mean()
    pixels = ((pixels - mean) * contrast + mean * brightness) * cast
    # Sensor noise.
    sigma = rng.uniform(0.0, max_noise)
    pixels = pixels + rng.normal(0.0, sigma, pixels.shape).astype(np.float32)
    return np.clip(np.round(pixels), 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------
# Dataset assembly
# --------------------------------------------------------------------------
def balanced_labels(rng: np.random.Generator, n: int, n_classes: int) -> np.ndarray:
    """Shuffled labels with equal counts per class, int64 (n,).

    If ``n`` is not a multiple of ``n_classes`` the counts differ by at most 1.
    """
    labels = np.arange(n, dtype=np.int64) % n_classes
    return rng.permutation(labels)


def render_split(rng: np.random.Generator, n: int, n_classes: int, size: int,
                 render: Callable[[np.random.Generator, int], np.ndarray]
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n`` balanced, shuffled examples with ``render(rng, label)``.

    Returns:
        images: uint8 (n, size, size, 3); labels: int64 (n,).
    """
    labels = balanced_labels(rng, n, n_classes)
    images = np.empty((n, size, size, 3), dtype=np.uint8)
    for i, label in enumerate(labels):
        images[i] = render(rng, int(label))
    return images, labels


def classic_dataset(seed: int, n_train: int, n_test: int, n_classes: int,
                    render: Callable[[np.random.Generator, int], np.ndarray], size: int = 64) -> dict:
    """Train and test splits in the classic h5 layout, from independent streams of one seed.

    Returns ``train_set_x``/``test_set_x`` uint8 (n, size, size, 3), ``train_set_y``/``test_set_y``
    int64 (n,), and ``list_classes`` int64 ``[0, ..., n_classes - 1]``.
    """
    train_x, train_y = render_split(np.random.default_rng([seed, 0]), n_train, n_classes, size, render)
    test_x, test_y = render_split(np.random.default_rng([seed, 1]), n_test, n_classes, size, render)
    return {
        "train_set_x": train_x,
        "train_set_y": train_y,
        "test_set_x": test_x,
        "test_set_y": test_y,
        "list_classes": np.arange(n_classes, dtype=np.int64),
    }
