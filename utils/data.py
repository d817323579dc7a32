"""Dataset loaders with integrity checks.

Every committed data file is listed in ``datasets/manifest.json`` with its
sha256. Loaders verify the hash before reading, so a truncated download, a
merge accident or an edited file gives a clear message instead of a strange
training curve.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from utils import paths

MANIFEST_NAME = "manifest.json"
REGENERATE_HINT = (
    "Regenerate it with `make data` (or `course data`) from the repository root, "
    "or restore the committed copy with `git checkout -- datasets/`."
)


class DatasetError(RuntimeError):
    """A data file is missing, corrupt or unreadable. The message says how to fix it."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def manifest_path() -> Path:
    return paths.data_dir() / MANIFEST_NAME


def read_manifest() -> dict:
    """The manifest as a dict ``{"files": {relative_path: entry}}``."""
    path = manifest_path()
    if not path.exists():
        raise DatasetError(f"The dataset manifest {path} is missing. {REGENERATE_HINT}")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise DatasetError(f"The dataset manifest {path} is not valid JSON ({error}). {REGENERATE_HINT}")


@lru_cache(maxsize=None)
def _verified(path: Path, relative: str, size: int, mtime_ns: int, manifest_mtime_ns: int) -> Path:
    # Cached on the file's and the manifest's (size, mtime) so each file is hashed
    # once per process and again only if it, or the manifest, changes on disk.
    entry = read_manifest()["files"].get(relative)
    if entry is None:
        raise DatasetError(f"{path} is not listed in {manifest_path()}. {REGENERATE_HINT}")
    actual = sha256_of(path)
    if actual != entry["sha256"]:
        raise DatasetError(
            f"{path} is corrupt or has been modified: its sha256 is {actual[:12]}..., "
            f"the manifest expects {entry['sha256'][:12]}.... {REGENERATE_HINT}"
        )
    return path


def verified_path(relative: str) -> Path:
    """Absolute path of a data file after checking it against the manifest.

    Raises:
        DatasetError: the file is missing, unlisted or its hash differs.
    """
    path = paths.data_dir() / relative
    if not path.exists():
        raise DatasetError(f"The data file {path} is missing. {REGENERATE_HINT}")
    stat = path.stat()
    manifest = manifest_path()
    manifest_mtime = manifest.stat().st_mtime_ns if manifest.exists() else -1
    return _verified(path, relative, stat.st_size, stat.st_mtime_ns, manifest_mtime)


def load_network_weights(model, relative: str, what: str, rebuild: str):
    """Load a shipped network's weights into ``model`` after checking the file against the manifest.

    ``what`` names the network in the error ("the detector's weights"), ``rebuild`` the command that
    retrains it. Returns ``model``.
    """
    path = verified_path(relative)
    try:
        model.load_weights(path)
    except (OSError, ValueError) as error:
        raise DatasetError(f"Could not load {what} from {path}: {error}. Restore them with "
                           f"`git checkout -- datasets/` or rebuild them with `{rebuild}`.") from error
    return model


def load_h5_dataset(relative: str):
    """Read a classic course h5 file.

    Returns:
        X_train: uint8 (m_train, H, W, 3)
        Y_train: int64 (1, m_train)
        X_test:  uint8 (m_test, H, W, 3)
        Y_test:  int64 (1, m_test)
        classes: int64 (n_classes,)
    """
    import h5py

    path = verified_path(relative)
    try:
        with h5py.File(path, "r") as store:
            X_train = np.array(store["train_set_x"][:])
            Y_train = np.array(store["train_set_y"][:]).reshape(1, -1)
            X_test = np.array(store["test_set_x"][:])
            Y_test = np.array(store["test_set_y"][:]).reshape(1, -1)
            classes = np.array(store["list_classes"][:])
    except (OSError, KeyError) as error:
        raise DatasetError(f"Could not read {path}: {error}. {REGENERATE_HINT}") from error
    return X_train, Y_train, X_test, Y_test, classes


def load_happy_dataset():
    """The Happy House faces: 900 train and 150 test 64x64 RGB images.

    Returns ``(X_train, Y_train, X_test, Y_test, classes)`` where the images are
    uint8 ``(m, 64, 64, 3)``, the labels int64 ``(1, m)`` with 1 = smiling, and
    ``classes`` is ``[0, 1]``.
    """
    return load_h5_dataset("happy/happy.h5")


def load_signs_dataset():
    """The SIGNS hands: 1080 train and 120 test 64x64 RGB images of 0-5 raised fingers.

    Returns ``(X_train, Y_train, X_test, Y_test, classes)`` where the images are
    uint8 ``(m, 64, 64, 3)``, the labels int64 ``(1, m)`` in 0..5, and
    ``classes`` is ``[0, 1, 2, 3, 4, 5]``.
    """
    return load_h5_dataset("signs/signs.h5")


def load_image(relative: str) -> np.ndarray:
    """A bundled picture as a uint8 ``(H, W, 3)`` array (hash-checked)."""
    from PIL import Image

    with Image.open(verified_path(relative)) as image:
        return np.asarray(image.convert("RGB"))


def convert_to_one_hot(Y, C: int) -> np.ndarray:
    """One-hot encode labels, the classic way.

    Args:
        Y: integer labels, any shape with m elements (e.g. ``(1, m)``), values in ``0..C-1``.
        C: number of classes.

    Returns:
        float array of shape ``(C, m)``: column j is the one-hot vector of ``Y[j]``.
        (Transpose it, ``.T``, for Keras, which wants ``(m, C)``.)
    """
    labels = np.asarray(Y).reshape(-1)
    if labels.size and (labels.min() < 0 or labels.max() >= C):
        raise ValueError(f"convert_to_one_hot: labels must be in 0..{C - 1}, got values {labels.min()}..{labels.max()}")
    return np.eye(C)[labels].T


def record_in_manifest(files, generator: str, **details) -> None:
    """Add or refresh manifest entries (sha256, size, how to regenerate) for written files."""
    path = manifest_path()
    manifest = json.loads(path.read_text()) if path.exists() else {"files": {}}
    root = paths.data_dir()
    for file in files:
        file = Path(file)
        relative = file.relative_to(root).as_posix()
        manifest["files"][relative] = {
            "sha256": sha256_of(file),
            "bytes": file.stat().st_size,
            "generator": generator,
            **details,
        }
    manifest["files"] = dict(sorted(manifest["files"].items()))
    path.write_text(json.dumps(manifest, indent=2) + "\n")
    _verified.cache_clear()
