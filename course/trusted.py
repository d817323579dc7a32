"""Verdicts decided outside the student's process.

For each submission, :func:`make_plan` draws seeds of its own (from the
generator the grader derives from the submission and the class's secret) for
every probe argument that is a seed (``seed`` or ``*_seed``) and writes the
plan the sandboxed kernel follows (:mod:`utils.checking.observe`).
:func:`course.references.reference_values` computes, in this trusted process, what the reference
solution gives on those arguments. After the kernel has run,
:func:`judge` reads the observations it left and compares them with those
references:

* a value probe's observation is the student's result on the fresh seeds; to
  make it match, the code has to compute the right thing (the kernel never sees
  the expected values, and the seeds differ from one submission to the next);
* a model probe's observation is the student's Keras model configuration; this
  process checks it holds nothing but Keras' own classes, rebuilds it and
  measures it itself, so a patched summary or parameter count in the kernel
  changes nothing.

The notebook's own verdict of each test cell (did it raise?) is compared too:
where it and the trusted verdict on the cell's public probes disagree, the cell
is flagged for the instructor ("verdicts differ"); a student who patched the
checks sees a passing cell that the grader failed. Observations are hostile input
(:mod:`course.untrusted`, :mod:`course.model_guard`): read without following links,
size-capped, depth-bounded, parsed as JSON and NumPy arrays without pickle, and
any problem with them fails the probe. :mod:`course.judge` runs all of this in
a capped child process per submission.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from course import model_guard, untrusted
from course.spec import Assignment
from utils.checking.compare import decode
from utils.checking.observe import file_stem
from utils.checking.store import resolve_runner

MAX_OBSERVATION_BYTES = 4 << 20  # a ResNet50 configuration is 0.17 MB; the largest probe's arrays 0.1 MB


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
    """``(kernel plan, trusted arguments per probe key)`` with seeds drawn from ``rng`` (one submission's)."""
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


def read_observation(folder: Path, key: str) -> dict:
    """``{"value": ...}``, ``{"model": config}`` or ``{"error": text}``; anything else is ``{"missing": why}``.

    ``folder`` is the grader's copy of the submission's observations (see
    :func:`course.untrusted.extract_export`); each file is still read as hostile
    input: no link followed, a regular file, size-capped, depth-bounded JSON, and
    arrays checked before they are expanded (only for a value probe)."""
    stem = file_stem(key)
    try:
        raw = untrusted.read_file(folder, f"{stem}.json", MAX_OBSERVATION_BYTES)
    except FileNotFoundError:
        return {"missing": "no result recorded: the test cell stopped before this check ran "
                           "(an earlier check in the cell failed, an error, or a timeout)"}
    except (OSError, untrusted.Refused) as error:
        return {"missing": f"unreadable observation ({error})"}
    try:
        document = untrusted.loads_json(raw)
        if not isinstance(document, dict) or document.get("key") != key:
            raise untrusted.Refused("the observation does not belong to this probe")
        if "error" in document:
            return {"error": str(document["error"])[:2000]}
        if "model" in document and isinstance(document["model"], str):
            return {"model": untrusted.loads_json(document["model"])}
        if "value" not in document:
            raise untrusted.Refused("the observation holds no value")
        arrays = {}
        try:
            arrays = untrusted.load_npz(untrusted.read_file(folder, f"{stem}.npz", MAX_OBSERVATION_BYTES),
                                        MAX_OBSERVATION_BYTES)
        except FileNotFoundError:
            pass
        return {"value": decode(document["value"], arrays)}
    except (OSError, untrusted.Refused, KeyError, TypeError, ValueError) as error:
        return {"missing": f"unreadable observation ({type(error).__name__}: {error})"[:500]}


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


class ModelCache:
    """Rebuilt models by configuration, so one configuration is rebuilt once per submission.

    A configuration is checked (:func:`course.model_guard.check_model_config`:
    an allow-list of classes and size bounds) before it is built, and built with
    Keras' safe mode on."""

    def __init__(self):
        self.models: dict[str, object] = {}

    def rebuild(self, config: dict):
        text = json.dumps(config, sort_keys=True)
        if text not in self.models:
            import keras
            from keras.src.saving import serialization_lib

            model_guard.check_model_config(config)
            with serialization_lib.SafeModeScope(True):
                self.models[text] = keras.models.model_from_json(json.dumps(model_guard.model_for_building(config)))
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
        except untrusted.Refused as error:
            return f"the grader did not rebuild your model: {error}"
        except Exception as error:  # noqa: BLE001  (a configuration Keras cannot rebuild or measure)
            return f"the grader could not rebuild your model: {type(error).__name__}: {str(error)[:300]}"
    else:
        got = observation["value"]
    try:
        return probe.compare.difference(got, expected)
    except Exception as error:  # noqa: BLE001  (an observation of the wrong form)
        return f"could not compare the result: {type(error).__name__}: {error}"
