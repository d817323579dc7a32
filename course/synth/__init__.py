"""Deterministic generators of every course dataset.

``course data`` (``make data``) calls :func:`build_all`, which runs the
``build(out)`` of every module here that has one (faces, hands, roads), writing
the h5 files and pictures under ``datasets/`` and recording their sha256 in
the manifest. The same seed gives the same bytes on any machine with the lock
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


def generators() -> list:
    """The generator modules of ``course/synth/``: every module that defines ``build(out)``, by name."""
    import importlib
    import pkgutil

    modules = [importlib.import_module(f"{__name__}.{info.name}") for info in pkgutil.iter_modules(__path__)]
    return [module for module in sorted(modules, key=lambda m: m.__name__) if hasattr(module, "build")]


def build_all(out_dir: Path | None = None, record: bool = True) -> list[Path]:
    """Generate every dataset into ``out_dir`` (default ``datasets/``). Returns the written paths.

    Each generator module's ``build(out)`` writes its files and returns
    ``[(path, seed, description)]``; a new dataset needs only its own module.
    """
    from utils.data import record_in_manifest

    out = Path(out_dir) if out_dir else paths.data_dir()
    made = [entry for module in generators() for entry in module.build(out)]
    if record and out == paths.data_dir():
        for path, seed, what in made:
            record_in_manifest([path], "course data", seed=seed, made_by=f"course.synth: {what}")
    return [path for path, _, _ in made]
