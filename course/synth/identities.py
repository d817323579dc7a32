"""Synthetic people for face recognition (assignment 04): many photographs of each identity.

An identity is one draw of the Happy House face traits (:func:`course.synth.faces.sample_face`):
face shape, skin tone, hair style and colour, eye spacing, size and colour, nose, brows, glasses
and beard stay the same in every photograph of that person. Each photograph draws anew what a
camera at an office door would change: pose (position, size, in-plane rotation, mirrored),
expression (mouth, gaze, brow height), clothes, background, lighting, blur and noise, and
sometimes something in front of the face (a hand, a cup, a sheet of paper).

Identity ``i`` of a pool is ``default_rng([pool_seed, i])``; its photograph ``j`` is
``default_rng([pool_seed, i, j])``. Pools with different seeds never share a person, so the
network is trained on one pool (:data:`TRAIN_POOL`) and the notebook only meets people of
another (:data:`OFFICE_POOL`).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from PIL import ImageDraw

from .draw import SUPERSAMPLE, Pose, draw_background, ellipse_points, finish_image, flat, random_color, to_rgb
from .faces import FACE_BACKGROUND_WEIGHTS, Face, paint_face, sample_face

SIZE = 96  # side of every photograph, in pixels
TRAIN_POOL = 4000  # the embedding network's training identities
OFFICE_POOL = 4100  # the notebook's people: the office staff and the strangers at the door
HELD_OUT_POOL = 4200  # the benchmark's unseen people

# Pose ranges: head centre shift (fractions of the image, x and y), head half height (fraction of the
# image) and in-plane rotation (degrees).
POSE_CENTER = (0.5, 0.46)
POSE_SHIFT = (0.07, 0.05)
POSE_SCALE = (0.33, 0.43)
POSE_ROTATION = 14.0
# Probability that something covers part of the face, and the share of the head height it covers.
OCCLUSION_PROBABILITY = 0.3
LIGHT_STRENGTH = 0.6
BRIGHTNESS = (0.7, 1.2)
CONTRAST = (0.65, 1.25)

# The office: the people enrolled in the notebook's database (identities 0-11 of OFFICE_POOL),
# named as in the classic assignment so that learners' calls such as verify(..., "younes", ...) work.
OFFICE = ("danielle", "younes", "tian", "andrew", "kian", "dan", "sebastiano", "bertrand", "kevin", "felix",
          "benoit", "arnaud")
# Camera photographs at the door: (file, identity index in OFFICE_POOL, photograph index). Indices
# from len(OFFICE) on are strangers, not in the database. The photographs were chosen, with the shipped
# network, so that every distance to a database entry lies at least 0.12 from the threshold 0.7.
CAMERA = (("camera_0.jpg", 1, 2), ("camera_1.jpg", 7, 2), ("camera_2.jpg", 3, 1), ("camera_3.jpg", 0, 9),
          ("camera_4.jpg", 9, 1), ("camera_5.jpg", 4, 1), ("camera_6.jpg", 12, 1), ("camera_7.jpg", 13, 1))
# The notebook's gallery of further photographs, for the distance plot: every office person and
# GALLERY_STRANGERS strangers, GALLERY_SHOTS photographs each (from photograph GALLERY_FIRST_SHOT on, so
# that none is a camera photograph).
GALLERY_STRANGERS = 12
GALLERY_SHOTS = 4
GALLERY_FIRST_SHOT = 20


def identity(pool: int, index: int) -> Face:
    """The stable traits of person ``index`` of ``pool``."""
    return sample_face(np.random.default_rng([pool, index]), smiling=True)


def _expression(rng: np.random.Generator, person: Face) -> Face:
    """The person with this photograph's mouth, gaze and brows (everything else kept)."""
    mood = sample_face(rng, smiling=bool(rng.random() < 0.6))
    return replace(person, mouth_kind=mood.mouth_kind, mouth_y=mood.mouth_y, mouth_w=mood.mouth_w,
                   mouth_depth=mood.mouth_depth, mouth_open=mood.mouth_open, smile_lines=mood.smile_lines,
                   gaze=mood.gaze, brow_tilt=person.brow_tilt + rng.uniform(-0.03, 0.03),
                   eye_h=person.eye_h * rng.uniform(0.8, 1.1), shirt=random_color(rng))


def _occlude(rng: np.random.Generator, draw: ImageDraw.ImageDraw, pose: Pose) -> None:
    """Something between the camera and the face: a hand, a cup or a sheet, over a part of it."""
    kind = int(rng.integers(0, 3))
    side = rng.choice([-1.0, 1.0])
    if kind == 0:  # a raised gloved hand over a cheek and the mouth
        skin = random_color(rng, lightness=(90, 230))
        cx, cy = side * rng.uniform(0.2, 0.6), rng.uniform(0.3, 0.8)
        draw.polygon(flat(pose.apply(ellipse_points(cx, cy, 0.3, 0.42, 24))), fill=to_rgb(skin))
    elif kind == 1:  # a cup held in front of the chin
        color = random_color(rng)
        cx = side * rng.uniform(0.0, 0.4)
        top = rng.uniform(0.55, 0.8)
        cup = np.array([[cx - 0.25, top], [cx + 0.25, top], [cx + 0.21, top + 0.8], [cx - 0.21, top + 0.8]])
        draw.polygon(flat(pose.apply(cup)), fill=to_rgb(color))
    else:  # a sheet of paper or a door frame along one side
        color = random_color(rng, lightness=(150, 255))
        edge = side * rng.uniform(0.35, 0.75)
        far = side * 3.0
        sheet = np.array([[edge, -2.0], [far, -2.0], [far, 2.5], [edge, 2.5]])
        draw.polygon(flat(pose.apply(sheet)), fill=to_rgb(color))


def photograph(pool: int, index: int, shot: int, size: int = SIZE) -> np.ndarray:
    """Photograph ``shot`` of person ``index`` of ``pool``: uint8 ``(size, size, 3)``, RGB."""
    person = identity(pool, index)
    rng = np.random.default_rng([pool, index, shot])
    face = _expression(rng, person)
    canvas_px = size * SUPERSAMPLE
    canvas = draw_background(rng, canvas_px, canvas_px, FACE_BACKGROUND_WEIGHTS,
                             blur_radius=rng.uniform(0.5, 2.0) * SUPERSAMPLE * size / 64)
    draw = ImageDraw.Draw(canvas)
    shift = rng.uniform(-1.0, 1.0, 2) * np.asarray(POSE_SHIFT)
    pose = Pose(center=canvas_px * (np.asarray(POSE_CENTER) + shift), scale=canvas_px * rng.uniform(*POSE_SCALE),
                angle_deg=rng.uniform(-POSE_ROTATION, POSE_ROTATION), mirror=bool(rng.random() < 0.5))
    paint_face(draw, pose, face)
    if rng.random() < OCCLUSION_PROBABILITY:
        _occlude(rng, draw, pose)
    return finish_image(canvas, size, rng, max_noise=6.0, light_strength=LIGHT_STRENGTH,
                        contrast_range=CONTRAST, brightness_range=BRIGHTNESS)


def photographs(pool: int, people: int, shots: int, first_shot: int = 0, size: int = SIZE,
                processes: int = 1) -> np.ndarray:
    """Photographs ``(people, shots, size, size, 3)`` uint8 of persons ``0..people-1`` of ``pool``."""
    jobs = [(pool, i, first_shot + j, size) for i in range(people) for j in range(shots)]
    if processes > 1:
        from multiprocessing import Pool

        with Pool(processes) as workers:
            images = workers.starmap(photograph, jobs, chunksize=32)
    else:
        images = [photograph(*job) for job in jobs]
    return np.stack(images).reshape(people, shots, size, size, 3)


def build(out) -> list:
    """``course data``: the office's database and camera photographs and the gallery, under ``out``.

    Returns ``[(path, seed, description)]``.
    """
    from PIL import Image

    from course.synth import write_png

    folder = out / "face_recognition"
    made = []
    for i, name in enumerate(OFFICE):
        path = write_png(folder / "images" / f"{name}.png", photograph(OFFICE_POOL, i, 0))
        made.append((path, OFFICE_POOL, f"office database photograph: photograph({OFFICE_POOL}, {i}, 0)"))
    for file, i, shot in CAMERA:
        path = folder / "images" / file
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(photograph(OFFICE_POOL, i, shot)).save(path, format="JPEG", quality=92, optimize=False)
        who = OFFICE[i] if i < len(OFFICE) else "a stranger"
        made.append((path, OFFICE_POOL, f"camera photograph of {who}: photograph({OFFICE_POOL}, {i}, {shot})"))
    people = len(OFFICE) + GALLERY_STRANGERS
    gallery = photographs(OFFICE_POOL, people, GALLERY_SHOTS, first_shot=GALLERY_FIRST_SHOT)
    # One row per person, one column per photograph.
    sheet = gallery.transpose(0, 2, 1, 3, 4).reshape(people * SIZE, GALLERY_SHOTS * SIZE, 3)
    path = write_png(folder / "gallery.png", sheet)
    made.append((path, OFFICE_POOL, f"distance gallery: photographs({OFFICE_POOL}, {people}, {GALLERY_SHOTS}, "
                                    f"first_shot={GALLERY_FIRST_SHOT}), a row per person; rows 0-11 are the "
                                    "office, the rest strangers"))
    return made
