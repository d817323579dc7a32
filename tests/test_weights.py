"""The pretrained-network slots (course/weights/): discovery, `course weights`, model cards, determinism."""

import hashlib
import inspect
import json
import re
import sys

import pytest

from course import cli, paths, spec, weights
from utils import data
from utils import paths as data_paths

CARD_ROW = re.compile(r"^\| ([^|]+?) \| (.*) \|$")
CARD_FILE = re.compile(r"`([^`]+)` sha256 `([0-9a-f]{64})`")


def _card_rows(path) -> list[tuple[str, str]]:
    """``(field, value)`` of each row of a model card's table, in order (the header and rule excluded)."""
    rows = [CARD_ROW.match(line) for line in path.read_text().splitlines()]
    rows = [(m.group(1).strip(), m.group(2).strip()) for m in rows if m]
    return [(field, value) for field, value in rows if field not in ("field", "---")]


def test_discovery_finds_the_car_detection_network():
    from course.weights import car_detection

    found = weights.slots()
    assert car_detection in found
    assert car_detection.ASSIGNMENT == "03_car_detection" and car_detection.SEED == 1000
    assert car_detection.CARD == "docs/model_cards/03_car_detection.md"
    assert weights.slots_for(["03"]) == [car_detection]
    assert weights.slots_for(None) == found


@pytest.mark.parametrize("slot", weights.slots(), ids=lambda m: m.__name__)
def test_every_slot_belongs_to_an_assignment_and_has_the_one_signature(slot):
    assert slot.ASSIGNMENT in spec.ids()
    assert slot.SEED is None or isinstance(slot.SEED, int)
    assert list(inspect.signature(slot.build).parameters) == ["out", "seed", "log"]


def test_an_assignment_without_a_network_is_named_in_the_error():
    with pytest.raises(KeyError, match="01_happy_house declares no pretrained network"):
        weights.slots_for(["01"])
    with pytest.raises(SystemExit, match="course weights: 01_happy_house declares no pretrained network"):
        cli.main(["weights", "01"])


@pytest.fixture
def extra_slot_folder(tmp_path, monkeypatch):
    """A second folder of ``course.weights`` for test modules; they leave ``sys.modules`` afterwards."""
    folder = tmp_path / "slots"
    folder.mkdir()
    monkeypatch.setattr(weights, "__path__", [*weights.__path__, str(folder)])
    yield folder
    for name, module in list(sys.modules.items()):
        if str(getattr(module, "__file__", "") or "").startswith(str(folder)):
            del sys.modules[name]


def test_a_module_with_build_but_not_the_whole_slot_is_refused(extra_slot_folder):
    (extra_slot_folder / "half_slot.py").write_text(
        "ASSIGNMENT = '01_happy_house'\n\ndef build(out, seed, log=print):\n    return []\n")
    with pytest.raises(ValueError, match="course.weights.half_slot defines build but not SEED, CARD"):
        weights.slots()


def test_two_networks_for_one_assignment_are_refused(extra_slot_folder):
    (extra_slot_folder / "second_detector.py").write_text(
        "ASSIGNMENT = '03_car_detection'\nSEED = 1\nCARD = 'x.md'\n\ndef build(out, seed, log=print):\n    return []\n")
    with pytest.raises(ValueError, match="both build the network of 03_car_detection"):
        weights.slots()


def test_course_weights_runs_the_slot_and_records_what_it_wrote(extra_slot_folder, tmp_path, monkeypatch, capsys):
    """`course weights` with a stand-in slot writing into a temporary data folder: the manifest gets each
    file's sha256 (computed here with hashlib), the seed (the slot's own, or --seed) and the slot's name."""
    (extra_slot_folder / "stand_in.py").write_text(
        "from pathlib import Path\n\nASSIGNMENT = '01_happy_house'\nSEED = 5\nCARD = 'docs/model_cards/x.md'\n\n"
        "def build(out, seed, log=print):\n"
        "    path = Path(out) / 'stand_in' / 'net.bin'\n"
        "    path.parent.mkdir(parents=True, exist_ok=True)\n"
        "    path.write_bytes(bytes([seed]) * 10)\n"
        "    log('built')\n"
        "    return [path]\n")
    data_dir = tmp_path / "datasets"
    monkeypatch.setenv("COURSE_DATA_DIR", str(data_dir))
    assert cli.main(["weights", "01"]) == 0
    entry = json.loads((data_dir / "manifest.json").read_text())["files"]["stand_in/net.bin"]
    assert entry == {"sha256": hashlib.sha256(bytes([5]) * 10).hexdigest(), "bytes": 10,
                     "generator": "course weights", "seed": 5, "made_by": "course.weights.stand_in: build(seed=5)"}
    out = capsys.readouterr().out
    assert "built" in out and "`course references 01_happy_house`" in out
    assert cli.main(["weights", "happy_house", "--seed", "9"]) == 0
    entry = json.loads((data_dir / "manifest.json").read_text())["files"]["stand_in/net.bin"]
    assert entry["sha256"] == hashlib.sha256(bytes([9]) * 10).hexdigest() and entry["seed"] == 9


def test_the_shared_commands_name_no_assignment():
    """The weights command and `make weights` work for any slot: no assignment or detector words in them."""
    source = inspect.getsource(cli.cmd_weights) + (paths.REPO_ROOT / "Makefile").read_text()
    parser_lines = [line for line in inspect.getsource(cli.main).splitlines() if "weights" in line]
    text = source + "\n".join(parser_lines)
    for assignment in spec.ids():
        number, _, short = assignment.partition("_")
        assert assignment not in text and short not in text and f"references {number}" not in text, assignment
    for word in ("--frames", "--epochs", "--batch", "detector", "yolo"):
        assert word not in text, word


def test_the_car_detection_build_is_the_recorded_training_run(monkeypatch, tmp_path):
    """build() trains with the settings the shipped detector's training.json records (9000 frames, 7 epochs,
    batch 32, seed 1000), into the folder the runtime reads (datasets/car_detection/)."""
    from course.weights import car_detection
    from utils import car_detection_yolo as yolo

    calls = []
    monkeypatch.setattr(car_detection, "train", lambda *args, **kwargs: calls.append(args) or ({}, ["written"]))
    assert car_detection.build(tmp_path, car_detection.SEED, log=print) == ["written"]
    recorded = json.loads((data_paths.data_dir() / yolo.DATA / "training.json").read_text())
    frames, epochs, batch, seed, out_dir = calls[0]
    assert (frames, epochs, batch, seed) == (recorded["frames"], recorded["epochs"], recorded["batch"],
                                             recorded["seed"])
    assert out_dir == tmp_path / "car_detection" == tmp_path / yolo.DATA


@pytest.mark.parametrize("slot", weights.slots(), ids=lambda m: m.__name__)
def test_every_network_has_a_model_card_with_every_field_and_the_manifest_hashes(slot):
    card = weights.card_path(slot)
    assert card.exists(), \
        f"{slot.__name__}: write its model card {slot.CARD} (fields: {', '.join(weights.CARD_FIELDS)})"
    assert card.parent == paths.REPO_ROOT / "docs" / "model_cards" and card.stem == slot.ASSIGNMENT
    rows = _card_rows(card)
    assert [field for field, _ in rows] == list(weights.CARD_FIELDS), f"{slot.CARD}: fields out of layout"
    values = dict(rows)
    assert all(values.values()), f"{slot.CARD}: a field is empty"
    if slot.SEED is not None:
        assert str(slot.SEED) in values["seed"]
    assert f"course weights {slot.ASSIGNMENT.partition('_')[0]}" in values["command"]
    listed = dict(CARD_FILE.findall(values["files"]))
    assert listed, f"{slot.CARD}: the files row lists no `path` sha256 `hash`"
    manifest = data.read_manifest()["files"]
    for path, sha in listed.items():
        assert path in manifest, f"{slot.CARD} lists {path}, which datasets/manifest.json does not"
        assert manifest[path]["sha256"] == sha, f"{slot.CARD}: the sha256 of {path} differs from the manifest's"
        assert manifest[path]["generator"] == "course weights", path


def test_every_file_course_weights_made_is_on_a_model_card():
    listed = set()
    for slot in weights.slots():
        listed |= set(CARD_FILE.findall(dict(_card_rows(weights.card_path(slot)))["files"]))
    made = {(path, entry["sha256"]) for path, entry in data.read_manifest()["files"].items()
            if entry["generator"] == "course weights"}
    assert made == listed


@pytest.mark.slow
def test_training_is_deterministic_given_the_seed(tmp_path, tf):
    """Two short runs with one seed write byte-identical weights, anchors and classes; another seed writes
    other weights (so the comparison can fail). About 8 s on 2 cores, most of it tracing the graph."""
    from course.weights.car_detection import train

    def run(folder, seed):
        _, written = train(frames=8, epochs=1, batch=4, seed=seed, out_dir=tmp_path / folder, log=lambda line: None)
        return {p.name: p.read_bytes() for p in written if p.name != "training.json"}  # it records the time

    first, again, other = run("a", 7), run("b", 7), run("c", 8)
    assert sorted(first) == ["anchors.txt", "classes.txt", "tiny_yolo.weights.h5"]
    for name in first:
        assert first[name] == again[name], f"{name} differs between two runs with seed 7"
    assert other["tiny_yolo.weights.h5"] != first["tiny_yolo.weights.h5"]
