"""Deterministic generators of every course dataset.

``course data`` (``make data``) calls :func:`build_all`, which writes the h5
files and pictures under ``datasets/`` and records their sha256 in the
manifest. The same seed gives the same bytes on any machine with the lock
installed: the generators use only NumPy's ``Generator`` and Pillow drawing,
and the h5 files are written without timestamps.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from utils import paths

H5_KEYS = ("train_set_x", "train_set_y", "test_set_x", "test_set_y", "list_classes")


def write_h5(path: Path, arrays: dict) -> Path:
    """Write the classic course h5 layout, reproducibly (no timestamps, fixed compression)."""
    import h5py

    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w", libver="earliest", track_order=False) as store:
        for key in H5_KEYS:
            data = np.asarray(arrays[key])
            options = {"compression": "gzip", "compression_opts": 6, "shuffle": True} if data.ndim > 1 else {}
            store.create_dataset(key, data=data, track_times=False, **options)
    return path


def write_png(path: Path, image: np.ndarray) -> Path:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(path, format="PNG", optimize=False, compress_level=9)
    return path


def build_all(out_dir: Path | None = None, record: bool = True) -> list[Path]:
    """Generate every dataset into ``out_dir`` (default ``datasets/``). Returns the written paths."""
    from utils.data import record_in_manifest
    from course.synth.faces import generate_happy, render_face
    from course.synth.hands import generate_signs

    out = Path(out_dir) if out_dir else paths.data_dir()
    made = [  # (path, seed, what)
        (write_h5(out / "happy" / "happy.h5", generate_happy(seed=0)), 0,
         "Happy House faces: generate_happy(n_train=900, n_test=150, seed=0)"),
        (write_h5(out / "signs" / "signs.h5", generate_signs(seed=1)), 1,
         "SIGNS hands: generate_signs(n_train=1080, n_test=120, seed=1)"),
        (write_png(out / "images" / "visitor.png", render_face(np.random.default_rng(7), size=256, smiling=True)), 7,
         "assignment 01 picture: render_face(default_rng(7), size=256, smiling=True)"),
    ]
    from course.synth.roads import TEST_FRAMES_SEED, write_test_frames

    made += [(path, TEST_FRAMES_SEED, f"assignment 03 test frame: write_test_frames(seed={TEST_FRAMES_SEED})")
             for path in write_test_frames(out / "car_detection" / "frames")]
    if record and out == paths.data_dir():
        for path, seed, what in made:
            record_in_manifest([path], "course data", seed=seed, made_by=f"course.synth: {what}")
    return [path for path, _, _ in made]
