"""Style transfer with the shipped filters against random ones: time per step, style cost fall, content cost.

Usage: python benchmarks/assignment.py 05 [--size 128] [--steps 150] [--figure docs/05_art_generation.png]

1. Paints two pairs (the Grace Hopper portrait in the swirls style, the lake as a mosaic) at ``--size``
   pixels with the reference solution's costs and the notebook's settings (``ALPHA = 1e7``,
   ``BETA = 40``, Adam 0.02, the content photograph plus uniform noise of +-0.25 to start), once with the
   feature network ``load_vgg`` chooses and once with the same architecture and random filters (the floor).
2. Reports per run the median seconds per step (the first step, which traces the graph, left out), how
   many times the style cost fell from its start and the content cost at the end relative to its start.
3. Scores every result with the chosen network's own style cost, so the two networks meet on one yardstick:
   a transfer that paints the style lowers it, one that only adds noise does not.
4. Writes the side-by-side figure (content, style, chosen network, random floor; one row per pair).

Bars: the chosen network's style cost falls at least 10 times; its content cost ends at most 5 times its
start (the bound the notebook states); on the chosen network's yardstick its results are at least 5 times
closer to the style than the random floor's; at most 1.5 s per step at 192 x 192 scaled by pixels (0.64 s at
128). Exits 1 when a bar is missed.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from course import inprocess, paths, spec
from course.benchmarking import table
from utils import art_generation as ag

ASSIGNMENT = "05_art_generation"
PAIRS = (("hopper.jpg", "swirls.png"), ("lake.jpg", "mosaic.png"))
ALPHA, BETA, LEARNING_RATE, NOISE = 1e7, 40.0, 0.02, 0.25
STYLE_FALL_BAR, CONTENT_BOUND, YARDSTICK_BAR, SECONDS_AT_192 = 10.0, 5.0, 5.0, 1.5
FIGURE = paths.REPO_ROOT / "docs" / "05_art_generation.png"


def transfer(outputs, costs, content, style, steps: int, seed: int = 0) -> dict:
    """Paint ``content`` in the manner of ``style`` through ``outputs`` (a layer-outputs model); the result,
    the costs per step and the seconds per step."""
    import tensorflow as tf
    from tensorflow import keras

    content_cost, style_cost = costs
    a_C, a_S = outputs(content), outputs(style)
    noise = np.random.default_rng(seed).uniform(-NOISE, NOISE, content.shape).astype(np.float32)
    image = tf.Variable(np.clip(content + noise, 0.0, 1.0))
    optimizer = keras.optimizers.Adam(learning_rate=LEARNING_RATE)

    @tf.function
    def step(generated):
        with tf.GradientTape() as tape:
            a_G = outputs(generated)
            J_content, J_style = content_cost(a_C, a_G), style_cost(a_S, a_G)
            J = ALPHA * J_content + BETA * J_style
        optimizer.apply_gradients([(tape.gradient(J, generated), generated)])
        generated.assign(tf.clip_by_value(generated, 0.0, 1.0))
        return J_content, J_style

    history, seconds = [], []
    for _ in range(steps):
        started = time.perf_counter()
        history.append([float(v) for v in step(image)])
        seconds.append(time.perf_counter() - started)
    a_G = outputs(image)
    final = (float(content_cost(a_C, a_G)), float(style_cost(a_S, a_G)))
    return {"image": image.numpy()[0], "start": history[0], "end": final,
            "seconds": float(np.median(seconds[1:])) if steps > 1 else seconds[0]}


def figure(rows: list[list[np.ndarray]], titles: list[str], path: Path) -> Path:
    """The side-by-side figure: one row per pair, a title band over the columns; a 256-colour PNG."""
    from PIL import Image, ImageDraw

    tile = rows[0][0].shape[0]
    band = 16
    sheet = Image.new("RGB", (tile * len(titles), band + tile * len(rows)), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for column, title in enumerate(titles):
        draw.text((column * tile + 3, 2), title, fill=(0, 0, 0))
    for r, row in enumerate(rows):
        for column, image in enumerate(row):
            sheet.paste(ag.tensor_to_image(image), (column * tile, band + r * tile))
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.quantize(256, dither=Image.Dither.NONE).save(path, optimize=True)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks/assignment.py 05", description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--figure", type=Path, default=FIGURE, help="where to write the side-by-side figure")
    args = parser.parse_args(argv)
    from utils.notebook import setup

    setup(seed=0, verbose=False)
    reference = inprocess.solution_namespace(spec.load(ASSIGNMENT))
    style_layers = [(name, 0.2) for name in ag.STYLE_LAYER_NAMES]
    content_cost = reference["compute_content_cost"]

    def style_cost(a_S, a_G):
        return sum(weight * reference["compute_layer_style_cost"](s, g)
                   for (_, weight), s, g in zip(style_layers, a_S[:-1], a_G[:-1]))

    vgg, network = ag.load_vgg()
    print(network)
    layers = style_layers + [(network.content_layer, 1)]
    chosen = ag.get_layer_outputs(vgg, layers)
    floor = ag.get_layer_outputs(ag.random_vgg16(seed=0), style_layers + [(ag.VGG16_CONTENT_LAYER, 1)])
    results, rows, table_rows = {}, [], []
    for photo, picture in PAIRS:
        content, style = ag.load_image(photo, args.size), ag.load_image(picture, args.size)
        for name, outputs in (("chosen", chosen), ("random floor", floor)):
            run = transfer(outputs, (content_cost, style_cost), content, style, args.steps)
            # The chosen network's style cost of the result: one yardstick for both networks.
            run["yardstick"] = float(style_cost(chosen(style), chosen(run["image"][None])))
            results[photo, name] = run
            (c0, s0), (c1, s1) = run["start"], run["end"]
            table_rows.append([f"{photo} + {picture}", name, f"{run['seconds']:.3f}", f"{s0:.3g} -> {s1:.3g}",
                               f"{s0 / s1:.0f}", f"{c0:.3g} -> {c1:.3g}", f"{c1 / c0:.2f}", f"{run['yardstick']:.3g}"])
        rows.append([content[0], style[0], results[photo, "chosen"]["image"], results[photo, "random floor"]["image"]])
    print(f"\n{args.steps} steps at {args.size} x {args.size}, ALPHA={ALPHA:g}, BETA={BETA:g}, Adam {LEARNING_RATE}")
    print(table(["pair", "network", "s/step", "J_style", "style fell x", "J_content", "content end/start",
                 "chosen net's J_style of the result"], table_rows))
    written = figure(rows, ["content", "style", network.name.split()[0], "random filters"], args.figure)
    print(f"\nwrote {written} ({written.stat().st_size / 1e3:.0f} KB)")

    step_bar = SECONDS_AT_192 * (args.size / 192) ** 2
    checks = []
    for photo, _ in PAIRS:
        run, low = results[photo, "chosen"], results[photo, "random floor"]
        fall = run["start"][1] / run["end"][1]
        drift = run["end"][0] / run["start"][0]
        closer = low["yardstick"] / run["yardstick"]
        checks += [(f"{photo}: style cost fall (chosen)", fall, f">= {STYLE_FALL_BAR:g}", fall >= STYLE_FALL_BAR),
                   (f"{photo}: content cost end / start (chosen)", drift, f"<= {CONTENT_BOUND:g}",
                    drift <= CONTENT_BOUND),
                   (f"{photo}: random floor / chosen on the yardstick", closer, f">= {YARDSTICK_BAR:g}",
                    closer >= YARDSTICK_BAR),
                   (f"{photo}: s/step (chosen)", run["seconds"], f"<= {step_bar:.2f}", run["seconds"] <= step_bar)]
    print()
    print(table(["measure", "value", "bar", "ok"],
                [[name, f"{value:.3f}", bar, "yes" if ok else "NO"] for name, value, bar, ok in checks]))
    return 0 if all(ok for *_, ok in checks) else 1


if __name__ == "__main__":
    raise SystemExit(main())
