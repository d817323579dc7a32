"""Dashcam-like street scenes with labelled boxes, for assignment 03 (car detection).

A scene is laid out in the coordinates of a 720 x 1280 dashcam frame (x to the
right, y down) and can be rendered at any size, so the detector trains on
frames drawn straight at its input size while the notebook's test frames are
full 720 x 1280 pictures. A ``numpy.random.Generator`` is the only source of
randomness: a seed fixes the layout, the colours and every pixel.

Geometry is a pinhole camera over a flat road. A point on the ground at depth
fraction ``t`` (0 at the horizon, 1 at the bottom edge of the frame) lies at
``y = horizon + t * (720 - horizon)``, and an object standing there is drawn
``t * PIXELS_PER_METRE`` pixels per metre, so far objects are small and high.
Objects are placed far to near; one that would be hidden by more than
``MAX_OCCLUSION`` of its box is not drawn at all, so every drawn object is
labelled and every label can be seen.

Boxes are ``(x_min, y_min, x_max, y_max)`` in frame pixels, the full extent of
the object clipped to the frame; classes index :data:`CLASSES`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from course.synth.draw import mix, random_color, sample_skin_tone, shade, to_rgb

CLASSES = ("car", "bus", "truck", "pedestrian", "traffic light", "traffic sign")
FRAME = (720, 1280)  # height, width of a dashcam frame
# Shapes are drawn at SUPERSAMPLE x the output size and downscaled (antialiasing).
SUPERSAMPLE = 2

# Horizon height (fraction of the frame height) and the vanishing point's
# sideways offset (fraction of the width): the camera pitches and turns a little.
HORIZON = (0.36, 0.46)
VANISHING_SHIFT = 0.08
# Pixels per metre at the bottom edge of the frame (t = 1); the camera sits
# (720 - horizon) / PIXELS_PER_METRE ~ 1.5 m above the road.
PIXELS_PER_METRE = 260.0
LANE_WIDTH_M = 3.5
SIDEWALK_M = (2.5, 5.0)
# Sizes in metres (width, height) and the depth range each kind is placed in:
# nearer than t_max so it stays mostly inside the frame, farther than t_min so
# it stays at least ~10 px wide once the frame is shrunk to the detector input.
VEHICLE_SIZES = {"car": ((1.7, 1.95), (1.35, 1.6)), "bus": ((2.45, 2.6), (2.9, 3.3)),
                 "truck": ((2.4, 2.6), (3.0, 3.7))}
VEHICLE_DEPTH = (0.16, 0.85)
PEDESTRIAN_HEIGHT_M = (1.55, 1.95)
PEDESTRIAN_DEPTH = (0.2, 0.75)
LIGHT_SIZE_M = (0.55, 1.3)  # housing width, height
LIGHT_BOTTOM_M = (2.2, 2.6)
LIGHT_DEPTH = (0.22, 0.7)
SIGN_SIZE_M = (0.7, 0.9)
SIGN_BOTTOM_M = (1.6, 2.2)
SIGN_DEPTH = (0.22, 0.7)
# How many objects of each kind a scene gets (inclusive ranges).
COUNTS = {"vehicle": (2, 7), "pedestrian": (0, 5), "traffic light": (0, 3), "traffic sign": (0, 3)}
VEHICLE_KIND_WEIGHTS = {"car": 0.62, "bus": 0.18, "truck": 0.2}
# An object hidden behind nearer ones by more than this fraction of its box is dropped.
MAX_OCCLUSION = 0.5
# An object cut by the frame edge keeps its label only if this much of its box is inside.
MIN_INSIDE = 0.6

CAR_COLORS = ((200, 30, 30), (240, 240, 240), (25, 25, 30), (140, 145, 150), (30, 60, 150),
              (200, 200, 205), (90, 20, 30), (30, 90, 60), (230, 180, 30), (80, 80, 85))
BUS_COLORS = ((235, 190, 20), (200, 35, 35), (40, 90, 170), (30, 130, 80), (240, 240, 235))
SIGN_KINDS = ("limit", "warning", "stop", "mandatory", "info")
WEATHER = ("clear", "overcast", "dusk", "fog", "rain")
WEATHER_WEIGHTS = (0.4, 0.2, 0.15, 0.12, 0.13)


@dataclass
class Thing:
    """One labelled object: its class, full box in frame pixels and drawing parameters."""

    label: str
    box: tuple[float, float, float, float]
    depth: float
    params: dict = field(default_factory=dict)


@dataclass
class Scene:
    horizon: float
    vanish_x: float
    lanes_left: int
    lanes_right: int
    sidewalk_m: float
    weather: str
    things: list[Thing]
    seed_bits: int


class _Painter:
    """Maps frame coordinates to a supersampled canvas of the requested size."""

    def __init__(self, size: tuple[int, int]):
        self.height, self.width = size
        self.sx = self.width * SUPERSAMPLE / FRAME[1]
        self.sy = self.height * SUPERSAMPLE / FRAME[0]
        self.image = Image.new("RGB", (self.width * SUPERSAMPLE, self.height * SUPERSAMPLE))
        self.draw = ImageDraw.Draw(self.image)

    def pts(self, points) -> list[float]:
        p = np.asarray(points, dtype=np.float64).reshape(-1, 2) * (self.sx, self.sy)
        return p.ravel().tolist()

    def polygon(self, points, fill) -> None:
        self.draw.polygon(self.pts(points), fill=to_rgb(fill))

    def rect(self, x0, y0, x1, y1, fill) -> None:
        self.draw.rectangle(self.pts([(x0, y0), (x1, y1)]), fill=to_rgb(fill))

    def ellipse(self, x0, y0, x1, y1, fill) -> None:
        self.draw.ellipse(self.pts([(x0, y0), (x1, y1)]), fill=to_rgb(fill))

    def line(self, points, fill, width: float) -> None:
        self.draw.line(self.pts(points), fill=to_rgb(fill), width=max(1, int(round(width * self.sy))))


# --------------------------------------------------------------------------
# Layout
# --------------------------------------------------------------------------
def _ground_y(scene: Scene, t: float) -> float:
    return scene.horizon + t * (FRAME[0] - scene.horizon)


def _screen_x(scene: Scene, lateral_m: float, t: float) -> float:
    return scene.vanish_x + lateral_m * PIXELS_PER_METRE * t


def _standing_box(scene: Scene, lateral_m: float, t: float, width_m: float, bottom_m: float,
                  top_m: float) -> tuple[float, float, float, float]:
    """Box of an object centred at ``lateral_m``, spanning heights bottom_m..top_m above the road."""
    ppm = PIXELS_PER_METRE * t
    x = _screen_x(scene, lateral_m, t)
    ground = _ground_y(scene, t)
    return (x - width_m * ppm / 2, ground - top_m * ppm, x + width_m * ppm / 2, ground - bottom_m * ppm)


def _vehicle(rng: np.random.Generator, scene: Scene) -> Thing:
    kind = str(rng.choice(list(VEHICLE_KIND_WEIGHTS), p=list(VEHICLE_KIND_WEIGHTS.values())))
    (w_lo, w_hi), (h_lo, h_hi) = VEHICLE_SIZES[kind]
    width, height = rng.uniform(w_lo, w_hi), rng.uniform(h_lo, h_hi)
    lane = int(rng.integers(-scene.lanes_left, scene.lanes_right))
    lateral = (lane + 0.5 + rng.uniform(-0.15, 0.15)) * LANE_WIDTH_M
    t = rng.uniform(*VEHICLE_DEPTH)
    oncoming = lane < 0 and scene.lanes_left > 0
    if kind == "car":
        color = np.asarray(CAR_COLORS[rng.integers(len(CAR_COLORS))], float) * rng.uniform(0.85, 1.1)
    elif kind == "bus":
        color = np.asarray(BUS_COLORS[rng.integers(len(BUS_COLORS))], float)
    else:
        color = random_color(rng, lightness=(120, 250))
    return Thing(kind, _standing_box(scene, lateral, t, width, 0.0, height), t,
                 {"color": color, "oncoming": oncoming, "cab_color": random_color(rng, lightness=(60, 220))})


def _pedestrian(rng: np.random.Generator, scene: Scene) -> Thing:
    height = rng.uniform(*PEDESTRIAN_HEIGHT_M)
    t = rng.uniform(*PEDESTRIAN_DEPTH)
    road_edge = (scene.lanes_right if rng.random() < 0.5 else -scene.lanes_left) * LANE_WIDTH_M
    if rng.random() < 0.2:  # crossing the road
        lateral = rng.uniform(-scene.lanes_left, scene.lanes_right) * LANE_WIDTH_M
    else:
        lateral = road_edge + np.sign(road_edge or 1) * rng.uniform(0.4, scene.sidewalk_m - 0.3)
    width = height * rng.uniform(0.3, 0.36)
    return Thing("pedestrian", _standing_box(scene, lateral, t, width, 0.0, height), t, {
        "skin": sample_skin_tone(rng), "shirt": random_color(rng, lightness=(30, 240)),
        "trousers": random_color(rng, lightness=(20, 160)), "stride": rng.uniform(-0.25, 0.25),
        "hair": random_color(rng, lightness=(10, 120))})


def _roadside(rng: np.random.Generator, scene: Scene, depth: tuple[float, float]) -> tuple[float, float]:
    side = 1 if rng.random() < 0.65 else -1
    edge = (scene.lanes_right if side > 0 else scene.lanes_left) * LANE_WIDTH_M
    return side * (edge + rng.uniform(0.3, 1.2)), rng.uniform(*depth)


def _traffic_light(rng: np.random.Generator, scene: Scene) -> Thing:
    lateral, t = _roadside(rng, scene, LIGHT_DEPTH)
    width, height = LIGHT_SIZE_M
    bottom = rng.uniform(*LIGHT_BOTTOM_M)
    return Thing("traffic light", _standing_box(scene, lateral, t, width, bottom, bottom + height), t, {
        "lit": int(rng.integers(3)), "housing": (25, 25, 25) if rng.random() < 0.7 else (200, 170, 30),
        "pole_bottom": _ground_y(scene, t)})


def _traffic_sign(rng: np.random.Generator, scene: Scene) -> Thing:
    lateral, t = _roadside(rng, scene, SIGN_DEPTH)
    size = rng.uniform(*SIGN_SIZE_M)
    bottom = rng.uniform(*SIGN_BOTTOM_M)
    return Thing("traffic sign", _standing_box(scene, lateral, t, size, bottom, bottom + size), t, {
        "kind": str(rng.choice(SIGN_KINDS)), "pole_bottom": _ground_y(scene, t),
        "digits": str(int(rng.choice([20, 30, 40, 50, 60, 70, 80, 90])))})


def _visible_things(things: list[Thing]) -> list[Thing]:
    """Drop objects hidden more than MAX_OCCLUSION by nearer ones, or cut too much by the frame."""
    cell = 8
    covered = np.zeros((FRAME[0] // cell + 1, FRAME[1] // cell + 1), dtype=bool)
    kept = []
    for thing in sorted(things, key=lambda th: -th.depth):  # nearest first
        x0, y0, x1, y1 = thing.box
        full = max((x1 - x0) * (y1 - y0), 1e-9)
        cx0, cy0 = max(x0, 0), max(y0, 0)
        cx1, cy1 = min(x1, FRAME[1]), min(y1, FRAME[0])
        if cx1 <= cx0 or cy1 <= cy0 or (cx1 - cx0) * (cy1 - cy0) < MIN_INSIDE * full:
            continue
        rows = slice(int(cy0 // cell), int(np.ceil(cy1 / cell)))
        cols = slice(int(cx0 // cell), int(np.ceil(cx1 / cell)))
        region = covered[rows, cols]
        if region.size and region.mean() > MAX_OCCLUSION:
            continue
        covered[rows, cols] = True
        kept.append(Thing(thing.label, (cx0, cy0, cx1, cy1), thing.depth,
                          {**thing.params, "full_box": thing.box}))
    return sorted(kept, key=lambda th: th.depth)  # far to near: drawing order


def sample_scene(rng: np.random.Generator) -> Scene:
    scene = Scene(horizon=FRAME[0] * rng.uniform(*HORIZON),
                  vanish_x=FRAME[1] * (0.5 + rng.uniform(-VANISHING_SHIFT, VANISHING_SHIFT)),
                  lanes_left=int(rng.integers(0, 3)), lanes_right=int(rng.integers(1, 3)),
                  sidewalk_m=rng.uniform(*SIDEWALK_M),
                  weather=str(rng.choice(WEATHER, p=WEATHER_WEIGHTS)), things=[],
                  seed_bits=int(rng.integers(2 ** 31)))
    things = []
    for kind, make in (("vehicle", _vehicle), ("pedestrian", _pedestrian), ("traffic light", _traffic_light),
                       ("traffic sign", _traffic_sign)):
        low, high = COUNTS[kind]
        things += [make(rng, scene) for _ in range(rng.integers(low, high + 1))]
    scene.things = _visible_things(things)
    return scene


# --------------------------------------------------------------------------
# Drawing
# --------------------------------------------------------------------------
SKIES = {"clear": ((90, 150, 220), (190, 215, 240)), "overcast": ((150, 155, 165), (200, 202, 205)),
         "dusk": ((70, 60, 120), (240, 150, 90)), "fog": ((185, 188, 192), (205, 207, 210)),
         "rain": ((95, 100, 110), (140, 145, 150))}


def _draw_background(p: _Painter, rng: np.random.Generator, scene: Scene) -> None:
    top, bottom = (np.asarray(c, float) for c in SKIES[scene.weather])
    h = scene.horizon
    for i in range(12):  # sky in bands
        y0, y1 = h * i / 12, h * (i + 1) / 12 + 1
        p.rect(0, y0, FRAME[1], y1, mix(top, bottom, i / 11))
    # Buildings and trees along the horizon, farther ones smaller.
    x = -40.0
    while x < FRAME[1]:
        w = rng.uniform(60, 220)
        height = rng.uniform(30, 160)
        if rng.random() < 0.3:  # a tree
            green = random_color(rng, lightness=(40, 120)) * np.array([0.6, 1.0, 0.5])
            p.rect(x + w * 0.45, h - height * 0.4, x + w * 0.55, h + 2, (70, 50, 35))
            p.ellipse(x + w * 0.1, h - height, x + w * 0.9, h - height * 0.3, green)
        else:
            wall = random_color(rng, lightness=(90, 200))
            p.rect(x, h - height, x + w, h + 2, wall)
            window = shade(wall, 0.55)
            for wy in np.arange(h - height + 8, h - 12, 18):
                for wx in np.arange(x + 6, x + w - 10, 16):
                    p.rect(wx, wy, wx + 7, wy + 9, window)
        x += w * rng.uniform(0.8, 1.1)
    # Ground: sidewalks (light) and the road between them (dark asphalt).
    p.rect(0, h, FRAME[1], FRAME[0], (150, 148, 140))
    far = 0.0
    asphalt = np.asarray((70, 72, 75), float) * rng.uniform(0.7, 1.2)
    left, right = -scene.lanes_left * LANE_WIDTH_M, scene.lanes_right * LANE_WIDTH_M
    p.polygon([(_screen_x(scene, left, far), h), (_screen_x(scene, right, far), h),
               (_screen_x(scene, right, 1.4), _ground_y(scene, 1.4)),
               (_screen_x(scene, left, 1.4), _ground_y(scene, 1.4))], asphalt)
    # Lane markings: dashed white between lanes, solid at the edges, yellow centre line.
    for lane in range(-scene.lanes_left, scene.lanes_right + 1):
        lateral = lane * LANE_WIDTH_M
        color = (215, 190, 60) if lane == 0 and scene.lanes_left else (225, 225, 220)
        solid = lane in (-scene.lanes_left, scene.lanes_right) or (lane == 0 and scene.lanes_left)
        steps = np.linspace(0.02, 1.3, 28)
        for i in range(len(steps) - 1):
            if not solid and i % 2:
                continue
            t0, t1 = steps[i], steps[i + 1]
            hw = 0.07
            p.polygon([(_screen_x(scene, lateral - hw, t0), _ground_y(scene, t0)),
                       (_screen_x(scene, lateral + hw, t0), _ground_y(scene, t0)),
                       (_screen_x(scene, lateral + hw, t1), _ground_y(scene, t1)),
                       (_screen_x(scene, lateral - hw, t1), _ground_y(scene, t1))], color)
    if rng.random() < 0.35:  # a zebra crossing
        t0 = rng.uniform(0.3, 0.7)
        t1 = t0 + 0.06
        for k in np.arange(left, right, 1.0):
            p.polygon([(_screen_x(scene, k, t0), _ground_y(scene, t0)),
                       (_screen_x(scene, k + 0.5, t0), _ground_y(scene, t0)),
                       (_screen_x(scene, k + 0.5, t1), _ground_y(scene, t1)),
                       (_screen_x(scene, k, t1), _ground_y(scene, t1))], (220, 220, 215))


def _wheels(p: _Painter, x0, x1, y1, w, h) -> None:
    for wx in (x0 + 0.04 * w, x1 - 0.2 * w):
        p.rect(wx, y1 - 0.12 * h, wx + 0.16 * w, y1, (20, 20, 20))


def _draw_car(p: _Painter, box, prm) -> None:
    x0, y0, x1, y1 = prm["full_box"]
    w, h = x1 - x0, y1 - y0
    body = prm["color"]
    glass = (40, 50, 65)
    p.ellipse(x0 - 0.05 * w, y1 - 0.08 * h, x1 + 0.05 * w, y1 + 0.06 * h, (35, 35, 35))  # shadow
    _wheels(p, x0, x1, y1, w, h)
    p.polygon([(x0 + 0.16 * w, y0), (x1 - 0.16 * w, y0), (x1 - 0.04 * w, y0 + 0.45 * h),
               (x0 + 0.04 * w, y0 + 0.45 * h)], shade(body, 0.9))
    p.polygon([(x0 + 0.2 * w, y0 + 0.06 * h), (x1 - 0.2 * w, y0 + 0.06 * h),
               (x1 - 0.1 * w, y0 + 0.4 * h), (x0 + 0.1 * w, y0 + 0.4 * h)], glass)
    p.rect(x0, y0 + 0.42 * h, x1, y1 - 0.1 * h, body)
    lamp = (250, 245, 220) if prm["oncoming"] else (210, 20, 20)
    p.rect(x0 + 0.03 * w, y0 + 0.5 * h, x0 + 0.2 * w, y0 + 0.62 * h, lamp)
    p.rect(x1 - 0.2 * w, y0 + 0.5 * h, x1 - 0.03 * w, y0 + 0.62 * h, lamp)
    if prm["oncoming"]:
        p.rect(x0 + 0.3 * w, y0 + 0.55 * h, x1 - 0.3 * w, y0 + 0.7 * h, (30, 30, 30))  # grille
    p.rect(x0 + 0.38 * w, y0 + 0.7 * h, x1 - 0.38 * w, y0 + 0.8 * h, (235, 235, 230))  # plate
    p.rect(x0, y1 - 0.2 * h, x1, y1 - 0.1 * h, shade(body, 0.5))  # bumper


def _draw_bus(p: _Painter, box, prm) -> None:
    x0, y0, x1, y1 = prm["full_box"]
    w, h = x1 - x0, y1 - y0
    body = prm["color"]
    p.ellipse(x0 - 0.04 * w, y1 - 0.05 * h, x1 + 0.04 * w, y1 + 0.04 * h, (35, 35, 35))
    _wheels(p, x0, x1, y1, w, h * 0.6)
    p.rect(x0, y0 + 0.03 * h, x1, y1 - 0.06 * h, body)
    p.rect(x0 + 0.04 * w, y0, x1 - 0.04 * w, y0 + 0.06 * h, shade(body, 0.85))
    p.rect(x0 + 0.2 * w, y0 + 0.05 * h, x1 - 0.2 * w, y0 + 0.13 * h, (20, 20, 20))  # route display
    p.rect(x0 + 0.32 * w, y0 + 0.07 * h, x1 - 0.32 * w, y0 + 0.11 * h, (250, 160, 20))
    p.rect(x0 + 0.06 * w, y0 + 0.17 * h, x1 - 0.06 * w, y0 + 0.52 * h, (45, 55, 70))  # big window
    p.rect(x0, y0 + 0.6 * h, x1, y0 + 0.64 * h, shade(body, 0.6))  # stripe
    lamp = (250, 245, 220) if prm["oncoming"] else (210, 20, 20)
    p.rect(x0 + 0.04 * w, y0 + 0.72 * h, x0 + 0.14 * w, y0 + 0.84 * h, lamp)
    p.rect(x1 - 0.14 * w, y0 + 0.72 * h, x1 - 0.04 * w, y0 + 0.84 * h, lamp)
    p.rect(x0 + 0.4 * w, y0 + 0.8 * h, x1 - 0.4 * w, y0 + 0.86 * h, (235, 235, 230))


def _draw_truck(p: _Painter, box, prm) -> None:
    x0, y0, x1, y1 = prm["full_box"]
    w, h = x1 - x0, y1 - y0
    p.ellipse(x0 - 0.04 * w, y1 - 0.05 * h, x1 + 0.04 * w, y1 + 0.04 * h, (35, 35, 35))
    _wheels(p, x0, x1, y1, w, h * 0.5)
    if prm["oncoming"]:  # cab with a windscreen in front of the box
        p.rect(x0, y0, x1, y1 - 0.1 * h, shade(prm["color"], 0.95))
        p.rect(x0 + 0.03 * w, y0 + 0.35 * h, x1 - 0.03 * w, y1 - 0.08 * h, prm["cab_color"])
        p.rect(x0 + 0.1 * w, y0 + 0.42 * h, x1 - 0.1 * w, y0 + 0.62 * h, (45, 55, 70))
        p.rect(x0 + 0.06 * w, y0 + 0.75 * h, x0 + 0.2 * w, y0 + 0.82 * h, (250, 245, 220))
        p.rect(x1 - 0.2 * w, y0 + 0.75 * h, x1 - 0.06 * w, y0 + 0.82 * h, (250, 245, 220))
        return
    p.rect(x0, y0, x1, y1 - 0.12 * h, prm["color"])  # cargo box, rear doors
    p.line([(x0 + 0.5 * w, y0 + 0.03 * h), (x0 + 0.5 * w, y1 - 0.14 * h)], shade(prm["color"], 0.55), 0.012 * h)
    for hx in (0.44, 0.56):
        p.rect(x0 + hx * w - 0.01 * w, y0 + 0.45 * h, x0 + hx * w + 0.01 * w, y0 + 0.6 * h, (90, 90, 90))
    p.rect(x0 + 0.02 * w, y1 - 0.12 * h, x1 - 0.02 * w, y1 - 0.08 * h, (40, 40, 40))  # underride bar
    p.rect(x0 + 0.03 * w, y1 - 0.2 * h, x0 + 0.12 * w, y1 - 0.15 * h, (210, 20, 20))
    p.rect(x1 - 0.12 * w, y1 - 0.2 * h, x1 - 0.03 * w, y1 - 0.15 * h, (210, 20, 20))


def _draw_pedestrian(p: _Painter, box, prm) -> None:
    x0, y0, x1, y1 = prm["full_box"]
    w, h = x1 - x0, y1 - y0
    cx = (x0 + x1) / 2
    s = prm["stride"] * w
    leg_top = y0 + 0.52 * h
    p.polygon([(cx - 0.12 * w, leg_top), (cx + 0.02 * w, leg_top), (cx - 0.25 * w - s, y1), (cx - 0.45 * w - s, y1)],
              prm["trousers"])
    p.polygon([(cx - 0.02 * w, leg_top), (cx + 0.12 * w, leg_top), (cx + 0.45 * w + s, y1), (cx + 0.25 * w + s, y1)],
              shade(prm["trousers"], 0.8))
    p.polygon([(cx - 0.3 * w, y0 + 0.17 * h), (cx + 0.3 * w, y0 + 0.17 * h),
               (cx + 0.22 * w, leg_top + 0.02 * h), (cx - 0.22 * w, leg_top + 0.02 * h)], prm["shirt"])
    for side in (-1, 1):  # arms
        p.polygon([(cx + side * 0.3 * w, y0 + 0.18 * h), (cx + side * 0.48 * w, y0 + 0.18 * h),
                   (cx + side * 0.5 * w, y0 + 0.5 * h), (cx + side * 0.36 * w, y0 + 0.5 * h)],
                  shade(prm["shirt"], 0.85))
    p.ellipse(cx - 0.22 * w, y0, cx + 0.22 * w, y0 + 0.16 * h, prm["skin"])
    p.ellipse(cx - 0.23 * w, y0 - 0.005 * h, cx + 0.23 * w, y0 + 0.06 * h, prm["hair"])


def _draw_pole(p: _Painter, x: float, top: float, bottom: float, width: float) -> None:
    p.rect(x - width / 2, top, x + width / 2, bottom, (95, 95, 100))


def _draw_traffic_light(p: _Painter, box, prm) -> None:
    x0, y0, x1, y1 = prm["full_box"]
    w, h = x1 - x0, y1 - y0
    _draw_pole(p, (x0 + x1) / 2, y1, prm["pole_bottom"], 0.18 * w)
    p.rect(x0, y0, x1, y1, prm["housing"])
    colors = ((230, 30, 30), (245, 170, 20), (40, 220, 90))
    for i, color in enumerate(colors):
        lamp = color if i == prm["lit"] else shade(color, 0.25)
        cy = y0 + (0.18 + 0.32 * i) * h
        p.ellipse(x0 + 0.18 * w, cy - 0.12 * h, x1 - 0.18 * w, cy + 0.12 * h, lamp)


def _draw_traffic_sign(p: _Painter, box, prm) -> None:
    x0, y0, x1, y1 = prm["full_box"]
    w, h = x1 - x0, y1 - y0
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    _draw_pole(p, cx, y1, prm["pole_bottom"], 0.08 * w)
    kind = prm["kind"]
    if kind == "limit":
        p.ellipse(x0, y0, x1, y1, (200, 25, 25))
        p.ellipse(x0 + 0.14 * w, y0 + 0.14 * h, x1 - 0.14 * w, y1 - 0.14 * h, (245, 245, 245))
        p.rect(cx - 0.22 * w, cy - 0.14 * h, cx - 0.04 * w, cy + 0.14 * h, (20, 20, 20))
        p.rect(cx + 0.04 * w, cy - 0.14 * h, cx + 0.22 * w, cy + 0.14 * h, (20, 20, 20))
        p.rect(cx - 0.17 * w, cy - 0.08 * h, cx - 0.09 * w, cy + 0.08 * h, (245, 245, 245))
        p.rect(cx + 0.09 * w, cy - 0.08 * h, cx + 0.17 * w, cy + 0.08 * h, (245, 245, 245))
    elif kind == "warning":
        p.polygon([(cx, y0), (x1, y1), (x0, y1)], (200, 25, 25))
        p.polygon([(cx, y0 + 0.25 * h), (x1 - 0.17 * w, y1 - 0.09 * h), (x0 + 0.17 * w, y1 - 0.09 * h)],
                  (245, 245, 240))
        p.rect(cx - 0.04 * w, y0 + 0.45 * h, cx + 0.04 * w, y0 + 0.75 * h, (20, 20, 20))
    elif kind == "stop":
        a = np.deg2rad(22.5 + 45 * np.arange(8))
        p.polygon(np.stack([cx + 0.5 * w * np.cos(a), cy + 0.5 * h * np.sin(a)], 1), (200, 20, 25))
        p.rect(x0 + 0.2 * w, cy - 0.08 * h, x1 - 0.2 * w, cy + 0.08 * h, (245, 245, 245))
    elif kind == "mandatory":
        p.ellipse(x0, y0, x1, y1, (30, 80, 190))
        p.polygon([(cx, y0 + 0.2 * h), (x1 - 0.25 * w, cy), (cx + 0.08 * w, cy), (cx + 0.08 * w, y1 - 0.2 * h),
                   (cx - 0.08 * w, y1 - 0.2 * h), (cx - 0.08 * w, cy), (x0 + 0.25 * w, cy)], (245, 245, 245))
    else:
        p.rect(x0, y0, x1, y1, (30, 80, 190))
        p.rect(x0 + 0.3 * w, y0 + 0.2 * h, x0 + 0.45 * w, y1 - 0.2 * h, (245, 245, 245))
        p.rect(x0 + 0.3 * w, y0 + 0.2 * h, x1 - 0.3 * w, y0 + 0.35 * h, (245, 245, 245))
        p.rect(x1 - 0.42 * w, y0 + 0.2 * h, x1 - 0.3 * w, cy + 0.05 * h, (245, 245, 245))
        p.rect(x0 + 0.3 * w, cy - 0.05 * h, x1 - 0.3 * w, cy + 0.05 * h, (245, 245, 245))


DRAWERS = {"car": _draw_car, "bus": _draw_bus, "truck": _draw_truck, "pedestrian": _draw_pedestrian,
           "traffic light": _draw_traffic_light, "traffic sign": _draw_traffic_sign}


def _finish(p: _Painter, rng: np.random.Generator, scene: Scene) -> np.ndarray:
    """Downsample, then weather, lighting and sensor noise."""
    image = p.image
    if scene.weather == "rain":
        rain = ImageDraw.Draw(image, "RGBA")
        for _ in range(int(rng.integers(150, 400))):
            x, y = rng.uniform(0, image.width), rng.uniform(0, image.height)
            length = rng.uniform(0.02, 0.05) * image.height
            rain.line([x, y, x - 0.25 * length, y + length], fill=(210, 215, 225, 90),
                      width=max(1, image.height // 400))
    image = image.resize((p.width, p.height), Image.Resampling.BILINEAR)
    blur = rng.uniform(0.0, 0.8) * p.height / 360
    if blur > 0.2:
        image = image.filter(ImageFilter.GaussianBlur(blur))
    pixels = np.asarray(image, dtype=np.float32)
    if scene.weather == "fog":  # haze growing towards the horizon
        y = (np.arange(p.height, dtype=np.float32) + 0.5) / p.height * FRAME[0]
        depth = np.clip((y - scene.horizon) / (FRAME[0] - scene.horizon), 0, 1)
        haze = (rng.uniform(0.35, 0.6) * (1 - depth) ** 1.5)[:, None, None]
        pixels = pixels * (1 - haze) + 200.0 * haze
    brightness = {"dusk": rng.uniform(0.55, 0.8), "rain": rng.uniform(0.65, 0.9)}.get(
        scene.weather, rng.uniform(0.8, 1.15))
    contrast = rng.uniform(0.8, 1.15)
    cast = rng.uniform(0.92, 1.08, 3).astype(np.float32)
    mean = pixels.mean()
    pixels = ((pixels - mean) * contrast + mean * brightness) * cast
    pixels += rng.normal(0.0, rng.uniform(1.0, 7.0), pixels.shape).astype(np.float32)
    return np.clip(np.round(pixels), 0, 255).astype(np.uint8)


def render_scene(rng: np.random.Generator, size: tuple[int, int] = FRAME):
    """Draw one street scene.

    Args:
        rng: the only source of randomness (a seed fixes every pixel).
        size: (height, width) of the image; the layout is the same for any size.

    Returns:
        (image uint8 (height, width, 3), boxes float32 (n, 4) as
        (x_min, y_min, x_max, y_max) in 720 x 1280 frame pixels, classes int32 (n,)).
    """
    scene = sample_scene(rng)
    draw_rng = np.random.default_rng(scene.seed_bits)
    painter = _Painter(size)
    _draw_background(painter, draw_rng, scene)
    for thing in scene.things:
        DRAWERS[thing.label](painter, thing.box, thing.params)
    image = _finish(painter, draw_rng, scene)
    boxes = np.array([thing.box for thing in scene.things], dtype=np.float32).reshape(-1, 4)
    classes = np.array([CLASSES.index(thing.label) for thing in scene.things], dtype=np.int32)
    return image, boxes, classes


def scene_rng(seed: int, index: int) -> np.random.Generator:
    """The generator of frame ``index`` of stream ``seed`` (frames are independent of each other)."""
    return np.random.default_rng([seed, index])


TEST_FRAMES_SEED = 3000
TEST_FRAMES = 6


def write_test_frames(folder, seed: int = TEST_FRAMES_SEED, count: int = TEST_FRAMES) -> list:
    """Write ``frame_01.jpg`` ... (720 x 1280) and ``labels.json`` (their boxes, in frame pixels) to ``folder``."""
    import json
    from pathlib import Path

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written, labels = [], {}
    for i in range(count):
        image, boxes, classes = render_scene(scene_rng(seed, i))
        name = f"frame_{i + 1:02d}.jpg"
        Image.fromarray(image).save(folder / name, format="JPEG", quality=92, optimize=False, subsampling=0)
        labels[name] = [{"class": CLASSES[c], "box": [round(float(v), 2) for v in box]}
                        for box, c in zip(boxes, classes)]
        written.append(folder / name)
    (folder / "labels.json").write_text(json.dumps({"box_format": "x_min, y_min, x_max, y_max (pixels)",
                                                    "frames": labels}, indent=1) + "\n")
    return written + [folder / "labels.json"]


def build(out) -> list:
    """``course data``: assignment 03's test frames and labels under ``out``.

    Returns ``[(path, seed, description)]``."""
    return [(path, TEST_FRAMES_SEED, f"assignment 03 test frame: write_test_frames(seed={TEST_FRAMES_SEED})")
            for path in write_test_frames(out / "car_detection" / "frames")]
