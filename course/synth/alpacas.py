"""Alpacas and other animals in the countryside, for assignment 06 (transfer learning).

The data of the classic "alpaca / not alpaca" exercise: pictures in two folders,
``transfer_learning/dataset/alpaca/`` and ``transfer_learning/dataset/not alpaca/``, read with
``keras.utils.image_dataset_from_directory`` (class 0 is ``alpaca``: the folders sorted by name).

Every picture is a countryside scene: sky, clouds, sometimes mountains and hills, a field, trees, a
fence, a shed, a path. An *alpaca* picture holds one alpaca, sometimes two or three, drawn from the
side: a fleecy body, a long upright fleecy neck, a small head with a topknot, a short muzzle and
long curved "banana" ears. A *not alpaca* picture holds other farm animals of the same colours and
sizes (sheep, goats, dogs, horses, cows, camels), one to three of one kind, or no animal but bales,
trees, rocks, bushes or a shed in the foreground. Sheep, some dogs and some goats are as woolly as
alpacas (curly wool where an alpaca has hanging locks and fine strands), horses and camels have
long necks too, and the coat colours are shared, so no single colour gives the label away.

Animals are drawn in a local frame (x forward, y down; the body is an ellipse of half length 1
centred on the origin) and mapped to the canvas by a :class:`~course.synth.draw.Pose`: any size,
position and small tilt, facing left or right, sometimes close up and cut by the frame (the head
always stays in the picture). Picture ``i`` is drawn from ``default_rng([seed, i])`` with NumPy and
Pillow only and saved as JPEG (quality 92), so a seed fixes every byte of every file.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from .draw import Pose, capsule_points, ellipse_points, finish_image, flat, mix, shade, superellipse_points, to_rgb

SIZE = 160  # side of every picture, in pixels (the size the assignment reads them at)
SEED = 6000
N_ALPACA, N_OTHER = 165, 165  # pictures per folder
FOLDER = "transfer_learning/dataset"  # beside models/, which holds the pretrained base
CLASS_FOLDERS = ("alpaca", "not alpaca")
JPEG_QUALITY = 92
# Shapes are drawn at SUPERSAMPLE x the output size and downscaled (antialiasing).
SUPERSAMPLE = 2

# Coat colours (RGB) and their relative frequencies. Alpacas come in the same colours as the
# other animals, so colour alone says nothing about the label.
ALPACA_COATS = (((242, 238, 228), 3.0), ((232, 216, 182), 2.0), ((205, 165, 115), 2.0), ((150, 100, 60), 1.5),
                ((92, 62, 40), 1.2), ((38, 33, 32), 0.6), ((150, 146, 142), 1.0), ((175, 140, 130), 0.5))
SHEEP_COATS = (((238, 234, 222), 4.0), ((225, 210, 180), 2.0), ((150, 146, 142), 0.8), ((110, 80, 55), 0.8),
               ((40, 36, 34), 0.7))
GOAT_COATS = (((236, 232, 224), 2.0), ((150, 100, 60), 1.5), ((45, 38, 34), 1.0), ((160, 156, 150), 0.8),
              ((205, 170, 120), 1.0))
DOG_COATS = (((30, 28, 28), 1.5), ((120, 75, 40), 1.5), ((200, 150, 90), 1.5), ((236, 230, 215), 1.0),
             ((150, 146, 142), 0.8), ((225, 205, 165), 1.0), ((90, 55, 30), 1.0))
HORSE_COATS = (((120, 70, 40), 2.0), ((150, 80, 40), 1.5), ((38, 32, 30), 1.0), ((165, 162, 158), 1.0),
               ((236, 232, 222), 0.8), ((215, 180, 115), 0.8), ((90, 60, 40), 1.0))
COW_COATS = (((35, 32, 32), 1.5), ((120, 70, 40), 1.5), ((238, 234, 226), 1.0), ((200, 160, 110), 1.0),
             ((150, 60, 35), 0.8))
CAMEL_COATS = (((205, 165, 110), 2.0), ((180, 135, 85), 1.5), ((225, 200, 160), 1.0), ((130, 90, 55), 0.7))
COATS = {"alpaca": ALPACA_COATS, "sheep": SHEEP_COATS, "goat": GOAT_COATS, "dog": DOG_COATS,
         "horse": HORSE_COATS, "cow": COW_COATS, "camel": CAMEL_COATS}
# What a "not alpaca" picture shows, and how often ("none": the scene without animals).
OTHER_KINDS = ("sheep", "goat", "dog", "horse", "cow", "camel", "none")
OTHER_WEIGHTS = (0.28, 0.12, 0.14, 0.14, 0.1, 0.08, 0.14)
# Probability of two or three animals instead of one, and of a close-up cut by the frame.
HERD_PROBABILITY = 0.15
CLOSE_UP_PROBABILITY = 0.15

GRASS = ((95, 140, 60), (120, 155, 70), (150, 160, 80), (185, 170, 95), (140, 125, 80), (80, 120, 55))
SKIES = ("clear", "hazy", "overcast", "evening")


@dataclass
class Beast:
    """All random choices for one animal (units: half body lengths)."""

    kind: str
    coat: np.ndarray
    mark: np.ndarray            # face, legs or patches
    wool: float                 # size of the wool's curls or locks, 0 for a smooth coat
    body_h: float               # body half height
    leg_len: float
    leg_w: float
    neck: np.ndarray            # neck centre line, (n, 2) from the shoulder to the head
    neck_w: tuple               # neck half width at the shoulder and at the head
    head_rx: float
    head_ry: float
    head_angle: float           # degrees, 0 = facing forward, positive = nose down
    muzzle: float               # muzzle length beyond the head ellipse
    ears: str                   # banana, pointed, floppy, side, small
    ear_len: float
    tail: str                   # fluff, short, long, thin, curl
    horns: str                  # none, goat, cow
    humps: int
    patches: int
    topknot: bool
    mane: bool
    beard: bool
    swing: np.ndarray           # leg swings (front near, front far, hind near, hind far)


def _pick_coat(rng: np.random.Generator, kind: str) -> np.ndarray:
    colours = COATS[kind]
    weights = np.array([w for _, w in colours])
    colour = np.array(colours[int(rng.choice(len(colours), p=weights / weights.sum()))][0], dtype=np.float64)
    return np.clip(colour * rng.uniform(0.9, 1.08) + rng.uniform(-8, 8, 3), 0, 255)


def _neck_line(base: np.ndarray, length: float, angle_deg: float) -> np.ndarray:
    """Straight neck centre line from ``base``, leaning ``angle_deg`` forward of upright."""
    theta = np.deg2rad(angle_deg)
    return np.stack([base, base + length * np.array([np.sin(theta), -np.cos(theta)])])


def sample_beast(rng: np.random.Generator, kind: str) -> Beast:
    """Draw every random parameter of an animal of ``kind`` (fixed draw order per kind)."""
    coat = _pick_coat(rng, kind)
    u = rng.uniform
    if kind == "alpaca":
        body_h = u(0.55, 0.68)
        mark = coat if rng.random() < 0.6 else (np.clip(coat * u(0.55, 0.8), 0, 255) if rng.random() < 0.7
                                                else np.array([240.0, 236, 228]))
        neck = _neck_line(np.array([0.72, -0.35 * body_h]), u(1.2, 1.5), u(-4, 14))
        return Beast(kind, coat, mark, u(0.08, 0.13), body_h, u(0.85, 1.1), u(0.07, 0.09), neck,
                     (u(0.3, 0.38), u(0.22, 0.27)), u(0.22, 0.27), u(0.16, 0.19), u(-5, 20), u(0.07, 0.11),
                     "banana", u(0.45, 0.55), "fluff", "none", 0, 0, True, False, False, u(-0.15, 0.15, 4))
    if kind == "sheep":
        body_h = u(0.55, 0.68)
        mark = (np.array([35.0, 32, 30]) if rng.random() < 0.4 else np.clip(coat * u(0.85, 1.0), 0, 255))
        grazing = rng.random() < 0.4  # head down in the grass
        neck = _neck_line(np.array([0.8, -0.1]), u(0.3, 0.45) if grazing else u(0.25, 0.4),
                          u(120, 150) if grazing else u(55, 80))
        return Beast(kind, coat, mark, u(0.08, 0.12), body_h, u(0.45, 0.65), u(0.05, 0.065), neck,
                     (u(0.3, 0.36), u(0.18, 0.22)), u(0.24, 0.28), u(0.14, 0.17),
                     u(70, 100) if grazing else u(15, 45), u(0.05, 0.1),
                     "side", u(0.15, 0.2), "short", "none", 0, 0, False, False, False, u(-0.12, 0.12, 4))
    if kind == "goat":
        body_h = u(0.42, 0.5)
        shaggy = rng.random() < 0.2
        mark = coat if rng.random() < 0.5 else np.clip(coat * u(0.5, 0.8), 0, 255)
        neck = _neck_line(np.array([0.75, -0.25 * body_h]), u(0.5, 0.7), u(20, 45))
        return Beast(kind, coat, mark, u(0.05, 0.08) if shaggy else 0.0, body_h, u(0.75, 0.95), u(0.05, 0.07),
                     neck, (u(0.22, 0.26), u(0.14, 0.17)), u(0.24, 0.28), u(0.12, 0.15), u(25, 55), u(0.08, 0.12),
                     "side", u(0.15, 0.2), "short", "goat" if rng.random() < 0.75 else "none", 0, 0, False, False,
                     rng.random() < 0.7, u(-0.15, 0.15, 4))
    if kind == "dog":
        body_h = u(0.36, 0.45)
        fluffy = rng.random() < 0.25
        mark = coat if rng.random() < 0.5 else (np.array([238.0, 232, 220]) if rng.random() < 0.6
                                                else np.clip(coat * u(0.4, 0.7), 0, 255))
        neck = _neck_line(np.array([0.78, -0.2 * body_h]), u(0.35, 0.55), u(20, 45))
        ears = ("pointed", "floppy")[int(rng.integers(0, 2))]
        return Beast(kind, coat, mark, u(0.05, 0.09) if fluffy else 0.0, body_h, u(0.6, 0.9), u(0.06, 0.08), neck,
                     (u(0.2, 0.26), u(0.15, 0.19)), u(0.22, 0.27), u(0.17, 0.21), u(-10, 20), u(0.14, 0.22),
                     ears, u(0.16, 0.24), ("long", "curl")[int(rng.integers(0, 2))], "none", 0, 0, False, False,
                     False, u(-0.25, 0.25, 4))
    if kind == "horse":
        body_h = u(0.4, 0.47)
        mark = coat if rng.random() < 0.5 else (np.array([236.0, 232, 224]) if rng.random() < 0.5
                                                else np.clip(coat * u(0.35, 0.6), 0, 255))
        neck = _neck_line(np.array([0.72, -0.3 * body_h]), u(0.8, 1.05), u(30, 55))
        return Beast(kind, coat, mark, 0.0, body_h, u(1.05, 1.3), u(0.07, 0.085), neck,
                     (u(0.3, 0.36), u(0.15, 0.18)), u(0.38, 0.46), u(0.13, 0.16), u(50, 80), 0.0,
                     "small", u(0.12, 0.16), "long", "none", 0, 0, False, True, False, u(-0.2, 0.2, 4))
    if kind == "cow":
        body_h = u(0.52, 0.6)
        mark = (np.array([240.0, 238, 232]) if coat.mean() < 150 else np.array([35.0, 32, 32]))
        neck = _neck_line(np.array([0.8, -0.15]), u(0.3, 0.45), u(65, 85))
        return Beast(kind, coat, mark, 0.0, body_h, u(0.65, 0.8), u(0.1, 0.12), neck,
                     (u(0.38, 0.44), u(0.26, 0.3)), u(0.3, 0.35), u(0.17, 0.2), u(35, 65), u(0.06, 0.1),
                     "side", u(0.15, 0.2), "thin", "cow" if rng.random() < 0.6 else "none", 0,
                     int(rng.integers(0, 6)) if rng.random() < 0.6 else 0, False, False, False, u(-0.1, 0.1, 4))
    # camel: a hump or two, long legs and a neck that dips forward and rises again
    body_h = u(0.42, 0.5)
    base = np.array([0.8, -0.05])
    dip = base + np.array([u(0.35, 0.5), u(0.2, 0.35)])
    top = dip + np.array([u(0.25, 0.4), -u(0.55, 0.8)])
    neck = np.stack([base, (base + dip) / 2 + [0.0, 0.05], dip, (dip + top) / 2 + [0.06, 0.0], top])
    return Beast(kind, coat, coat, 0.0, body_h, u(1.35, 1.6), u(0.07, 0.085), neck, (u(0.24, 0.28), u(0.13, 0.16)),
                 u(0.28, 0.33), u(0.12, 0.14), u(-10, 10), u(0.05, 0.08), "small", u(0.08, 0.11), "thin", "none",
                 int(rng.integers(1, 3)), 0, False, False, False, u(-0.2, 0.2, 4))


# --------------------------------------------------------------------------
# Drawing the animal
# --------------------------------------------------------------------------
def _woolly(draw: ImageDraw.ImageDraw, pose: Pose, outline: np.ndarray, colour, wool: float,
            rng: np.random.Generator, texture: bool = True, fleece: bool = False) -> None:
    """A filled outline; with ``wool`` > 0 a woolly edge and texture inside.

    Curly wool (sheep, fluffy dogs, shaggy goats): a bumpy edge of little circles and round curls.
    Fleece (alpacas): a fringe of short hanging locks and fine downward strands.
    """
    fill = to_rgb(colour)
    draw.polygon(flat(pose.apply(outline)), fill=fill)
    if wool <= 0:
        return
    perimeter = np.hypot(*np.diff(np.vstack([outline, outline[:1]]), axis=0).T)
    steps = np.cumsum(perimeter)
    count = max(6, int(steps[-1] / (wool * (0.7 if fleece else 1.1))))
    for s in np.sort(rng.uniform(0, steps[-1], count)):
        x, y = outline[min(int(np.searchsorted(steps, s)), len(outline) - 1)]
        if fleece:
            lock = ellipse_points(x, y + wool * 0.3, wool * rng.uniform(0.3, 0.45), wool * rng.uniform(0.7, 1.0), 10,
                                  rng.uniform(-15, 15))
            draw.polygon(flat(pose.apply(lock)), fill=fill)
        else:
            r = wool * rng.uniform(0.7, 1.2)
            draw.polygon(flat(pose.apply(ellipse_points(x, y, r, r, 10))), fill=fill)
    if not texture:
        return
    centre = outline.mean(axis=0)
    n = int(len(outline) * (2.5 if fleece else 0.8))
    picks = outline[rng.integers(0, len(outline), n)]
    inside = centre + (picks - centre) * rng.uniform(0.0, 0.85, (n, 1))
    for x, y in inside:
        tone = shade(colour, rng.uniform(0.72, 1.2) if fleece else rng.uniform(0.82, 1.1))
        if fleece:
            strand = np.array([[x, y], [x + rng.uniform(-0.3, 0.3) * wool, y + wool * rng.uniform(0.8, 1.6)]])
            draw.line(flat(pose.apply(strand)), fill=tone, width=pose.width(wool * 0.22))
        else:
            r = wool * rng.uniform(0.3, 0.6)
            draw.polygon(flat(pose.apply(ellipse_points(x, y, r, r, 8))), fill=tone)


def _leg(draw: ImageDraw.ImageDraw, pose: Pose, beast: Beast, x: float, swing: float, colour, far: bool,
         rng: np.random.Generator) -> None:
    top = np.array([x, beast.body_h * 0.35])
    ground = beast.body_h * 0.5 + beast.leg_len
    knee = np.array([x + swing * 0.4, top[1] + (ground - top[1]) * 0.5])
    hoof = np.array([x + swing, ground])
    w = beast.leg_w
    upper_colour = beast.coat if beast.kind in ("alpaca", "sheep") or beast.wool else colour
    if far:
        upper_colour = shade(upper_colour, 0.8)
    upper_w = w * (1.9 if beast.kind == "alpaca" else 1.6 if beast.kind in ("cow", "horse", "camel") else 1.3)
    _woolly(draw, pose, capsule_points(top, knee, upper_w, w * 1.1, 6), upper_colour,
            beast.wool * 0.6 if beast.kind == "alpaca" else 0.0, rng, texture=False, fleece=beast.kind == "alpaca")
    draw.polygon(flat(pose.apply(capsule_points(knee, hoof, w * 1.05, w * 0.85, 6))), fill=to_rgb(colour))
    hoof_colour = (40, 34, 30) if beast.kind in ("horse", "cow", "goat", "sheep") else shade(colour, 0.7)
    draw.polygon(flat(pose.apply(ellipse_points(hoof[0] + w * 0.3, hoof[1], w * 1.2, w * 0.55, 12))),
                 fill=hoof_colour)


def _neck_sides(beast: Beast) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The neck's centre line resampled to 10 points, its unit normals (towards the throat) and half widths."""
    line = beast.neck
    lengths = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(line, axis=0).T))])
    s = np.linspace(0.0, lengths[-1], 10)
    line = np.stack([np.interp(s, lengths, line[:, 0]), np.interp(s, lengths, line[:, 1])], axis=1)
    tangents = np.gradient(line, axis=0)
    tangents /= np.linalg.norm(tangents, axis=1, keepdims=True)
    normals = np.stack([-tangents[:, 1], tangents[:, 0]], axis=1)
    widths = np.linspace(beast.neck_w[0], beast.neck_w[1], len(line))[:, None]
    return line, normals, widths


def _neck_outline(beast: Beast) -> np.ndarray:
    """Polygon around the neck's centre line, tapering from the shoulder to the head."""
    line, normals, widths = _neck_sides(beast)
    return np.concatenate([line + normals * widths, (line - normals * widths)[::-1]])


def _rotate(points: np.ndarray, angle_deg: float) -> np.ndarray:
    theta = np.deg2rad(angle_deg)
    c, s = np.cos(theta), np.sin(theta)
    return points @ np.array([[c, s], [-s, c]])


def _head_centre(beast: Beast) -> np.ndarray:
    return beast.neck[-1] + _rotate(np.array([[beast.head_rx * 0.55, -beast.head_ry * 0.2]]), beast.head_angle)[0]


def _ear(base: np.ndarray, length: float, width: float, direction_deg: float, bend: float) -> np.ndarray:
    """A curved ear from ``base``: a tapered leaf along a bent centre line, (N, 2)."""
    t = np.linspace(0, 1, 9)
    theta = np.deg2rad(direction_deg)
    axis = np.array([np.cos(theta), np.sin(theta)])
    normal = np.array([-axis[1], axis[0]])
    centre = base + np.outer(t * length, axis) + np.outer(bend * length * t ** 2, normal)
    half = width * np.sin(np.pi * (0.15 + 0.85 * t)) * (1 - 0.5 * t)
    return np.concatenate([centre + normal * half[:, None], (centre - normal * half[:, None])[::-1]])


def _draw_head(draw: ImageDraw.ImageDraw, pose: Pose, beast: Beast, rng: np.random.Generator) -> None:
    centre = _head_centre(beast)
    angle = beast.head_angle
    face = beast.mark if beast.kind in ("sheep", "dog", "horse", "cow", "goat") else beast.coat
    head_colour = beast.coat if beast.kind in ("alpaca", "camel") else face

    def local(points: np.ndarray) -> np.ndarray:
        return centre + _rotate(np.asarray(points, dtype=np.float64), angle)

    rx, ry = beast.head_rx, beast.head_ry
    # Ears behind the head: the far one darker.
    ear_base = local([[-rx * 0.35, -ry * 0.7]])[0]
    if beast.ears == "banana":
        ears = [(_ear(ear_base + [-0.06, 0.0], beast.ear_len, 0.07, -104 + rng.uniform(-8, 8), -0.25), 0.75),
                (_ear(ear_base, beast.ear_len * rng.uniform(0.95, 1.05), 0.075, -90 + rng.uniform(-8, 8), -0.3), 1.0)]
    elif beast.ears == "pointed":
        ears = [(_ear(ear_base + [-0.05, 0.0], beast.ear_len, 0.08, -110, 0.0), 0.75),
                (_ear(ear_base, beast.ear_len, 0.085, -100, 0.0), 1.0)]
    elif beast.ears == "floppy":
        ears = [(_ear(ear_base + [-0.08, 0.04], beast.ear_len, 0.08, 100 + angle, 0.3), 0.9)]
    elif beast.ears == "side":
        ears = [(_ear(ear_base + [0.0, 0.02], beast.ear_len, 0.06, -160 + angle, -0.3), 0.75),
                (_ear(ear_base + [-0.03, 0.06], beast.ear_len, 0.065, 170 + angle, 0.2), 1.0)]
    else:  # small
        ears = [(_ear(ear_base, beast.ear_len, 0.05, -105 + angle * 0.3, 0.0), 1.0)]
    for outline, factor in ears[:-1]:
        draw.polygon(flat(pose.apply(outline)), fill=shade(head_colour, factor))
    if beast.horns == "goat":
        horn = _ear(local([[-rx * 0.1, -ry * 0.8]])[0], beast.ear_len * 1.4, 0.045, -150, 0.6)
        draw.polygon(flat(pose.apply(horn)), fill=(120, 110, 95))
    if beast.mane:  # a band along the crest of the neck, up to the ears
        line, normals, widths = _neck_sides(beast)
        crest = line - normals * widths * 0.9
        outer = crest - normals * (0.07 + 0.03 * (np.arange(len(line)) % 2))[:, None]
        draw.polygon(flat(pose.apply(np.concatenate([crest, outer[::-1]]))),
                     fill=to_rgb(np.clip(beast.coat * 0.45, 0, 255)))

    _woolly(draw, pose, local(ellipse_points(0.0, 0.0, rx, ry, 28)), head_colour,
            beast.wool * 0.5 if beast.kind in ("alpaca", "sheep") else 0.0, rng, texture=False,
            fleece=beast.kind == "alpaca")
    # Muzzle (forward and a little down), nostril and mouth.
    muzzle_colour = mix(head_colour, (60, 50, 45), 0.25) if beast.kind != "alpaca" else shade(head_colour, 0.93)
    mx = rx * 0.75 + beast.muzzle * 0.5
    muzzle = local(ellipse_points(mx, ry * 0.25, rx * 0.45 + beast.muzzle * 0.5, ry * 0.72, 24))
    draw.polygon(flat(pose.apply(muzzle)), fill=muzzle_colour)
    nose = local(ellipse_points(mx + rx * 0.35 + beast.muzzle * 0.4, ry * 0.05, 0.035, 0.025, 10))
    nose_colour = (30, 25, 25) if beast.kind in ("dog", "alpaca", "sheep", "goat") else shade(muzzle_colour, 0.6)
    draw.polygon(flat(pose.apply(nose)), fill=nose_colour)
    mouth = local([[mx + 0.05, ry * 0.55], [mx + rx * 0.3 + beast.muzzle * 0.3, ry * 0.45]])
    draw.line(flat(pose.apply(mouth)), fill=shade(muzzle_colour, 0.55), width=pose.width(0.015))
    if beast.beard:
        beard = local([[mx - 0.05, ry * 0.7], [mx + 0.05, ry * 0.75], [mx - 0.02, ry * 2.2]])
        draw.polygon(flat(pose.apply(beard)), fill=shade(beast.coat, 0.85))
    # Eye: big and dark for alpacas and camels, with a glint.
    eye_r = 0.05 if beast.kind in ("alpaca", "camel") else 0.035
    eye = local([[rx * 0.05, -ry * 0.3]])[0]
    draw.polygon(flat(pose.apply(ellipse_points(eye[0], eye[1], eye_r, eye_r * 0.85, 14))), fill=(22, 18, 18))
    glint = eye + [0.012, -0.012]
    draw.polygon(flat(pose.apply(ellipse_points(glint[0], glint[1], eye_r * 0.3, eye_r * 0.3, 8))),
                 fill=(230, 230, 230))
    if beast.topknot:
        knot = local([[-rx * 0.25, -ry * 0.95]])[0]
        blob = ellipse_points(knot[0], knot[1], rx * rng.uniform(0.6, 0.8), ry * rng.uniform(0.6, 0.85), 20)
        _woolly(draw, pose, blob, beast.coat, beast.wool * 0.7, rng, fleece=True)
    if beast.horns == "cow":
        for side in (0.0, 0.05):
            horn = _ear(local([[-rx * 0.2 + side, -ry * 0.85]])[0], 0.14, 0.035, -60 + angle, -0.4)
            draw.polygon(flat(pose.apply(horn)), fill=(225, 215, 190))
    # The near ear last, in front of the topknot; upright ears show their darker inside.
    outline, factor = ears[-1]
    draw.polygon(flat(pose.apply(outline)), fill=shade(head_colour, factor))
    if beast.ears in ("banana", "pointed"):
        inner = ear_base + (_ear(np.zeros(2), beast.ear_len * 0.7, 0.025, -95, -0.3) if beast.ears == "banana"
                            else _ear(np.zeros(2), beast.ear_len * 0.7, 0.04, -100, 0.0))
        draw.polygon(flat(pose.apply(inner + [0.0, -0.03])), fill=shade(head_colour, 0.7))


def _draw_tail(draw: ImageDraw.ImageDraw, pose: Pose, beast: Beast, rng: np.random.Generator) -> None:
    root = np.array([-0.95, -beast.body_h * 0.35])
    dark = np.clip(beast.coat * 0.5, 0, 255) if beast.mane else beast.coat
    if beast.tail == "fluff":
        _woolly(draw, pose, ellipse_points(root[0] - 0.08, root[1] + 0.05, 0.14, 0.2, 16), beast.coat,
                beast.wool * 0.6, rng, texture=False, fleece=True)
    elif beast.tail == "short":
        draw.polygon(flat(pose.apply(_ear(root, 0.25, 0.06, 120 if beast.kind == "sheep" else -130, 0.0))),
                     fill=to_rgb(beast.coat))
    elif beast.tail == "long":
        direction = 105 if beast.kind == "horse" else rng.uniform(-170, -120)
        outline = _ear(root, 0.9 if beast.kind == "horse" else 0.6, 0.1 if beast.kind == "horse" else 0.06,
                       direction, 0.25)
        _woolly(draw, pose, outline, dark, beast.wool * 0.6, rng, texture=False)
    elif beast.tail == "curl":
        draw.polygon(flat(pose.apply(_ear(root, 0.45, 0.07, -120, 0.9))), fill=to_rgb(beast.coat))
    else:  # thin, with a tuft
        end = root + [-0.15, beast.leg_len * 0.8]
        draw.line(flat(pose.apply(np.stack([root, end]))), fill=to_rgb(beast.coat), width=pose.width(0.03))
        draw.polygon(flat(pose.apply(ellipse_points(end[0], end[1] + 0.05, 0.04, 0.09, 10))),
                     fill=to_rgb(np.clip(beast.coat * 0.5, 0, 255)))


def paint_beast(draw: ImageDraw.ImageDraw, pose: Pose, beast: Beast, rng: np.random.Generator) -> None:
    """Draw one animal standing side on at ``pose`` (no background)."""
    legs_colour = beast.mark if beast.kind in ("alpaca", "sheep", "horse", "dog", "goat") else shade(beast.coat, 0.95)
    front, hind = 0.62, -0.62
    _leg(draw, pose, beast, front + 0.1, beast.swing[1], shade(legs_colour, 0.8), True, rng)
    _leg(draw, pose, beast, hind + 0.1, beast.swing[3], shade(legs_colour, 0.8), True, rng)
    _draw_tail(draw, pose, beast, rng)
    body = ellipse_points(0.0, 0.0, 1.0, beast.body_h, 48)
    if beast.kind == "cow":  # boxier body
        body = superellipse_points(1.0, beast.body_h, 3.0, 48)
    fleece = beast.kind == "alpaca"
    _woolly(draw, pose, body, shade(beast.coat, 0.9), beast.wool, rng, texture=False, fleece=fleece)
    inner = ellipse_points(-0.05, -beast.body_h * 0.12, 0.9, beast.body_h * 0.8, 40)
    _woolly(draw, pose, inner, beast.coat, beast.wool * 0.8, rng, fleece=fleece)
    for _ in range(beast.patches):
        cx, cy = rng.uniform(-0.7, 0.6), rng.uniform(-beast.body_h * 0.6, beast.body_h * 0.4)
        patch = ellipse_points(cx, cy, rng.uniform(0.12, 0.3), rng.uniform(0.1, 0.25), 16, rng.uniform(0, 180))
        draw.polygon(flat(pose.apply(patch)), fill=to_rgb(beast.mark))
    for hump in range(beast.humps):
        x = -0.1 if beast.humps == 1 else (-0.45 + 0.6 * hump)
        draw.polygon(flat(pose.apply(ellipse_points(x, -beast.body_h * 0.8, 0.38 if beast.humps == 1 else 0.28,
                                                    beast.body_h * 0.75, 24))), fill=to_rgb(beast.coat))
    _leg(draw, pose, beast, front, beast.swing[0], legs_colour, False, rng)
    _leg(draw, pose, beast, hind, beast.swing[2], legs_colour, False, rng)
    neck_colour = beast.coat if beast.kind != "cow" else mix(beast.coat, beast.mark, 0.1)
    _woolly(draw, pose, _neck_outline(beast), neck_colour, beast.wool * (1.0 if fleece else 0.7), rng, fleece=fleece)
    _draw_head(draw, pose, beast, rng)


def beast_extent(beast: Beast) -> tuple[np.ndarray, np.ndarray]:
    """Rough bounding box of the animal in local units: ``(low corner, high corner)``."""
    head = _head_centre(beast)
    reach = beast.head_rx + beast.muzzle + 0.1
    ears = beast.ear_len if beast.ears in ("banana", "pointed") else 0.05
    points = np.array([[-1.15, -beast.body_h * (1.5 if beast.humps else 1.0)],
                       [1.0, beast.body_h * 0.5 + beast.leg_len],
                       head - [reach, beast.head_ry + ears + (0.1 if beast.topknot else 0.0)],
                       head + [reach, reach]])
    return points.min(axis=0), points.max(axis=0)


# --------------------------------------------------------------------------
# The scene
# --------------------------------------------------------------------------
def _sky(rng: np.random.Generator, px: int, horizon: float) -> tuple[Image.Image, np.ndarray]:
    kind = SKIES[int(rng.choice(len(SKIES), p=(0.45, 0.2, 0.2, 0.15)))]
    if kind == "clear":
        top, bottom = rng.uniform([40, 100, 180], [110, 160, 230]), rng.uniform([170, 200, 225], [215, 230, 250])
    elif kind == "hazy":
        top, bottom = rng.uniform([140, 170, 200], [180, 200, 230]), rng.uniform([210, 215, 220], [240, 240, 245])
    elif kind == "overcast":
        grey = rng.uniform(150, 210)
        top, bottom = np.full(3, grey) * rng.uniform(0.9, 1.0, 3), np.full(3, grey + 20) * rng.uniform(0.95, 1.0, 3)
    else:
        top, bottom = rng.uniform([70, 90, 150], [120, 130, 190]), rng.uniform([230, 150, 100], [255, 200, 150])
    rows = np.clip((np.arange(px, dtype=np.float32) / max(horizon, 1.0))[:, None], 0, 1)
    colours = top[None, :] * (1 - rows) + bottom[None, :] * rows
    pixels = np.broadcast_to(colours[:, None, :], (px, px, 3))
    return Image.fromarray(np.clip(np.round(pixels), 0, 255).astype(np.uint8), "RGB"), bottom


def _ridge(rng: np.random.Generator, px: int, base: float, height: float, roughness: float) -> np.ndarray:
    """A mountain or hill skyline: (n, 2) points from left to right, y up to ``height`` above ``base``."""
    n = 48
    x = np.linspace(-0.05 * px, 1.05 * px, n)
    walk = np.cumsum(rng.normal(0, roughness, n))
    walk = np.convolve(np.pad(walk, 3, mode="edge"), np.ones(5) / 5, mode="same")[3:-3]
    walk = (walk - walk.min()) / max(float(np.ptp(walk)), 1e-6)
    return np.stack([x, base - height * walk], axis=1)


def _tree(draw: ImageDraw.ImageDraw, rng: np.random.Generator, x: float, ground: float, height: float) -> None:
    trunk = (int(rng.uniform(70, 100)), int(rng.uniform(50, 70)), int(rng.uniform(30, 45)))
    leaves = rng.uniform([35, 70, 30], [90, 130, 60])
    if rng.random() < 0.4:  # conifer
        draw.rectangle([x - height * 0.04, ground - height * 0.2, x + height * 0.04, ground], fill=trunk)
        for level in range(3):
            y0 = ground - height * (0.15 + 0.28 * level)
            w = height * (0.3 - 0.07 * level)
            draw.polygon([x - w, y0, x + w, y0, x, y0 - height * 0.42], fill=shade(leaves, 0.8 + 0.1 * level))
        return
    draw.rectangle([x - height * 0.05, ground - height * 0.55, x + height * 0.05, ground], fill=trunk)
    for _ in range(int(rng.integers(4, 8))):
        cx = x + rng.uniform(-0.25, 0.25) * height
        cy = ground - height * rng.uniform(0.55, 0.85)
        r = height * rng.uniform(0.15, 0.25)
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=shade(leaves, rng.uniform(0.8, 1.15)))


def _fence(draw: ImageDraw.ImageDraw, rng: np.random.Generator, px: int, y_far: float, y_near: float) -> None:
    """A post-and-rail fence running across the field, nearer (lower, bigger) at one end."""
    colour = ((120, 90, 60), (150, 140, 125), (235, 232, 225), (90, 70, 50))[int(rng.integers(0, 4))]
    left_y, right_y = (y_far, y_near) if rng.random() < 0.5 else (y_near, y_far)
    posts = int(rng.integers(5, 10))
    xs = np.linspace(rng.uniform(-0.1, 0.2), rng.uniform(0.8, 1.1), posts) * px
    ys = np.interp(xs, [0, px], [left_y, right_y])
    heights = (ys - y_far + px * 0.03) * rng.uniform(0.35, 0.5)
    width = max(1, int(px * 0.008))
    for rail in (0.35, 0.75):
        draw.line(flat(np.stack([xs, ys - heights * rail], axis=1)), fill=colour, width=width)
    for x, y, h in zip(xs, ys, heights):
        draw.rectangle([x - h * 0.06 - 1, y - h, x + h * 0.06 + 1, y], fill=shade(colour, 0.85))


def draw_scene(rng: np.random.Generator, px: int) -> tuple[Image.Image, float]:
    """A countryside background of ``px`` x ``px`` pixels; returns it and the horizon's height."""
    horizon = px * rng.uniform(0.28, 0.58)
    image, haze = _sky(rng, px, horizon)
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(0, 5))):  # clouds
        cx, cy = rng.uniform(0, px), rng.uniform(0, horizon * 0.8)
        white = rng.uniform(225, 252)
        for _ in range(int(rng.integers(3, 7))):
            rx, ry = px * rng.uniform(0.04, 0.1), px * rng.uniform(0.02, 0.05)
            ox, oy = rng.uniform(-1.5, 1.5) * rx, rng.uniform(-0.5, 0.5) * ry
            draw.ellipse([cx + ox - rx, cy + oy - ry, cx + ox + rx, cy + oy + ry], fill=to_rgb([white] * 3))
    if rng.random() < 0.55:  # mountains, fading into the haze
        for far in range(int(rng.integers(1, 3))):
            rock = rng.uniform([90, 95, 105], [150, 145, 150])
            colour = mix(rock, haze, 0.55 - 0.25 * far)
            ridge = _ridge(rng, px, horizon + 2, px * rng.uniform(0.12, 0.3), 1.0)
            draw.polygon(flat(np.concatenate([ridge, [[1.05 * px, horizon + 2], [-0.05 * px, horizon + 2]]])),
                         fill=colour)
            if rng.random() < 0.4:
                snow_line = ridge[:, 1].min() + px * rng.uniform(0.02, 0.05)
                lower = np.maximum(ridge[:, 1], np.minimum(ridge[:, 1] + px * 0.04, snow_line))
                draw.polygon(flat(np.concatenate([ridge, np.stack([ridge[::-1, 0], lower[::-1]], 1)])),
                             fill=mix((245, 245, 248), haze, 0.3))
    grass = np.array(GRASS[int(rng.integers(0, len(GRASS)))], dtype=np.float64) * rng.uniform(0.85, 1.1)
    if rng.random() < 0.5:  # rolling hills just behind the field
        ridge = _ridge(rng, px, horizon + 2, px * rng.uniform(0.04, 0.1), 0.5)
        draw.polygon(flat(np.concatenate([ridge, [[1.05 * px, horizon + 2], [-0.05 * px, horizon + 2]]])),
                     fill=mix(grass * 0.85, haze, 0.35))
    # The field: darker towards the viewer, with strokes of grass.
    for row in range(int(horizon), px, 2):
        t = (row - horizon) / max(px - horizon, 1)
        draw.rectangle([0, row, px, row + 2], fill=mix(mix(grass, haze, 0.25), grass * 0.8, t))
    if rng.random() < 0.25:  # a dirt path to the horizon
        x0 = rng.uniform(0.2, 0.8) * px
        dirt = rng.uniform([150, 120, 85], [190, 160, 120])
        w0, w1 = px * rng.uniform(0.2, 0.4), px * 0.02
        draw.polygon([x0 - w0, px, x0 + w0, px, x0 + rng.uniform(-0.2, 0.2) * px + w1, horizon,
                      x0 + w1 * 0.5, horizon], fill=to_rgb(dirt))
    for _ in range(int(px * px / 400)):
        x, y = rng.uniform(0, px), rng.uniform(horizon, px)
        length = 1 + (y - horizon) / px * rng.uniform(4, 12)
        draw.line([x, y, x + rng.uniform(-1, 1), y - length], fill=shade(grass, rng.uniform(0.7, 1.2)),
                  width=max(1, int(length / 5)))
    for _ in range(int(rng.choice(5, p=(0.3, 0.25, 0.2, 0.15, 0.1)))):  # trees near the horizon
        ground = horizon + rng.uniform(0.0, 0.15) * (px - horizon)
        _tree(draw, rng, rng.uniform(0, px), ground, (ground - horizon + px * 0.05) * rng.uniform(1.2, 2.5))
    if rng.random() < 0.15:  # a shed
        x, w = rng.uniform(0.0, 0.8) * px, rng.uniform(0.12, 0.25) * px
        ground = horizon + rng.uniform(0.02, 0.1) * px
        h = w * rng.uniform(0.5, 0.8)
        wall = to_rgb(rng.uniform([110, 40, 30], [200, 180, 160]))
        draw.rectangle([x, ground - h, x + w, ground], fill=wall)
        draw.polygon([x - w * 0.05, ground - h, x + w * 1.05, ground - h, x + w / 2, ground - h * 1.6],
                     fill=shade(wall, 0.6))
        draw.rectangle([x + w * 0.4, ground - h * 0.6, x + w * 0.6, ground], fill=shade(wall, 0.4))
    return image, horizon


def _hay_bale(draw: ImageDraw.ImageDraw, rng: np.random.Generator, x: float, ground: float, r: float) -> None:
    """A round bale seen from the side: a straw cylinder with a rolled end."""
    straw = rng.uniform([190, 160, 90], [225, 200, 130])
    w = r * rng.uniform(1.2, 1.8)
    draw.rounded_rectangle([x - w / 2, ground - 2 * r, x + w / 2, ground], radius=r * 0.3, fill=shade(straw, 0.85))
    draw.ellipse([x + w / 2 - r * 0.7, ground - 2 * r, x + w / 2 + r * 0.7, ground], fill=to_rgb(straw))
    for k in range(1, 4):
        q = r * k / 4
        draw.ellipse([x + w / 2 - q * 0.7, ground - r - q, x + w / 2 + q * 0.7, ground - r + q],
                     outline=shade(straw, 0.7), width=max(1, int(r * 0.04)))


def draw_still_life(draw: ImageDraw.ImageDraw, rng: np.random.Generator, px: int, horizon: float) -> None:
    """One to three big things in the foreground of a picture without animals: round bales, a tree, rocks,
    bushes or a shed (an empty field alone would be too easy a "not alpaca")."""
    for _ in range(int(rng.integers(1, 4))):
        kind = int(rng.choice(5, p=(0.3, 0.25, 0.15, 0.15, 0.15)))
        ground = rng.uniform(horizon + 0.15 * (px - horizon), 1.02 * px)
        near = (ground - horizon) / max(px - horizon, 1.0)  # 0 at the horizon, 1 at the bottom
        x = rng.uniform(0.05, 0.95) * px
        size = px * near * rng.uniform(0.25, 0.5)
        if kind == 0:
            for k in range(int(rng.integers(1, 4))):
                _hay_bale(draw, rng, x + k * size * 1.3, ground - k * size * 0.1, size * 0.5)
        elif kind == 1:
            _tree(draw, rng, x, ground, size * rng.uniform(2.0, 3.0))
        elif kind == 2:
            rock = rng.uniform(100, 170) * rng.uniform(0.95, 1.05, 3)
            for _ in range(int(rng.integers(1, 4))):
                w, h = size * rng.uniform(0.4, 0.9), size * rng.uniform(0.25, 0.6)
                ox = rng.uniform(-0.6, 0.6) * size
                draw.ellipse([x + ox - w, ground - 2 * h, x + ox + w, ground + h * 0.2],
                             fill=shade(rock, rng.uniform(0.8, 1.1)))
        elif kind == 3:
            leaves = rng.uniform([40, 80, 30], [100, 140, 70])
            for _ in range(int(rng.integers(4, 9))):
                r = size * rng.uniform(0.2, 0.4)
                cx, cy = x + rng.uniform(-0.7, 0.7) * size, ground - r * rng.uniform(0.6, 1.6)
                draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=shade(leaves, rng.uniform(0.8, 1.15)))
        else:
            w = size * rng.uniform(1.5, 2.5)
            h = w * rng.uniform(0.5, 0.8)
            wall = to_rgb(rng.uniform([110, 40, 30], [200, 180, 160]))
            draw.rectangle([x - w / 2, ground - h, x + w / 2, ground], fill=wall)
            draw.polygon([x - w * 0.55, ground - h, x + w * 0.55, ground - h, x, ground - h * 1.6],
                         fill=shade(wall, 0.6))
            draw.rectangle([x - w * 0.1, ground - h * 0.6, x + w * 0.1, ground], fill=shade(wall, 0.4))


# --------------------------------------------------------------------------
# A picture
# --------------------------------------------------------------------------
def _place(rng: np.random.Generator, beast: Beast, px: int, horizon: float, fraction: float,
           close_up: bool) -> Pose:
    """A pose for ``beast``: its larger side ``fraction`` of the picture's, feet on the field, head inside."""
    low, high = beast_extent(beast)
    scale = fraction * px / (high - low).max()
    mirror = bool(rng.random() < 0.5)
    angle = rng.uniform(-5, 5)
    ground_local = beast.body_h * 0.5 + beast.leg_len
    centre_local = (low + high) / 2
    if close_up:
        head = _head_centre(beast)
        target = np.array([rng.uniform(0.3, 0.7), rng.uniform(0.3, 0.5)]) * px
        probe = Pose((0.0, 0.0), scale, angle, mirror)
        return Pose(target - probe.apply(head[None])[0], scale, angle, mirror)
    height_px = (high[1] - low[1]) * scale
    foot_low = max(horizon + 0.04 * px, height_px + 0.02 * px)
    foot = rng.uniform(foot_low, max(foot_low, 0.98 * px)) if foot_low < 1.05 * px else 1.05 * px
    probe = Pose((0.0, 0.0), scale, angle, mirror)
    offset = probe.apply(np.array([[centre_local[0], ground_local]]))[0]
    centre_x = rng.uniform(0.2, 0.8) * px
    pose = Pose((centre_x - offset[0], foot - offset[1]), scale, angle, mirror)
    # Keep the head in the picture.
    head = pose.apply(_head_centre(beast)[None])[0]
    shift = np.clip(head, 0.08 * px, 0.92 * px) - head
    return Pose(pose.center + shift, scale, angle, mirror)


def render(rng: np.random.Generator, alpaca: bool, size: int = SIZE) -> np.ndarray:
    """Draw one picture: alpacas (``alpaca=True``), or other animals or none (``alpaca=False``), in a field.

    ``rng`` is the only source of randomness. Returns a uint8 array of shape (size, size, 3), RGB.
    """
    px = size * SUPERSAMPLE
    if alpaca:
        kind = "alpaca"
    else:
        kind = OTHER_KINDS[int(rng.choice(len(OTHER_KINDS), p=OTHER_WEIGHTS))]
    canvas, horizon = draw_scene(rng, px)
    draw = ImageDraw.Draw(canvas)
    fence_in_front = kind != "none" and rng.random() < 0.25
    fence = rng.random() < 0.4
    fence_y = (horizon + (px - horizon) * rng.uniform(0.05, 0.3), horizon + (px - horizon) * rng.uniform(0.3, 0.9))
    if fence and not fence_in_front:
        _fence(draw, rng, px, *fence_y)
    if kind == "none":
        draw_still_life(draw, rng, px, horizon)
    else:
        close_up = rng.random() < CLOSE_UP_PROBABILITY
        count = 1 if close_up or rng.random() >= HERD_PROBABILITY else int(rng.integers(2, 4))
        beasts = [sample_beast(rng, kind) for _ in range(count)]
        if close_up:
            fractions = [rng.uniform(1.0, 1.5)]
        elif count == 1:
            fractions = [rng.uniform(0.7, 1.0)]
        else:
            fractions = list(rng.uniform(0.5, 0.7, count))
        poses = [_place(rng, beast, px, horizon, fraction, close_up) for beast, fraction in zip(beasts, fractions)]
        # Far (smaller) animals first, so near ones overlap them.
        for i in np.argsort([pose.scale for pose in poses], kind="stable"):
            paint_beast(draw, poses[i], beasts[i], rng)
    if fence and fence_in_front:
        _fence(draw, rng, px, *fence_y)
    return finish_image(canvas, size, rng, max_blur=0.35, max_noise=3.0, light_strength=0.25,
                        contrast_range=(0.85, 1.15), brightness_range=(0.85, 1.1))


def picture(seed: int, index: int) -> np.ndarray:
    """Picture ``index`` of the dataset drawn from ``seed``: alpacas for the first :data:`N_ALPACA` indices."""
    return render(np.random.default_rng([seed, index]), alpaca=index < N_ALPACA)


def build(out) -> list:
    """``course data``: the alpaca / not alpaca pictures under ``out/transfer_learning/dataset/``.

    Returns ``[(path, seed, description)]``.
    """
    made = []
    for index in range(N_ALPACA + N_OTHER):
        alpaca = index < N_ALPACA
        folder = CLASS_FOLDERS[0] if alpaca else CLASS_FOLDERS[1]
        number = index if alpaca else index - N_ALPACA
        name = f"{'alpaca' if alpaca else 'other'}_{number:03d}.jpg"
        path = out / FOLDER / folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(picture(SEED, index)).save(path, format="JPEG", quality=JPEG_QUALITY, optimize=False)
        made.append((path, SEED, f"assignment 06 picture ({folder}): picture({SEED}, {index})"))
    return made
