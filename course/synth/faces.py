"""Synthetic "Happy House" faces: smiling (label 1) vs. not smiling (label 0).

Every image is one cartoon-like but varied person: skin tone, face shape,
hair (including bald), eyes, eyebrows, nose, optional glasses and beard,
clothes, background, pose, lighting and noise are random. Only the mouth
carries the label:

* smiling: an upward-curved closed smile, or an open grin showing teeth;
* not smiling: mostly the same two mouths turned upside down (a frown, or a
  grimace showing teeth under an arched upper lip), sometimes a straight
  neutral line or a small open "o".

Drawing uses a local frame centred on the head: x right, y down, and one unit
is half the head height (so the chin is at y = +1 and the crown at y = -1).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from PIL import ImageDraw

from .draw import (
    SUPERSAMPLE,
    Pose,
    classic_dataset,
    draw_background,
    ellipse_points,
    finish_image,
    flat,
    mix,
    parabola_points,
    random_color,
    sample_skin_tone,
    shade,
    superellipse_points,
    to_rgb,
)

# (name, RGB, relative probability) of natural and dyed hair colours.
HAIR_COLORS = (
    ("black", (25, 20, 18), 4.0),
    ("dark_brown", (60, 40, 28), 4.0),
    ("brown", (105, 70, 42), 3.0),
    ("auburn", (130, 55, 30), 1.0),
    ("blonde", (215, 180, 115), 2.0),
    ("ginger", (190, 95, 40), 1.0),
    ("grey", (150, 150, 150), 1.5),
    ("white", (225, 222, 215), 1.0),
    ("dyed_blue", (50, 80, 180), 0.3),
    ("dyed_pink", (220, 100, 160), 0.3),
    ("dyed_green", (60, 150, 90), 0.2),
)
HAIR_STYLES = ("bald", "buzz", "short", "long", "curly", "bun")
HAIR_STYLE_WEIGHTS = (0.12, 0.12, 0.3, 0.22, 0.14, 0.1)
IRIS_COLORS = ((60, 35, 20), (95, 60, 30), (40, 90, 150), (70, 110, 70), (30, 25, 20),
               (110, 100, 80))
GLASSES_COLORS = ((20, 20, 20), (90, 55, 30), (190, 160, 80), (150, 30, 30), (60, 60, 90))

# Mouth kinds per label and how often each is drawn. Most non-smiling mouths
# are smiling ones turned upside down (see TURNED_DOWN); grimaces are drawn
# as often as grins, so both classes show about as much teeth, lip and mouth
# interior. What tells them apart is mainly the direction of the curvature
# (corners up or down): a local shape that a convolution finds wherever the
# mouth is, but a fixed pixel template (a linear model) does not.
SMILE_KINDS = ("closed_smile", "grin")
SMILE_WEIGHTS = (0.35, 0.65)
NON_SMILE_KINDS = ("neutral", "frown", "o", "grimace")
NON_SMILE_WEIGHTS = (0.15, 0.15, 0.05, 0.65)
# Non-smiling kinds drawn as their smiling twin mirrored top to bottom about
# the middle row of the mouth (so both cover the same rows): a frown is a
# closed smile with the corners pulled down, a grimace a grin.
TURNED_DOWN = {"frown": "closed_smile", "grimace": "grin"}
# Probability of cheek folds beside the mouth, (not smiling, smiling). Equal,
# so the folds are no hint of the label.
SMILE_LINE_PROBS = (0.5, 0.5)
# Line-width factor of closed smiles and frowns (pressed lips read bolder).
CURVED_LIPS_BOLDNESS = 2.0
# Vertical mouth position range (half head heights below the head centre).
MOUTH_Y = (0.5, 0.6)
# Height of the upper-teeth band as a fraction of the grin's depth.
TEETH_FRACTION = 0.5
# Beard colour for bald people and people with dyed hair.
DEFAULT_BEARD_COLOR = (60, 45, 35)

# Background style weights: solid, gradient, stripes, room, clutter.
FACE_BACKGROUND_WEIGHTS = (1.0, 1.5, 0.8, 1.5, 0.5)
# Background defocus radius range, in output pixels at 64 x 64.
BACKGROUND_BLUR = (0.5, 2.0)
# Pose: mean head centre and its largest shift per axis (x, y; fractions of
# the image), head half height (fraction of the image) and largest in-plane
# rotation (degrees). The jitter moves the mouth by a few pixels, about as
# much as its curvature, so a fixed pixel template cannot read the curvature;
# it stays small enough for the graded model, whose dense layer is tied to
# pixel positions, to learn from the training set (DEFAULT_N_TRAIN).
POSE_CENTER = (0.5, 0.47)
POSE_SHIFT = (0.05, 0.04)
POSE_SCALE = (0.4, 0.44)
POSE_ROTATION = 8.0
# Training-set size: with the jittered pose the graded one-conv-layer model
# needs about this many faces to learn the curvature in its 10 epochs.
DEFAULT_N_TRAIN = 900


@dataclass
class Face:
    """All random choices for one face (units: half head heights)."""

    skin: np.ndarray
    half_width: float          # head half width (half height is 1)
    squareness: float          # superellipse exponent: 2 = oval, 3 = square jaw
    jaw_taper: float           # narrows the lower half (heart / V-shaped faces)
    hair_style: str
    hair_color: tuple
    beard_color: tuple
    hairline: float            # y of the fringe
    hair_volume: float         # how far hair sticks out of the skull
    eye_y: float
    eye_dx: float
    eye_w: float
    eye_h: float
    eye_tilt: float
    iris_color: tuple
    gaze: float
    brow_gap: float
    brow_arch: float
    brow_thickness: float
    brow_tilt: float
    nose_y: float
    nose_w: float
    nose_style: int
    mouth_kind: str
    mouth_y: float
    mouth_w: float
    mouth_depth: float         # curvature (>0 smile, <0 frown) or grin lower depth
                               # (<0 for a grimace)
    mouth_open: float          # grin/grimace: flatter lip's curvature; "o": vertical radius
    mouth_line: float          # line thickness
    smile_lines: bool          # cheek folds beside the mouth (either label)
    beard: str                 # "none", "full", "moustache", "goatee"
    glasses: bool
    glasses_color: tuple
    glasses_round: bool
    blush: bool
    shirt: np.ndarray


def sample_face(rng: np.random.Generator, smiling: bool) -> Face:
    """Draw every random parameter of a face (fixed draw order)."""
    skin = sample_skin_tone(rng)
    hair_weights = np.array([weight for _, _, weight in HAIR_COLORS])
    hair_name, hair_color, _ = HAIR_COLORS[int(rng.choice(len(HAIR_COLORS),
                                                         p=hair_weights / hair_weights.sum()))]
    hair_style = HAIR_STYLES[int(rng.choice(len(HAIR_STYLES), p=HAIR_STYLE_WEIGHTS))]
    natural_beard = hair_style != "bald" and not hair_name.startswith("dyed")

    eye_w = rng.uniform(0.11, 0.16)
    mouth_y = rng.uniform(*MOUTH_Y)
    if smiling:
        mouth_kind = SMILE_KINDS[int(rng.choice(len(SMILE_KINDS), p=SMILE_WEIGHTS))]
    else:
        mouth_kind = NON_SMILE_KINDS[int(rng.choice(len(NON_SMILE_KINDS), p=NON_SMILE_WEIGHTS))]
    shape = TURNED_DOWN.get(mouth_kind, mouth_kind)
    if shape == "closed_smile":
        mouth_w, depth, opening = rng.uniform(0.3, 0.4), rng.uniform(0.2, 0.28), 0.0
    elif shape == "grin":
        mouth_w, depth = rng.uniform(0.28, 0.38), rng.uniform(0.24, 0.34)
        opening = rng.uniform(0.0, 0.05)
    elif shape == "neutral":
        mouth_w, depth, opening = rng.uniform(0.16, 0.27), rng.uniform(-0.02, 0.02), 0.0
    else:  # "o": small round open mouth
        mouth_w, depth, opening = rng.uniform(0.07, 0.11), 0.0, rng.uniform(0.09, 0.13)

    beard_roll = rng.random()
    beard = ("full" if beard_roll < 0.06 else "moustache" if beard_roll < 0.11
             else "goatee" if beard_roll < 0.15 else "none")
    return Face(
        skin=skin,
        half_width=rng.uniform(0.7, 0.86),
        squareness=rng.uniform(1.9, 2.8),
        jaw_taper=rng.uniform(0.0, 0.3),
        hair_style=hair_style,
        hair_color=hair_color,
        beard_color=hair_color if natural_beard else DEFAULT_BEARD_COLOR,
        hairline=rng.uniform(-0.62, -0.4),
        hair_volume=rng.uniform(0.06, 0.2),
        eye_y=rng.uniform(-0.1, 0.04),
        eye_dx=rng.uniform(0.28, 0.37),
        eye_w=eye_w,
        eye_h=eye_w * rng.uniform(0.45, 0.8),
        eye_tilt=rng.uniform(-8, 8),
        iris_color=IRIS_COLORS[int(rng.integers(0, len(IRIS_COLORS)))],
        gaze=rng.uniform(-0.3, 0.3),
        brow_gap=rng.uniform(0.13, 0.22),
        brow_arch=rng.uniform(0.0, 0.07),
        brow_thickness=rng.uniform(0.03, 0.07),
        brow_tilt=rng.uniform(-0.05, 0.05),
        nose_y=rng.uniform(0.25, 0.36),
        nose_w=rng.uniform(0.06, 0.12),
        nose_style=int(rng.integers(0, 3)),
        mouth_kind=mouth_kind,
        mouth_y=mouth_y,
        mouth_w=mouth_w,
        mouth_depth=-depth if mouth_kind in TURNED_DOWN else depth,
        mouth_open=opening,
        mouth_line=rng.uniform(0.05, 0.075),
        smile_lines=bool(rng.random() < SMILE_LINE_PROBS[int(smiling)]),
        beard=beard,
        glasses=bool(rng.random() < 0.25),
        glasses_color=GLASSES_COLORS[int(rng.integers(0, len(GLASSES_COLORS)))],
        glasses_round=bool(rng.random() < 0.5),
        blush=bool(rng.random() < 0.3),
        shirt=random_color(rng),
    )


def _head_outline(face: Face, n: int = 72) -> np.ndarray:
    """Face contour in local units, (n, 2): superellipse with a tapered jaw."""
    points = superellipse_points(face.half_width, 1.0, face.squareness, n)
    lower = np.clip(points[:, 1], 0.0, None)
    points[:, 0] *= 1.0 - face.jaw_taper * lower ** 2
    return points


def _draw_body(draw: ImageDraw.ImageDraw, pose: Pose, face: Face) -> None:
    """Shirt/shoulders and neck below the head."""
    neck_w = 0.42 * face.half_width
    neck = np.array([[-neck_w, 0.4], [neck_w, 0.4], [neck_w * 1.1, 1.7], [-neck_w * 1.1, 1.7]])
    draw.polygon(flat(pose.apply(neck)), fill=shade(face.skin, 0.82))
    shoulders = ellipse_points(0.0, 2.45, 1.9, 1.0, 48)
    draw.polygon(flat(pose.apply(shoulders)), fill=to_rgb(face.shirt))
    # Collar opening: a skin-coloured V so the neck flows into the shirt.
    collar = np.array([[-neck_w * 1.1, 1.42], [neck_w * 1.1, 1.42], [0.0, 1.75]])
    draw.polygon(flat(pose.apply(collar)), fill=shade(face.skin, 0.82))


def _hair_cap(face: Face, side_drop: float) -> np.ndarray:
    """Hair covering the top of the skull down to the fringe, (N, 2).

    Outer edge: the head contour enlarged by ``hair_volume``; inner edge: a
    fringe curve across the forehead at ``hairline``. ``side_drop`` controls
    how far down the sides (sideburns) the hair reaches.
    """
    grow = 1.0 + face.hair_volume
    t = np.linspace(np.pi - side_drop, 2 * np.pi + side_drop, 40)
    cos, sin = np.cos(t), np.sin(t)
    power = 2.0 / face.squareness
    outer = np.stack([face.half_width * grow * np.sign(cos) * np.abs(cos) ** power,
                      grow * np.sign(sin) * np.abs(sin) ** power - face.hair_volume * 0.5], axis=1)
    u = np.linspace(1.0, -1.0, 21)
    fringe_x = u * face.half_width * 0.92
    # Fringe dips towards the temples; a small zig-zag suggests strands.
    fringe_y = face.hairline + 0.18 * u ** 2 + 0.025 * (np.arange(21) % 2)
    return np.concatenate([outer, np.stack([fringe_x, fringe_y], axis=1)], axis=0)


def _draw_hair_back(draw: ImageDraw.ImageDraw, pose: Pose, face: Face) -> None:
    """Hair parts that lie behind the head (long hair, curls, bun)."""
    color = face.hair_color
    if face.hair_style == "long":
        w = face.half_width + face.hair_volume + 0.08
        back = np.concatenate([ellipse_points(0.0, -0.05, w, 1.0 + face.hair_volume, 40)[20:],
                               np.array([[w * 1.05, 1.2], [-w * 1.05, 1.2]])], axis=0)
        draw.polygon(flat(pose.apply(back)), fill=color)
    elif face.hair_style == "curly":
        # A cloud of overlapping circles around the upper head.
        for angle in np.linspace(np.pi * 0.9, np.pi * 2.1, 9):
            cx = np.cos(angle) * (face.half_width + 0.05)
            cy = np.sin(angle) * 0.95 - 0.1
            draw.polygon(flat(pose.apply(ellipse_points(cx, cy, 0.27, 0.27, 20))), fill=color)
    elif face.hair_style == "bun":
        draw.polygon(flat(pose.apply(ellipse_points(0.0, -1.1, 0.3, 0.26, 24))), fill=color)


def _draw_head(draw: ImageDraw.ImageDraw, pose: Pose, face: Face) -> None:
    """Ears, face contour and hair on top."""
    ear_color = shade(face.skin, 0.9)
    for side in (-1, 1):
        ear = ellipse_points(side * face.half_width * 0.97, 0.02, 0.13, 0.2, 24)
        draw.polygon(flat(pose.apply(ear)), fill=ear_color)
    draw.polygon(flat(pose.apply(_head_outline(face))), fill=to_rgb(face.skin))

    style = face.hair_style
    if style == "bald":
        return
    if style == "buzz":
        # Very short hair: a thin cap tinted towards the skin colour.
        color = mix(face.hair_color, face.skin, 0.45)
        thin = replace(face, hair_volume=0.03)
        draw.polygon(flat(pose.apply(_hair_cap(thin, 0.2))), fill=color)
        return
    side_drop = {"short": 0.25, "long": 0.6, "curly": 0.35, "bun": 0.3}[style]
    draw.polygon(flat(pose.apply(_hair_cap(face, side_drop))), fill=face.hair_color)


def _eye_lids(face: Face, n: int = 13) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x positions and upper/lower lid y offsets of an almond eye, each (n,)."""
    x = np.linspace(-face.eye_w, face.eye_w, n)
    bulge = np.clip(1 - (x / face.eye_w) ** 2, 0, None) ** 0.8
    return x, -face.eye_h * bulge, face.eye_h * 0.75 * bulge


def _clip_to_eye(points: np.ndarray, face: Face) -> np.ndarray:
    """Clamp a circle polygon (N, 2) into the eye opening (eye-centred frame).

    For each x the almond opening is an interval in y, so clamping y keeps
    the iris inside the lids without needing a mask.
    """
    x = np.clip(points[:, 0], -face.eye_w, face.eye_w)
    bulge = np.clip(1 - (x / face.eye_w) ** 2, 0, None) ** 0.8
    y = np.clip(points[:, 1], -face.eye_h * bulge, face.eye_h * 0.75 * bulge)
    return np.stack([x, y], axis=1)


def _place(points: np.ndarray, cx: float, cy: float, angle_deg: float,
           mirror: bool = False) -> np.ndarray:
    """Rotate feature-local points (N, 2) by angle, mirror in x, move to (cx, cy)."""
    theta = np.deg2rad(angle_deg)
    x = points[:, 0] * np.cos(theta) - points[:, 1] * np.sin(theta)
    y = points[:, 0] * np.sin(theta) + points[:, 1] * np.cos(theta)
    if mirror:
        x = -x
    return np.stack([x + cx, y + cy], axis=1)


def _draw_eyes_and_brows(draw: ImageDraw.ImageDraw, pose: Pose, face: Face) -> None:
    """Two almond eyes (white, iris, pupil, lid line) and eyebrows."""
    lash = mix(face.skin, (20, 12, 10), 0.7)
    brow_color = (mix(face.hair_color, (30, 22, 18), 0.35)
                  if face.hair_style != "bald" else mix(face.skin, (30, 22, 18), 0.7))
    x, upper, lower = _eye_lids(face)
    opening = np.concatenate([np.stack([x, upper], 1), np.stack([x[::-1], lower[::-1]], 1)])
    iris_r = min(face.eye_h * 0.95, face.eye_w * 0.55)
    iris = _clip_to_eye(ellipse_points(face.gaze * face.eye_w, 0.0, iris_r, iris_r, 20), face)
    pupil = _clip_to_eye(ellipse_points(face.gaze * face.eye_w, 0.0, iris_r * 0.45,
                                        iris_r * 0.45, 12), face)
    lid_line = np.stack([x, upper], 1)
    for side in (-1, 1):
        cx, mirror = side * face.eye_dx, side < 0
        # Tilt is mirrored so both outer corners go up (or down) together.
        opening_px, iris_px, pupil_px, lid_px = (
            flat(pose.apply(_place(pts, cx, face.eye_y, face.eye_tilt, mirror)))
            for pts in (opening, iris, pupil, lid_line))
        draw.polygon(opening_px, fill=(244, 242, 238))
        draw.polygon(iris_px, fill=face.iris_color)
        draw.polygon(pupil_px, fill=(12, 10, 10))
        draw.line(lid_px, fill=lash, width=pose.width(0.028), joint="curve")
        # Eyebrow: an arched stroke above the eye, slightly tilted.
        brow = parabola_points(face.eye_w * 1.25, 0.0, -face.brow_arch, 9)
        brow[:, 1] += face.brow_tilt * brow[:, 0] / face.eye_w
        brow_pts = _place(brow, cx, face.eye_y - face.eye_h - face.brow_gap, 0.0, mirror)
        draw.line(flat(pose.apply(brow_pts)), fill=brow_color,
                  width=pose.width(face.brow_thickness), joint="curve")


def _draw_nose(draw: ImageDraw.ImageDraw, pose: Pose, face: Face) -> None:
    """A simple nose: hooked line, nostrils, or a shaded wedge."""
    color = shade(face.skin, 0.72)
    top, y, w = face.eye_y + 0.12, face.nose_y, face.nose_w
    if face.nose_style == 0:
        line = np.array([[0.02, top], [0.05, y - 0.02], [0.0, y + 0.02], [-w * 0.6, y]])
        draw.line(flat(pose.apply(line)), fill=color, width=pose.width(0.03), joint="curve")
    elif face.nose_style == 1:
        for side in (-1, 1):
            nostril = ellipse_points(side * w * 0.5, y, w * 0.28, w * 0.18, 12)
            draw.polygon(flat(pose.apply(nostril)), fill=color)
    else:
        wedge = np.array([[0.0, top + 0.05], [w * 0.7, y + 0.02], [-w * 0.7, y + 0.02]])
        draw.polygon(flat(pose.apply(wedge)), fill=shade(face.skin, 0.9))
        tip = parabola_points(w * 0.7, y, 0.04, 7)
        draw.line(flat(pose.apply(tip)), fill=color, width=pose.width(0.025), joint="curve")


def _mouth_shapes(face: Face) -> dict[str, list[np.ndarray]]:
    """The mouth's parts in local units, each a list of (N, 2) point arrays.

    Keys: "lips" (polygons in lip colour), "curve" (the line between closed
    lips), "corners" (short strokes at the mouth corners), "opening"
    (polygons in the mouth-interior colour) and "teeth" (polygons). All are
    centred on x = 0 and start at y = mouth_y; a turned-down kind is its
    smiling twin mirrored about the twin's middle row.
    """
    y, w, line = face.mouth_y, face.mouth_w, face.mouth_line
    turned_down = face.mouth_kind in TURNED_DOWN
    kind = TURNED_DOWN.get(face.mouth_kind, face.mouth_kind)
    depth = abs(face.mouth_depth) if turned_down else face.mouth_depth
    parts: dict[str, list[np.ndarray]] = {"lips": [], "curve": [], "corners": [],
                                          "opening": [], "teeth": []}

    def flip(points: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Mirror points top to bottom about the middle of ``rows``' y range."""
        middle = (rows[:, 1].min() + rows[:, 1].max()) / 2
        return np.stack([points[:, 0], 2 * middle - points[:, 1]], axis=1)

    if kind == "closed_smile":
        # Lips stretched into a crescent: the lower lip bulges more.
        upper = parabola_points(w, y - 0.035, depth * 0.85, 15)
        lower = parabola_points(w, y + 0.015, depth * 1.4 + 0.08, 15)
        lips = np.concatenate([upper, lower[::-1]])
        parts["lips"].append(lips)
        parts["curve"].append(parabola_points(w, y, depth, 15))
        # Little corner strokes (up: "dimples", down: a pout) emphasise the curve.
        for side in (-1, 1):
            parts["corners"].append(np.array([[side * w * 0.95, y + 0.005],
                                              [side * (w + 0.04), y - 0.04]]))
        if turned_down:
            parts = {key: [flip(points, lips) for points in value]
                     for key, value in parts.items()}
    elif kind == "neutral":
        upper = parabola_points(w, y - 0.035, depth, 15)
        lower = parabola_points(w, y + 0.045, depth, 15)
        parts["lips"].append(np.concatenate([upper, lower[::-1]]))
        parts["curve"].append(parabola_points(w, y, depth, 15))
    elif kind == "grin":
        upper = parabola_points(w, y, face.mouth_open, 15)
        lower = parabola_points(w, y, depth, 15)
        if turned_down:
            edges = np.concatenate([upper, lower])
            upper, lower = flip(lower, edges), flip(upper, edges)
        parts["opening"].append(np.concatenate([upper, lower[::-1]]))
        # Upper teeth: a band under the upper lip, kept inside the opening.
        teeth_lower = upper.copy()
        teeth_lower[:, 1] = np.minimum(upper[:, 1] + depth * TEETH_FRACTION, lower[:, 1])
        parts["teeth"].append(np.concatenate([upper, teeth_lower[::-1]]))
    else:  # "o"
        parts["lips"].append(ellipse_points(0.0, y + 0.03, w + line * 0.8,
                                            face.mouth_open + line * 0.8, 24))
        parts["opening"].append(ellipse_points(0.0, y + 0.03, w, face.mouth_open, 24))
    return parts


def _mouth_top(face: Face) -> float:
    """Highest (smallest y) point of the mouth, used to keep moustaches off it."""
    points = np.concatenate([p for part in _mouth_shapes(face).values() for p in part])
    return float(points[:, 1].min()) - face.mouth_line / 2


def _draw_beard(draw: ImageDraw.ImageDraw, pose: Pose, face: Face) -> None:
    """Facial hair that never covers the mouth (the label must stay visible)."""
    if face.beard == "none":
        return
    color = face.beard_color
    mouth_clear = _mouth_top(face) - 0.05
    if face.beard == "full":
        # Jaw below the nose; the straight top edge hides under the lip patch.
        outline = _head_outline(face, 96) * 1.03
        beard_top = max(0.3, face.nose_y + 0.06)
        draw.polygon(flat(pose.apply(outline[outline[:, 1] > beard_top])), fill=color)
        # Bare skin around the lips so the mouth reads against the beard.
        # Centre the patch on the mouth's vertical middle.
        middle = face.mouth_y + abs(face.mouth_depth) / 2 + 0.02
        lips = ellipse_points(0.0, middle, face.mouth_w + 0.1,
                              0.15 + abs(face.mouth_depth) * 0.6 + face.mouth_open, 28)
        draw.polygon(flat(pose.apply(lips)), fill=to_rgb(face.skin))
    elif face.beard == "goatee":
        chin = ellipse_points(0.0, 0.9, 0.2, 0.13, 24)
        draw.polygon(flat(pose.apply(chin)), fill=color)
    if face.beard in ("full", "moustache"):
        w = face.mouth_w + 0.05
        moustache = np.array([[-w, mouth_clear], [-w * 0.6, mouth_clear - 0.09],
                              [w * 0.6, mouth_clear - 0.09], [w, mouth_clear]])
        draw.polygon(flat(pose.apply(moustache)), fill=color)


def _draw_mouth(draw: ImageDraw.ImageDraw, pose: Pose, face: Face) -> None:
    """The label-carrying mouth (all shapes centred on x = 0, y = mouth_y)."""
    # The mouth line and the mouth interior are skin-independent dark reds,
    # so the smile looks the same to a small CNN whatever the skin tone.
    line_color = (35, 8, 14)
    # Lips are redder than the skin and lighter than the line; on dark skin
    # this rim is what keeps the mouth readable at 64 x 64.
    lip_color = mix(face.skin, (205, 95, 105), 0.6)
    inside = (70, 18, 26)
    y, w, line = face.mouth_y, face.mouth_w, face.mouth_line

    if face.smile_lines:
        # Cheek folds ("smile lines", also on unsmiling faces) around the mouth.
        fold_color = shade(face.skin, 0.78)
        for side in (-1, 1):
            fold = np.array([[side * (w - 0.02), y - 0.17], [side * (w + 0.07), y - 0.05],
                             [side * (w + 0.06), y + 0.06]])
            draw.line(flat(pose.apply(fold)), fill=fold_color, width=pose.width(0.03),
                      joint="curve")

    parts = _mouth_shapes(face)
    for lips in parts["lips"]:
        draw.polygon(flat(pose.apply(lips)), fill=lip_color)
    # Closed smiles and frowns press the lips together into a bolder line.
    bold = CURVED_LIPS_BOLDNESS if face.mouth_kind in ("closed_smile", "frown") else 1.0
    for curve in parts["curve"]:
        draw.line(flat(pose.apply(curve)), fill=line_color, width=pose.width(line * bold),
                  joint="curve")
    for corner in parts["corners"]:
        draw.line(flat(pose.apply(corner)), fill=line_color, width=pose.width(line * bold * 0.7))
    # Open mouths: the interior; with teeth, a lip-coloured rim, the teeth on
    # top and then a thin dark outline.
    thin = pose.width(line * 0.6)
    for opening in parts["opening"]:
        opening_px = flat(pose.apply(opening))
        if not parts["teeth"]:
            draw.polygon(opening_px, fill=inside, outline=line_color, width=thin)
            continue
        draw.polygon(opening_px, fill=inside, outline=lip_color, width=pose.width(line * 1.6))
        for teeth in parts["teeth"]:
            draw.polygon(flat(pose.apply(teeth)), fill=(240, 236, 226))
        draw.polygon(opening_px, outline=line_color, width=thin)


def _draw_glasses(draw: ImageDraw.ImageDraw, pose: Pose, face: Face) -> None:
    """Frames around both eyes, a bridge and temple arms."""
    width = pose.width(0.035)
    rx, ry = face.eye_w * 1.55, max(face.eye_h * 1.9, face.eye_w * 1.1)
    for side in (-1, 1):
        cx = side * face.eye_dx
        if face.glasses_round:
            frame = ellipse_points(cx, face.eye_y, rx, ry, 32)
        else:
            frame = superellipse_points(rx, ry, 4.0, 32) + np.array([cx, face.eye_y])
        draw.polygon(flat(pose.apply(frame)), outline=face.glasses_color, width=width)
        arm = np.array([[side * (face.eye_dx + rx), face.eye_y - ry * 0.4],
                        [side * face.half_width * 0.98, face.eye_y - ry * 0.5]])
        draw.line(flat(pose.apply(arm)), fill=face.glasses_color, width=width)
    bridge = parabola_points(face.eye_dx - rx, face.eye_y - ry * 0.2, -0.04, 7)
    draw.line(flat(pose.apply(bridge)), fill=face.glasses_color, width=width, joint="curve")


def render_face(rng: np.random.Generator, size: int = 64, smiling: bool = True) -> np.ndarray:
    """Draw one random person's head and shoulders.

    Args:
        rng: NumPy random generator; the only source of randomness.
        size: output side length in pixels (64 for the dataset; any size
            works, e.g. 256 for a demo picture).
        smiling: True draws a smile (closed or open with teeth), False a
            frown, a grimace, a neutral line or a small "o" mouth.

    Returns:
        uint8 array of shape (size, size, 3), RGB.
    """
    face = sample_face(rng, smiling)
    canvas_px = size * SUPERSAMPLE
    # Portrait-style shallow depth of field: the background is out of focus.
    canvas = draw_background(rng, canvas_px, canvas_px, FACE_BACKGROUND_WEIGHTS,
                             blur_radius=rng.uniform(*BACKGROUND_BLUR) * SUPERSAMPLE * size / 64)
    draw = ImageDraw.Draw(canvas)
    # Pose: the head (half height = `scale`) roughly centred, a bit tilted.
    shift = rng.uniform(-1.0, 1.0, 2) * np.asarray(POSE_SHIFT)
    pose = Pose(center=canvas_px * (np.asarray(POSE_CENTER) + shift),
                scale=canvas_px * rng.uniform(*POSE_SCALE),
                angle_deg=rng.uniform(-POSE_ROTATION, POSE_ROTATION))

    paint_face(draw, pose, face)
    return finish_image(canvas, size, rng, max_noise=4.0)


def paint_face(draw: ImageDraw.ImageDraw, pose: Pose, face: Face) -> None:
    """Draw a person's shoulders, head and features at ``pose`` (no background, no finishing)."""
    _draw_body(draw, pose, face)
    _draw_hair_back(draw, pose, face)
    _draw_head(draw, pose, face)
    if face.blush:
        for side in (-1, 1):
            cheek = ellipse_points(side * face.eye_dx * 1.1, face.nose_y + 0.05, 0.12, 0.08, 20)
            draw.polygon(flat(pose.apply(cheek)), fill=mix(face.skin, (220, 90, 90), 0.18))
    _draw_eyes_and_brows(draw, pose, face)
    _draw_nose(draw, pose, face)
    _draw_beard(draw, pose, face)
    _draw_mouth(draw, pose, face)
    if face.glasses:
        _draw_glasses(draw, pose, face)


def generate_happy(n_train: int = DEFAULT_N_TRAIN, n_test: int = 150, seed: int = 0) -> dict:
    """Synthetic stand-in for the course's "Happy House" dataset.

    Train and test come from the same distribution but independent random
    streams (``[seed, 0]`` and ``[seed, 1]``), so ``n_test`` does not affect
    the training images.

    Returns:
        dict with
        ``train_set_x``: uint8 (n_train, 64, 64, 3);
        ``train_set_y``: int64 (n_train,), 1 = smiling, 0 = not smiling;
        ``test_set_x``: uint8 (n_test, 64, 64, 3);
        ``test_set_y``: int64 (n_test,);
        ``list_classes``: int64 array [0, 1].
        Classes are balanced (counts differ by at most one) and shuffled.
    """
    def render(rng: np.random.Generator, label: int) -> np.ndarray:
        return render_face(rng, 64, smiling=bool(label))

    return classic_dataset(seed, n_train, n_test, 2, render)


def build(out) -> list:
    """``course data``: the Happy House h5 file and assignment 01's picture under ``out``.

    Returns ``[(path, seed, description)]``.
    """
    from course.synth import write_h5, write_png

    return [
        (write_h5(out / "happy" / "happy.h5", generate_happy(seed=0)), 0,
         f"Happy House faces: generate_happy(n_train={DEFAULT_N_TRAIN}, n_test=150, seed=0)"),
        (write_png(out / "images" / "visitor.png", render_face(np.random.default_rng(7), size=256, smiling=True)), 7,
         "assignment 01 picture: render_face(default_rng(7), size=256, smiling=True)"),
    ]
