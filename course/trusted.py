"""Verdicts decided outside the student's process.

For each grading run and assignment, :func:`make_plan` draws fresh seeds for
every probe argument that is a seed (``seed`` or ``*_seed``) and writes the
plan the sandboxed kernel follows (:mod:`utils.checking.observe`).
:func:`course.references.reference_values` computes, in this trusted process, what the reference
solution gives on those arguments. After the kernel has run,
:func:`judge` reads the observations it left and compares them with those
references:

* a value probe's observation is the student's result on the fresh seeds; to
  make it match, the code has to compute the right thing (the kernel never sees
  the expected values, and the seeds are new for every run);
* a model probe's observation is the student's Keras model configuration; this
  process checks it holds nothing but Keras' own classes, rebuilds it and
  measures it itself, so a patched summary or parameter count in the kernel
  changes nothing.

The notebook's own verdict of each test cell (did it raise?) is compared too:
where it and the trusted verdict on the cell's public probes disagree, the cell
is flagged for the instructor ("verdicts differ"); a student who patched the
checks sees a passing cell that the grader failed. Observations are untrusted input: size-capped,
parsed as JSON and NumPy arrays without pickle, and any problem with them fails
the probe.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from course.spec import Assignment
from utils.checking.compare import decode
from utils.checking.observe import file_stem
from utils.checking.store import resolve_runner

MAX_OBSERVATION_BYTES = 50 << 20  # a ResNet50 configuration is ~0.3 MB; arrays here are small
KERAS_MODULE = re.compile(r"^keras(\.[A-Za-z0-9_]+)*$")
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
REFUSED_CLASSES = {"Lambda", "TFOpLambda", "__lambda__", "function"}


@dataclass
class CellVerdict:
    passed: bool
    problems: list[str] = field(default_factory=list)
    kernel_passed: bool | None = None  # what the notebook showed for the cell, None when it did not run
    verdicts_differ: bool = False


def is_seed(name: str) -> bool:
    return name == "seed" or name.endswith("_seed")


def builds_model(runner) -> bool:
    return hasattr(runner, "build") and hasattr(runner, "measure")


def make_plan(spec: Assignment, rng: np.random.Generator) -> tuple[dict, dict]:
    """``(kernel plan, trusted arguments per probe key)`` with fresh seeds for this run."""
    plan = {"assignment": spec.id, "probes": []}
    trusted_args = {}
    for cell, probe in spec.probes():
        args = {k: (int(rng.integers(1_000, 2**31 - 1)) if is_seed(k) else v) for k, v in probe.args.items()}
        model = builds_model(resolve_runner(probe.run))
        plan["probes"].append({
            "key": probe.key, "cell": cell.grade_id, "hidden": probe.hidden, "run": probe.run,
            "mode": "model" if model else "value",
            # A model probe's kernel only builds the model; the seeds stay here.
            "args": {k: v for k, v in args.items() if not is_seed(k)} if model else args,
        })
        trusted_args[probe.key] = args
    return plan, trusted_args


# ---------------------------------------------------------------------------
# Reading what the kernel left
# ---------------------------------------------------------------------------


def _read_json(path: Path):
    if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_OBSERVATION_BYTES:
        raise ValueError(f"{path.name} is missing, not a plain file, or too large")
    return json.loads(path.read_text())


def read_observation(folder: Path, key: str) -> dict:
    """``{"value": ...}``, ``{"model": json text}`` or ``{"error": text}``; a missing file is an error."""
    stem = file_stem(key)
    if not (folder / f"{stem}.json").exists():
        return {"missing": "no result recorded: the test cell stopped before this check ran "
                           "(an earlier check in the cell failed, an error, or a timeout)"}
    try:
        document = _read_json(folder / f"{stem}.json")
        if not isinstance(document, dict) or document.get("key") != key:
            raise ValueError("the observation does not belong to this probe")
        arrays = {}
        npz = folder / f"{stem}.npz"
        if npz.exists():
            if npz.is_symlink() or npz.stat().st_size > MAX_OBSERVATION_BYTES:
                raise ValueError("the array file is not a plain file, or too large")
            with np.load(npz, allow_pickle=False) as store:
                arrays = {name: store[name] for name in store.files}
        if "error" in document:
            return {"error": str(document["error"])[:2000]}
        if "model" in document and isinstance(document["model"], str):
            return {"model": document["model"]}
        if "value" in document:
            return {"value": decode(document["value"], arrays)}
        raise ValueError("the observation holds no value")
    except (OSError, ValueError, KeyError, TypeError) as error:
        return {"missing": f"unreadable observation ({type(error).__name__}: {error})"}


def notebook_verdicts(notebook: dict) -> dict[str, bool]:
    """Per test cell of an autograded notebook: did it run without an error or stderr (nbgrader's view)?

    The notebook is untrusted; this is only compared with the trusted verdict, never scored.
    """
    found = {}
    for cell in notebook.get("cells", []) if isinstance(notebook, dict) else []:
        meta = cell.get("metadata", {}).get("nbgrader", {}) if isinstance(cell, dict) else {}
        if isinstance(meta, dict) and meta.get("grade") and not meta.get("solution") and meta.get("grade_id"):
            outputs = cell.get("outputs", []) if isinstance(cell.get("outputs"), list) else []
            failed = any(isinstance(o, dict) and (o.get("output_type") == "error" or o.get("name") == "stderr")
                         for o in outputs)
            found[str(meta["grade_id"])] = not failed
    return found


# ---------------------------------------------------------------------------
# Rebuilding a student's model safely
# ---------------------------------------------------------------------------


def check_keras_config(node, depth: int = 0) -> None:
    """Refuse a model configuration that names anything but Keras' own classes (no Lambda, no custom code)."""
    if depth > 200:
        raise ValueError("the model configuration is nested too deeply")
    if isinstance(node, dict):
        module, name = node.get("module"), node.get("class_name")
        if module is not None and not (isinstance(module, str) and KERAS_MODULE.match(module)):
            raise ValueError(f"the model uses {module}.{name}, which is not part of Keras")
        if name is not None and (not isinstance(name, str) or not IDENTIFIER.match(name) or name in REFUSED_CLASSES):
            raise ValueError(f"the model uses {name!r}, which the grader does not rebuild "
                             "(use Keras layers and operations, not Lambda layers or custom classes)")
        if "registered_name" in node and node["registered_name"] not in (None, name):
            raise ValueError(f"the model uses a registered custom object {node['registered_name']!r}")
        for value in node.values():
            check_keras_config(value, depth + 1)
    elif isinstance(node, list):
        for value in node:
            check_keras_config(value, depth + 1)


class ModelCache:
    """Rebuilt models by configuration, so one configuration is rebuilt once per submission."""

    def __init__(self):
        self.models: dict[str, object] = {}

    def rebuild(self, text: str):
        if text not in self.models:
            import keras

            check_keras_config(json.loads(text))
            self.models[text] = keras.models.model_from_json(text)
        return self.models[text]


# ---------------------------------------------------------------------------
# The verdicts
# ---------------------------------------------------------------------------


def judge(spec: Assignment, folder: Path, reference: dict, trusted_args: dict,
          kernel: dict[str, bool] | None = None) -> dict[str, CellVerdict]:
    """The trusted verdict of every test cell of one submission, from the observations in ``folder``.

    ``kernel`` is the notebook's own verdict per cell (:func:`notebook_verdicts`), used only to flag
    cells where the two disagree."""
    models = ModelCache()
    kernel = kernel or {}
    verdicts = {}
    for cell in spec.tests:
        problems, public_problems = [], []
        for probe in cell.probes:
            problem = _judge_probe(probe, read_observation(folder, probe.key), reference[probe.key],
                                   trusted_args[probe.key], models)
            if problem:
                problems.append(f"{probe.key}: {problem}")
                if not probe.hidden:
                    public_problems.append(problem)
        verdict = CellVerdict(passed=not problems, problems=problems, kernel_passed=kernel.get(cell.grade_id))
        # Flag a cell whose in-kernel check disagrees with this process on the probes it could see.
        if verdict.kernel_passed is not None:
            verdict.verdicts_differ = verdict.kernel_passed == bool(public_problems)
        verdicts[cell.grade_id] = verdict
    return verdicts


def _judge_probe(probe, observation: dict, expected, args: dict, models: ModelCache) -> str | None:
    if "missing" in observation:
        return observation["missing"]
    if "error" in observation:
        return f"your code raised {observation['error']}"
    runner = resolve_runner(probe.run)
    if builds_model(runner) != ("model" in observation):
        return "the recorded result has the wrong form (a model probe needs the model, a value probe its value)"
    if "model" in observation:
        try:
            got = runner.measure(models.rebuild(observation["model"]), **args)
        except Exception as error:  # noqa: BLE001  (a configuration Keras cannot rebuild or measure)
            return f"the grader could not rebuild your model: {type(error).__name__}: {str(error)[:300]}"
    else:
        got = observation["value"]
    try:
        return probe.compare.difference(got, expected)
    except Exception as error:  # noqa: BLE001  (an observation of the wrong form)
        return f"could not compare the result: {type(error).__name__}: {error}"
