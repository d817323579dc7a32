"""Pictures for assignment 05 (neural style transfer): procedural "paintings" and the content photographs.

Three style pictures, drawn with Pillow along paths computed with NumPy, so a
seed fixes every pixel and nothing is copied from a real painting:

``swirls``
    in the manner of Van Gogh's night skies: long curved strokes that follow a
    flow field turning around a few bright "stars" (vortices), deep blues with
    yellow and white near the stars, a dark band of hills and one dark flame
    shaped tree in front.
``water``
    in the manner of Monet's water lilies: short, mostly horizontal dabs whose
    colour follows a smooth random colour field (blue, green and violet water),
    with clusters of green pads carrying pink and white flowers.
``mosaic``
    a floor mosaic: irregular tiles (the cells of a jittered grid, split like
    a Voronoi diagram) in terracotta, ochre, turquoise and cream, each tile
    flat with a little shading, set in dark grout.

and two content photographs:

``hopper.jpg``
    the official U.S. Navy portrait of Grace Hopper (Naval History and Heritage
    Command, NH 96919-KN; a work of the U.S. federal government, in the public
    domain), as matplotlib installs it (``matplotlib.cbook.get_sample_data
    ("grace_hopper.jpg")``), its top square resized to :data:`PHOTO_SIZE`.
``lake.jpg``
    a photograph-like landscape the course renders itself: a sky with soft
    clouds and the sun, two mountain ridges, a lake reflecting them, a red
    boathouse and a grassy shore, blurred a little and with sensor noise.

Each stroke is drawn twice, a wide stroke and a thinner, lighter one on top of
it, which gives the ridged look of thick paint that the Gram matrices of a
style network pick up. Pictures are drawn at :data:`SUPERSAMPLE` times their
size and downscaled with LANCZOS.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

SIZE = (400, 300)  # width, height of the written pictures
SUPERSAMPLE = 2
FOLDER = "art_generation"
SWIRLS_SEED = 5001
WATER_SEED = 5002
MOSAIC_SEED = 5003
LAKE_SEED = 5004
PHOTO_SIZE = 256  # the content photographs are square
JPEG_QUALITY = 92

# Van Gogh-like night palette (sky from dark to light, stars, hills, tree).
SKY = np.array([[16, 32, 92], [28, 56, 138], [46, 88, 170], [80, 124, 196], [128, 168, 214]], dtype=np.float64)
STAR = np.array([[242, 214, 88], [250, 236, 160], [252, 250, 220]], dtype=np.float64)
HILLS = np.array([[18, 28, 60], [30, 48, 84], [44, 66, 96]], dtype=np.float64)
TREE = np.array([[16, 22, 18], [30, 40, 26], [50, 44, 30]], dtype=np.float64)
# Monet-like water palette.
WATER = np.array([[58, 96, 140], [86, 128, 164], [112, 150, 150], [132, 118, 170], [70, 120, 110],
                  [150, 176, 196]], dtype=np.float64)
PADS = np.array([[54, 110, 58], [88, 140, 70], [120, 160, 84], [40, 88, 66]], dtype=np.float64)
FLOWERS = np.array([[236, 150, 170], [246, 210, 220], [250, 246, 236], [220, 110, 140]], dtype=np.float64)


def _rgb(color) -> tuple[int, int, int]:
    r, g, b = np.clip(np.round(np.asarray(color, dtype=np.float64)), 0, 255)
    return int(r), int(g), int(b)


def _stroke(draw: ImageDraw.ImageDraw, points: np.ndarray, color, width: float, rng: np.random.Generator):
    """One brush stroke along ``points (n, 2)``: a wide body and a thinner, lighter ridge on top."""
    color = np.asarray(color, dtype=np.float64)
    flat = [float(v) for v in points.ravel()]
    draw.line(flat, fill=_rgb(color * rng.uniform(0.82, 0.95)), width=max(1, int(round(width))), joint="curve")
    ridge = points + rng.normal(0.0, 0.25 * width, 2)
    draw.line([float(v) for v in ridge.ravel()], fill=_rgb(color * rng.uniform(1.0, 1.12) + 10),
              width=max(1, int(round(width * 0.45))), joint="curve")


def smooth_field(rng: np.random.Generator, height: int, width: int, cells: int = 5) -> np.ndarray:
    """A smooth random field ``(height, width)`` in [0, 1]: a coarse grid of uniform values, upsampled bicubically."""
    coarse = rng.uniform(0.0, 255.0, (cells, cells)).astype(np.uint8)
    field = np.asarray(Image.fromarray(coarse, mode="L").resize((width, height), Image.Resampling.BICUBIC))
    field = field.astype(np.float64)
    return (field - field.min()) / max(field.max() - field.min(), 1.0)


def _pick(palette: np.ndarray, t: float, rng: np.random.Generator, jitter: float = 12.0) -> np.ndarray:
    """A colour at position ``t`` in [0, 1] along the palette (linear between entries), with a little jitter."""
    t = float(np.clip(t, 0.0, 1.0)) * (len(palette) - 1)
    low = int(np.floor(t))
    high = min(low + 1, len(palette) - 1)
    return palette[low] + (palette[high] - palette[low]) * (t - low) + rng.normal(0.0, jitter, 3)


def render_swirls(seed: int = SWIRLS_SEED, size: tuple[int, int] = SIZE) -> np.ndarray:
    """The Van Gogh-like picture, ``(height, width, 3)`` uint8."""
    rng = np.random.default_rng(seed)
    w, h = size[0] * SUPERSAMPLE, size[1] * SUPERSAMPLE
    canvas = Image.new("RGB", (w, h), _rgb(SKY[1]))
    draw = ImageDraw.Draw(canvas)
    horizon = 0.72 * h
    # Vortices: centre, strength (sign = turning direction), core radius; the first one is the moon.
    count = 5
    centres = np.column_stack([rng.uniform(0.1, 0.9, count) * w, rng.uniform(0.12, 0.55, count) * h])
    strengths = rng.choice([-1.0, 1.0], count) * rng.uniform(0.6, 1.0, count)
    cores = rng.uniform(0.035, 0.06, count) * w
    cores[0] *= 1.6

    def flow(p: np.ndarray) -> np.ndarray:
        """Unit flow directions at points ``p (n, 2)``: a wavy wind plus the swirls around the vortices."""
        v = np.column_stack([np.ones(len(p)), 0.35 * np.sin(p[:, 0] / w * 2 * np.pi * 1.5 + p[:, 1] / h * 4.0)])
        for c, s, r in zip(centres, strengths, cores):
            d = p - c
            dist2 = (d ** 2).sum(1) + r ** 2
            v += s * 2.2 * r * np.column_stack([-d[:, 1], d[:, 0]]) / dist2[:, None] * np.exp(-dist2 / (9 * r) ** 2)[
                :, None] * 3.0
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    def star_light(p: np.ndarray) -> np.ndarray:
        """How close to a star each point is, 0 (far) to 1 (centre)."""
        light = np.zeros(len(p))
        for c, r in zip(centres, cores):
            light = np.maximum(light, np.exp(-((p - c) ** 2).sum(1) / (2.2 * r) ** 2))
        return light

    # Sky strokes, traced along the flow, longest first so short ones lie on top.
    strokes = 5200
    starts = np.column_stack([rng.uniform(-0.05, 1.05, strokes) * w, rng.uniform(-0.05, 0.8, strokes) * h])
    lengths = rng.integers(6, 16, strokes)
    widths = rng.uniform(2.2, 4.2, strokes) * SUPERSAMPLE
    steps = 2.6 * SUPERSAMPLE
    paths = [starts]
    for _ in range(int(lengths.max())):
        paths.append(paths[-1] + steps * flow(paths[-1]))
    paths = np.stack(paths, axis=1)  # (strokes, steps + 1, 2)
    light = star_light(starts)
    tone = np.clip(starts[:, 1] / horizon * 0.55 + rng.normal(0.0, 0.22, strokes), 0.0, 1.0)
    for i in np.argsort(-lengths, kind="stable"):
        if light[i] > 0.25 and rng.uniform() < light[i] + 0.15:
            color = _pick(STAR, 1.0 - light[i], rng, 10.0)
        else:
            color = _pick(SKY, 1.0 - tone[i] if rng.uniform() < 0.5 else 0.2 + 0.6 * rng.uniform(), rng)
        _stroke(draw, paths[i, :lengths[i] + 1], color, widths[i], rng)
    # Bright cores: short concentric strokes around each star.
    for c, r in zip(centres, cores):
        for _ in range(70):
            radius = r * rng.uniform(0.15, 1.1)
            a0 = rng.uniform(0.0, 2 * np.pi)
            angles = a0 + np.linspace(0.0, rng.uniform(0.6, 1.4), 6)
            ring = c + radius * np.column_stack([np.cos(angles), np.sin(angles)])
            _stroke(draw, ring, _pick(STAR, radius / r * 0.8, rng, 8.0), rng.uniform(2.0, 3.5) * SUPERSAMPLE, rng)
    # Hills: rolling strokes below a wavy horizon line.
    for _ in range(1700):
        y0 = rng.uniform(horizon - 0.04 * h, h * 1.02)
        x0 = rng.uniform(-0.05, 1.05) * w
        x = x0 + np.linspace(0.0, rng.uniform(0.04, 0.09) * w, 6)
        y = y0 + 0.025 * h * np.sin(x / w * 2 * np.pi * 2.0 + y0 / h * 6.0)
        if y.min() < horizon + 0.03 * h * np.sin(x0 / w * 2 * np.pi * 1.3):
            continue
        depth = (y0 - horizon) / (h - horizon)
        _stroke(draw, np.column_stack([x, y]), _pick(HILLS, depth + rng.normal(0.0, 0.2), rng, 8.0),
                rng.uniform(2.5, 4.5) * SUPERSAMPLE, rng)
    # The tree: vertical flame-like strokes in a tall narrow triangle on one side.
    tree_x = (0.1 if rng.uniform() < 0.5 else 0.82) * w + rng.normal(0.0, 0.02 * w)
    top = 0.18 * h
    for _ in range(700):
        v = rng.uniform(0.0, 1.0)  # 0 top, 1 bottom
        half = (0.015 + 0.075 * v) * w
        x0 = tree_x + rng.uniform(-half, half)
        y0 = top + v * (h - top)
        ts = np.linspace(0.0, 1.0, 7)
        x = x0 + 0.012 * w * np.sin(ts * np.pi * 1.5 + rng.uniform(0, 2 * np.pi))
        y = y0 - ts * rng.uniform(0.05, 0.1) * h
        _stroke(draw, np.column_stack([x, y]), _pick(TREE, rng.uniform(), rng, 6.0),
                rng.uniform(2.5, 4.0) * SUPERSAMPLE, rng)
    return np.asarray(canvas.resize(size, Image.Resampling.LANCZOS))


def render_water(seed: int = WATER_SEED, size: tuple[int, int] = SIZE) -> np.ndarray:
    """The Monet-like picture, ``(height, width, 3)`` uint8."""
    rng = np.random.default_rng(seed)
    w, h = size[0] * SUPERSAMPLE, size[1] * SUPERSAMPLE
    hue = smooth_field(rng, h, w, cells=4)
    shade = smooth_field(rng, h, w, cells=7)
    base = np.stack([_pick(WATER, t, rng, 0.0) for t in np.linspace(0, 1, 64)])
    background = base[np.clip((hue * 63).astype(int), 0, 63)] * (0.8 + 0.3 * shade[..., None])
    canvas = Image.fromarray(np.clip(background, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(canvas)
    # Water: short horizontal dabs whose colour follows the colour field.
    dabs = 9000
    xs, ys = rng.uniform(-0.03, 1.03, dabs) * w, rng.uniform(-0.03, 1.03, dabs) * h
    for x, y in zip(xs, ys):
        t = hue[int(np.clip(y, 0, h - 1)), int(np.clip(x, 0, w - 1))]
        color = _pick(WATER, t + rng.normal(0.0, 0.12), rng, 14.0)
        if rng.uniform() < 0.06:
            color = color * 0.5 + np.array([240.0, 236.0, 220.0]) * 0.5  # reflections of the sky
        length = rng.uniform(0.012, 0.035) * w
        angle = rng.normal(0.0, 0.12)
        ts = np.linspace(-0.5, 0.5, 4)[:, None]
        points = np.array([x, y]) + ts * length * np.array([np.cos(angle), np.sin(angle)]) + \
            np.column_stack([np.zeros(4), rng.normal(0.0, 0.6, 4) * SUPERSAMPLE])
        _stroke(draw, points, color, rng.uniform(2.0, 4.0) * SUPERSAMPLE, rng)
    # Lily pads: clusters of flattened green discs made of short curved dabs, some with a flower.
    for _ in range(int(rng.integers(9, 14))):
        cx, cy = rng.uniform(0.05, 0.95) * w, rng.uniform(0.15, 0.95) * h
        scale = (0.4 + cy / h) * 0.05 * w  # nearer pads (lower) are larger
        for _ in range(int(rng.integers(3, 7))):
            px, py = cx + rng.normal(0.0, 1.6 * scale), cy + rng.normal(0.0, 0.5 * scale)
            rx, ry = scale * rng.uniform(0.6, 1.0), scale * rng.uniform(0.25, 0.4)
            green = rng.uniform()
            for _ in range(int(14 + rx / SUPERSAMPLE)):
                r = np.sqrt(rng.uniform())
                a = rng.uniform(0.0, 2 * np.pi)
                angles = a + np.linspace(0.0, 0.5, 4)
                points = np.column_stack([px + r * rx * np.cos(angles), py + r * ry * np.sin(angles)])
                _stroke(draw, points, _pick(PADS, green + rng.normal(0.0, 0.15), rng, 10.0),
                        rng.uniform(1.8, 3.2) * SUPERSAMPLE, rng)
            if rng.uniform() < 0.45:
                fx, fy = px + rng.normal(0.0, 0.2 * rx), py - 0.2 * ry
                for _ in range(14):
                    a = rng.uniform(np.pi, 2 * np.pi)
                    petal = np.array([[fx, fy], [fx + 0.35 * scale * np.cos(a), fy + 0.3 * scale * np.sin(a)]])
                    _stroke(draw, petal, _pick(FLOWERS, rng.uniform(), rng, 8.0),
                            rng.uniform(1.6, 2.6) * SUPERSAMPLE, rng)
    return np.asarray(canvas.resize(size, Image.Resampling.LANCZOS))


MOSAIC = np.array([[184, 86, 52], [206, 128, 62], [222, 178, 96], [64, 150, 150], [36, 96, 120],
                   [232, 220, 190], [120, 52, 40]], dtype=np.float64)


def render_mosaic(seed: int = MOSAIC_SEED, size: tuple[int, int] = SIZE, tile: int = 14) -> np.ndarray:
    """The mosaic, ``(height, width, 3)`` uint8: tiles around the points of a jittered grid, in dark grout."""
    rng = np.random.default_rng(seed)
    w, h = size
    gy, gx = np.mgrid[-tile // 2:h + tile:tile, -tile // 2:w + tile:tile]
    points = np.column_stack([gy.ravel(), gx.ravel()]).astype(np.float64)
    points += rng.uniform(-0.38, 0.38, points.shape) * tile
    # Colours: a smooth field picks the palette position (bands and blobs), each tile jittered.
    field = smooth_field(rng, h + 2 * tile, w + 2 * tile, cells=5)
    index = np.clip(points + tile, 0, [h + 2 * tile - 1, w + 2 * tile - 1]).astype(int)
    colours = np.stack([_pick(MOSAIC, field[i, j] + rng.normal(0.0, 0.08), rng, 14.0) for i, j in index])
    yy, xx = np.mgrid[0:h, 0:w]
    pixels = np.column_stack([yy.ravel(), xx.ravel()]).astype(np.float64)
    nearest = np.empty(len(pixels), dtype=np.int64)
    gap = np.empty(len(pixels))
    for start in range(0, len(pixels), 8192):  # the two nearest points of each pixel, in chunks
        chunk = pixels[start:start + 8192]
        d = np.sqrt(((chunk[:, None, :] - points[None]) ** 2).sum(-1))
        two = np.argpartition(d, 1, axis=1)[:, :2]
        d2 = np.take_along_axis(d, two, axis=1)
        order = np.argsort(d2, axis=1)
        nearest[start:start + 8192] = np.take_along_axis(two, order, axis=1)[:, 0]
        gap[start:start + 8192] = np.abs(d2[:, 1] - d2[:, 0])
    # A little shading inside each tile (lighter towards its top left) and grout where two tiles meet.
    offset = pixels - points[nearest]
    shade = 1.0 + 0.012 * (-offset[:, 0] - offset[:, 1]) + rng.normal(0.0, 0.025, len(pixels))
    image = colours[nearest] * shade[:, None]
    grout = np.clip((gap - 1.1) / 1.2, 0.0, 1.0)[:, None]
    image = image * grout + np.array([46.0, 40.0, 36.0]) * (1 - grout)
    return np.clip(np.round(image), 0, 255).astype(np.uint8).reshape(h, w, 3)


def _ridge(rng: np.random.Generator, width: int, base: float, height: float, roughness: float) -> np.ndarray:
    """A mountain ridge: heights ``(width,)`` from a sum of sines of random phases, finer ones weaker."""
    x = np.linspace(0.0, 1.0, width)
    y = np.zeros(width)
    for octave in range(1, 7):
        y += rng.uniform(0.5, 1.0) * roughness ** octave * np.sin(2 * np.pi * (octave * 1.3 * x + rng.uniform()))
    return base - height * (y - y.min()) / max(y.max() - y.min(), 1e-9)


def render_lake(seed: int = LAKE_SEED, size: int = PHOTO_SIZE) -> np.ndarray:
    """The landscape photograph, ``(size, size, 3)`` uint8."""
    from PIL import ImageFilter

    rng = np.random.default_rng(seed)
    s = size * SUPERSAMPLE
    yy, xx = np.mgrid[0:s, 0:s] / s
    horizon = 0.58
    sky = (np.array([70.0, 120.0, 200.0]) * (1 - yy[..., None] / horizon)
           + np.array([200.0, 215.0, 230.0]) * (yy[..., None] / horizon))
    sun_x, sun_y = rng.uniform(0.6, 0.8), rng.uniform(0.12, 0.22)
    glow = np.exp(-((xx - sun_x) ** 2 + (yy - sun_y) ** 2) / 0.01)
    sky += glow[..., None] * np.array([60.0, 50.0, 20.0])
    clouds = smooth_field(rng, s, s, cells=9) * smooth_field(rng, s, s, cells=5)
    sky = sky * (1 - 0.6 * clouds[..., None]) + 255.0 * 0.6 * clouds[..., None]
    image = sky.copy()
    far = _ridge(rng, s, horizon * s, 0.26 * s, 0.7)
    near = _ridge(rng, s, horizon * s, 0.16 * s, 0.6)
    rows = np.arange(s)[:, None]
    texture = smooth_field(rng, s, s, cells=24)
    for ridge, colour, haze in ((far, np.array([110.0, 120.0, 150.0]), 0.35),
                                (near, np.array([52.0, 80.0, 52.0]), 0.0)):
        mask = (rows >= ridge[None, :]) & (rows < horizon * s)
        lit = colour * (0.75 + 0.5 * texture[..., None]) * (1 - haze) + np.array([200.0, 210.0, 225.0]) * haze
        slope = np.gradient(ridge)[None, :, None]
        lit = lit * (1 + np.clip(slope, -2, 2) * 0.12)
        image = np.where(mask[..., None], lit, image)
        snow = mask & (rows < ridge[None, :] + 0.025 * s) & (ridge[None, :] < (horizon - 0.2) * s)
        image = np.where(snow[..., None], np.array([235.0, 238.0, 245.0]), image)
    # The lake: the scene above the horizon mirrored, darker and bluer, with horizontal ripples.
    top = int(horizon * s)
    source = np.clip(2 * top - np.arange(top, s), 0, top - 1)
    ripple = (3 * SUPERSAMPLE * np.sin(np.arange(s)[:, None] / s * 90 + xx * 8.0)).astype(int)
    columns = np.clip(np.arange(s)[None, :] + ripple, 0, s - 1)
    mirrored = image[source[:, None], columns[top:]]
    water = mirrored * 0.72 + np.array([20.0, 40.0, 70.0]) * 0.28
    image[top:] = water
    # The shore: grass over the bottom, with a ragged edge.
    shore = (0.86 + 0.03 * np.sin(xx[0] * 7 + rng.uniform(0, 6)) + 0.02 * (smooth_field(rng, 1, s, 12)[0] - 0.5)) * s
    grass = (rows >= shore[None, :])
    tone = smooth_field(rng, s, s, cells=40)
    image = np.where(grass[..., None], np.array([70.0, 110.0, 40.0]) * (0.7 + 0.6 * tone[..., None]), image)
    canvas = Image.fromarray(np.clip(image, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(canvas)
    # A red boathouse on the far shore and its reflection.
    bx, bw, bh = rng.uniform(0.15, 0.35) * s, 0.12 * s, 0.06 * s
    by = top - 2
    draw.rectangle([bx, by - bh, bx + bw, by], fill=(168, 46, 36))
    draw.polygon([(bx - 0.01 * s, by - bh), (bx + bw / 2, by - bh - 0.045 * s), (bx + bw + 0.01 * s, by - bh)],
                 fill=(70, 50, 44))
    draw.rectangle([bx + 0.35 * bw, by - 0.55 * bh, bx + 0.6 * bw, by], fill=(240, 230, 210))
    draw.rectangle([bx, by + 2, bx + bw, by + 2 + bh * 0.9], fill=(120, 52, 50))
    canvas = canvas.filter(ImageFilter.GaussianBlur(0.9 * SUPERSAMPLE)).resize((size, size), Image.Resampling.LANCZOS)
    photo = np.asarray(canvas).astype(np.float64) + rng.normal(0.0, 3.0, (size, size, 3))
    return np.clip(np.round(photo), 0, 255).astype(np.uint8)


def hopper_photo(size: int = PHOTO_SIZE) -> np.ndarray:
    """The top square of matplotlib's ``grace_hopper.jpg``, ``(size, size, 3)`` uint8."""
    from matplotlib import cbook

    with Image.open(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)) as photo:
        photo = photo.convert("RGB")
        side = min(photo.size)
        square = photo.crop((0, 0, side, side))
        return np.asarray(square.resize((size, size), Image.Resampling.LANCZOS))


def write_jpeg(path: Path, image: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(path, format="JPEG", quality=JPEG_QUALITY, optimize=False)
    return path


PICTURES = (
    ("swirls.png", SWIRLS_SEED, render_swirls,
     "assignment 05 style picture: swirling night sky of brush strokes (in the manner of Van Gogh)"),
    ("water.png", WATER_SEED, render_water,
     "assignment 05 style picture: water with lily pads in short dabs (in the manner of Monet)"),
    ("mosaic.png", MOSAIC_SEED, render_mosaic, "assignment 05 style picture: tiles in dark grout (a floor mosaic)"),
)
PHOTOS = (
    ("hopper.jpg", None, lambda seed: hopper_photo(),
     "assignment 05 content photograph: top square of matplotlib's sample grace_hopper.jpg (U.S. Navy portrait "
     "NH 96919-KN, public domain), resized with LANCZOS"),
    ("lake.jpg", LAKE_SEED, render_lake, "assignment 05 content photograph: rendered lake landscape"),
)


def build(out) -> list:
    """``course data``: assignment 05's style pictures and content photographs under ``out/art_generation/``.

    Returns ``[(path, seed, description)]``."""
    from course.synth import write_png

    folder = Path(out) / FOLDER
    made = [(write_png(folder / name, render(seed)), seed, f"{what}: {render.__name__}(seed={seed})")
            for name, seed, render, what in PICTURES]
    made += [(write_jpeg(folder / name, render(seed)), seed,
              what if seed is None else f"{what}: render_lake(seed={seed})") for name, seed, render, what in PHOTOS]
    return made
