"""The judge's defences against what a submission leaves behind, one hostile file at a time.

Fast layer: reading files without following links, bounded JSON, checked NumPy
archives, the unpacking of the sandbox's export, the model-configuration guard
and the feedback sanitiser. Slow layer: the judge child under its caps, and the
guard's bounds against every reference model of the course.
"""

import io
import json
import os
import tarfile
import time
import zipfile

import numpy as np
import pytest

from course import inprocess, model_guard, untrusted
from course.untrusted import Refused

# ---------------------------------------------------------------------------
# Files, without following links
# ---------------------------------------------------------------------------


def test_read_file_reads_a_plain_file(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "b.json").write_bytes(b"{}")
    assert untrusted.read_file(tmp_path, "a/b.json") == b"{}"


def test_read_file_refuses_a_link_at_any_level(tmp_path):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "x.json").write_text("secret")
    (tmp_path / "observations").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(Refused, match="link"):
        untrusted.read_file(tmp_path, "observations/x.json")
    (tmp_path / "own").mkdir()
    (tmp_path / "own" / "x.json").symlink_to(tmp_path / "elsewhere" / "x.json")
    with pytest.raises(Refused, match="link"):
        untrusted.read_file(tmp_path, "own/x.json")
    with pytest.raises(Refused):
        untrusted.read_file(tmp_path, "../x.json")


def test_read_file_refuses_a_pipe_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "pipe.json")
    started = time.perf_counter()
    with pytest.raises(Refused, match="not a regular file"):
        untrusted.read_file(tmp_path, "pipe.json")
    assert time.perf_counter() - started < 1


def test_read_file_caps_the_size_and_reports_a_missing_file(tmp_path):
    (tmp_path / "big").write_bytes(b"x" * 2000)
    with pytest.raises(Refused, match="more than the limit"):
        untrusted.read_file(tmp_path, "big", limit=1000)
    with pytest.raises(FileNotFoundError):
        untrusted.read_file(tmp_path, "absent.json")


# ---------------------------------------------------------------------------
# JSON and arrays
# ---------------------------------------------------------------------------


def test_json_depth_counts_brackets_outside_strings_only():
    assert untrusted.json_depth(b'{"a": [1, [2, {"b": "[[[[{{{"}]]}') == 4
    assert untrusted.json_depth(b'"\\"[[["') == 0
    assert untrusted.json_depth(b"") == 0


def test_deeply_nested_json_is_refused_quickly():
    started = time.perf_counter()
    with pytest.raises(Refused, match="nested 100000 levels"):
        untrusted.loads_json("[" * 100_000 + "]" * 100_000)
    assert time.perf_counter() - started < 2
    assert untrusted.loads_json('{"key": [1, 2]}') == {"key": [1, 2]}
    with pytest.raises(Refused, match="not valid JSON"):
        untrusted.loads_json("{ not json")


def _npz(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def test_load_npz_round_trips_plain_arrays():
    got = untrusted.load_npz(_npz(v=np.arange(6, dtype=np.float32).reshape(2, 3)))
    assert got["v"].shape == (2, 3) and got["v"][1, 2] == 5


@pytest.mark.parametrize("data, why", [
    (b"", "unreadable"),
    (b"PK\x03\x04 this is not a zip archive", "unreadable"),
])
def test_load_npz_refuses_broken_archives(data, why):
    with pytest.raises(Refused, match=why):
        untrusted.load_npz(data)


def test_load_npz_refuses_corrupt_compressed_data():
    data = bytearray(_npz(v=np.arange(10_000, dtype=np.float64)))
    start = data.index(b"v.npy") + 20
    data[start:start + 200] = bytes(200)
    with pytest.raises(Refused, match="unreadable"):
        untrusted.load_npz(bytes(data))


def test_a_compressed_bomb_is_refused_before_it_expands():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("v.npy", "w", force_zip64=True) as member:
            header = io.BytesIO()
            np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False,
                                                          "shape": (64 << 20,)})
            member.write(header.getvalue())
            zeros = bytes(1 << 20)
            for _ in range(256):  # 256 MiB of zeros: a few hundred kB compressed
                member.write(zeros)
    assert len(buffer.getvalue()) < 2 << 20
    with pytest.raises(Refused, match="too large"):
        untrusted.load_npz(buffer.getvalue(), limit=32 << 20)


def test_an_array_header_that_claims_more_than_the_member_holds_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        header = io.BytesIO()
        np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (1 << 40,)})
        archive.writestr("v.npy", header.getvalue() + bytes(64))
    with pytest.raises(Refused, match="declares more data"):
        untrusted.load_npz(buffer.getvalue())


def test_object_arrays_are_refused():
    buffer = io.BytesIO()
    np.savez(buffer, v=np.array([{"a": 1}], dtype=object))
    with pytest.raises(Refused, match="Python objects"):
        untrusted.load_npz(buffer.getvalue())


# ---------------------------------------------------------------------------
# The sandbox's export
# ---------------------------------------------------------------------------

WANTED = ("autograded/student/01_happy_house/happy_house.ipynb", "observations/*")


def _tar(path, entries) -> None:
    """entries: (name, kind, payload) with kind file / dir / symlink / fifo."""
    with tarfile.open(path, "w") as archive:
        for name, kind, payload in entries:
            info = tarfile.TarInfo(name)
            if kind == "file":
                info.size = len(payload)
                archive.addfile(info, io.BytesIO(payload))
                continue
            info.type = {"dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE, "fifo": tarfile.FIFOTYPE}[kind]
            if kind == "symlink":
                info.linkname = payload
            archive.addfile(info)


def test_export_keeps_only_wanted_plain_files(tmp_path):
    _tar(tmp_path / "x.tar", [("observations", "dir", None), ("observations/a.json", "file", b"{}"),
                              ("observations/deep/b.json", "file", b"{}"), ("other/c.json", "file", b"{}"),
                              ("autograded/student/01_happy_house/happy_house.ipynb", "file", b"nb")])
    notes = untrusted.extract_export(tmp_path / "x.tar", tmp_path / "out", WANTED)
    found = sorted(str(p.relative_to(tmp_path / "out")) for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert found == ["autograded/student/01_happy_house/happy_house.ipynb", "observations/a.json"]
    assert notes == []


def test_export_refuses_links_and_pipes_where_wanted_files_belong(tmp_path):
    _tar(tmp_path / "x.tar", [
        ("autograded/student/01_happy_house", "symlink", "/repo/solutions/01_happy_house"),
        ("autograded/student/01_happy_house/happy_house.ipynb", "file", b"solution"),
        ("observations", "symlink", "/grading/classmate/observations"),
        ("observations/k.json", "fifo", None)])
    notes = untrusted.extract_export(tmp_path / "x.tar", tmp_path / "out", WANTED)
    text = " ".join(notes)
    assert "a link to '/repo/solutions/01_happy_house'" in text
    assert "a link to '/grading/classmate/observations'" in text and "not a regular file" in text
    assert not any(p.is_symlink() for p in (tmp_path / "out").rglob("*"))
    # the entry under the refused link was written as a plain file of the grader's, never through a link
    written = tmp_path / "out" / "autograded" / "student" / "01_happy_house"
    assert not written.is_symlink()


def test_export_caps_files_and_survives_a_truncated_stream(tmp_path):
    _tar(tmp_path / "x.tar", [("observations/big.json", "file", b"x" * 5000),
                              ("observations/ok.json", "file", b"{}"), ("observations/ok.json", "file", b"[]")])
    notes = untrusted.extract_export(tmp_path / "x.tar", tmp_path / "out", WANTED, file_limit=1000)
    assert any("more than the limit of 1000" in n for n in notes)
    assert any("second entry" in n for n in notes)
    assert (tmp_path / "out" / "observations" / "ok.json").read_bytes() == b"{}"
    data = (tmp_path / "x.tar").read_bytes()
    (tmp_path / "cut.tar").write_bytes(data[:700])
    notes = untrusted.extract_export(tmp_path / "cut.tar", tmp_path / "out2", WANTED)
    assert any("cut short or corrupt" in n for n in notes)


# ---------------------------------------------------------------------------
# Model configurations
# ---------------------------------------------------------------------------


def _policy():
    return {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": None}


def _layer(class_name, **config):
    return {"module": "keras.layers", "class_name": class_name, "config": {"dtype": _policy(), **config},
            "registered_name": None}


def _sequential(*layers, shape=(None, 8, 8, 3)):
    return {"module": "keras", "class_name": "Sequential",
            "config": {"name": "s", "layers": [{"module": "keras.layers", "class_name": "InputLayer",
                                                 "config": {"batch_shape": list(shape), "dtype": "float32"},
                                                 "registered_name": None}, *layers]}}


def test_a_small_model_is_measured_by_hand():
    # Conv2D(4, 3x3) on 3 channels: 3*3*3*4 + 4 = 112; BatchNormalization(4): 16;
    # Flatten of 6x6x4 = 144, Dense(2): 144*2 + 2 = 290. Total 418.
    config = _sequential(_layer("Conv2D", filters=4, kernel_size=[3, 3], strides=[1, 1], padding="valid"),
                         _layer("BatchNormalization", axis=-1), _layer("Flatten"), _layer("Dense", units=2))
    size = model_guard.check_model_config(config)
    assert size.params == 418 and size.layers == 5 and size.units == 4 and size.kernel == 3
    assert size.activation == 144 and size.input_dim == 8


@pytest.mark.parametrize("layer, figure", [
    (_layer("Dense", units=170_000), "units"),  # 12,288 x 170,000 float32 weights: 8 GiB
    (_layer("Conv2D", filters=64, kernel_size=[200, 200]), "kernel"),
])
def test_a_few_bytes_describing_a_huge_layer_are_refused(layer, figure):
    config = _sequential(_layer("Flatten"), layer, shape=(None, 64, 64, 3)) if figure == "units" else \
        _sequential(layer, shape=(None, 64, 64, 3))
    assert len(json.dumps(config)) < 2000
    with pytest.raises(Refused, match=f"larger than any answer.*{figure}"):
        model_guard.check_model_config(config)


def test_many_large_layers_are_refused_by_count_and_by_parameters():
    conv = _layer("Conv2D", filters=2048, kernel_size=[3, 3], padding="same")
    with pytest.raises(Refused, match="params"):
        model_guard.check_model_config(_sequential(*[conv] * 20, shape=(None, 16, 16, 3)))
    with pytest.raises(Refused, match="more than 708 layers"):
        model_guard.check_model_config(_sequential(*[_layer("ReLU")] * 1000))


def test_an_input_too_large_is_refused():
    with pytest.raises(Refused, match="input_dim"):
        model_guard.check_model_config(_sequential(_layer("Flatten"), shape=(None, 100_000, 3)))


@pytest.mark.parametrize("module, name", [
    ("keras.layers", "TFSMLayer"),  # loads and runs a SavedModel from a path
    ("keras.layers", "Lambda"),
    ("keras.src.legacy", "Anything"),
    ("builtins", "function"),
    ("my_module", "MyLayer"),
])
def test_classes_outside_the_allow_list_are_refused(module, name):
    config = _sequential({"module": module, "class_name": name, "config": {"filepath": "/tmp/x"},
                          "registered_name": None})
    with pytest.raises(Refused, match="does not rebuild"):
        model_guard.check_model_config(config)


def test_initializers_regularizers_and_policies_are_allowed_but_not_their_lookalikes():
    assert model_guard.allowed("keras.initializers", "GlorotUniform")
    assert model_guard.allowed("keras.regularizers", "L2")
    assert not model_guard.allowed("keras.initializers", "get")  # a function, not a class
    assert not model_guard.allowed("keras.layers", "TFSMLayer")


def test_a_registered_custom_object_and_a_non_model_are_refused():
    layer = _layer("Dense", units=2)
    layer["registered_name"] = "Custom>Dense"
    with pytest.raises(Refused, match="registered custom object"):
        model_guard.check_model_config(_sequential(_layer("Flatten"), layer))
    with pytest.raises(Refused, match="not a Keras Sequential or Functional"):
        model_guard.check_model_config({"class_name": "Dense"})


def test_compile_settings_are_not_built():
    assert "compile_config" not in model_guard.model_for_building({"class_name": "Sequential",
                                                                   "compile_config": {"optimizer": "x"}})


# ---------------------------------------------------------------------------
# Feedback
# ---------------------------------------------------------------------------


def test_sanitize_removes_scripts_and_event_handlers_but_keeps_the_release_prose():
    from course.judge import sanitize

    notebook = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "markdown", "metadata": {}, "id": "a", "source": "Our prose <b>kept</b> as written"},
        {"cell_type": "markdown", "metadata": {}, "id": "b", "source": "edited <script>alert(1)</script>"},
        {"cell_type": "code", "metadata": {}, "id": "c", "execution_count": 1, "source": "x", "outputs": [
            {"output_type": "display_data", "metadata": {}, "data": {
                "text/html": "<table><tr><td>ok</td></tr></table><img src=x onerror=alert(1)><script>steal()</script>",
                "application/javascript": "steal()", "text/plain": "<HTML>"}}]}]}
    clean = sanitize(notebook, {"Our prose <b>kept</b> as written"})
    assert clean["cells"][0]["source"] == "Our prose <b>kept</b> as written"
    assert "<script>" not in clean["cells"][1]["source"]
    data = clean["cells"][2]["outputs"][0]["data"]
    assert "<script>" not in data["text/html"] and "onerror" not in data["text/html"]
    assert "<table>" in data["text/html"] and "application/javascript" not in data
    assert data["text/plain"] == "<HTML>"


# ---------------------------------------------------------------------------
# The judge's process
# ---------------------------------------------------------------------------


def test_a_signal_is_named_whether_it_ended_the_judge_or_the_sandbox_around_it():
    from course.judge import _exit_text, _signal_of

    assert _signal_of(-24) == 24 and _signal_of(128 + 24) == 24 and _signal_of(1) is None
    assert _exit_text(152) == "signal SIGXCPU" and _exit_text(-9) == "signal SIGKILL" and _exit_text(3) == "exit 3"


def test_the_judges_view_is_read_only(tmp_path):
    import subprocess
    import sys

    from course import sandbox

    if not sandbox.available():
        pytest.skip("bubblewrap is not available (apt-get install bubblewrap); .ci/run installs it")
    target = tmp_path / "class" / "gradebook.db"
    target.parent.mkdir()
    target.write_text("kept")
    code = f"open({str(target)!r}, 'w').write('changed')"
    command = sandbox.readonly_command([sys.executable, "-c", code], {"PATH": "/usr/bin:/bin"}, [tmp_path])
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "Read-only file system" in result.stderr
    assert target.read_text() == "kept"
    hidden = subprocess.run(sandbox.readonly_command(["/bin/ls", str(tmp_path.parent)], {}, [tmp_path]),
                            capture_output=True, text=True, timeout=60)
    assert hidden.stdout.split() == [tmp_path.name]  # nothing of this machine beyond what it is shown


@pytest.mark.slow
@pytest.mark.parametrize("limits, why", [
    ({"memory_mb": 150}, r"memory limit of 150 MB|judge stopped"),  # the cgroup kills it, or the rlimit fails it
    ({"wall_s": 0.5}, "wall limit of 0 s|wall limit of 1 s"),
    ({"cpu_s": 1}, "CPU limit of 1 s"),  # importing TensorFlow alone takes more
])
def test_a_judge_that_fails_becomes_a_reason_not_a_crash(tmp_path, limits, why):
    from course import judge, sandbox

    isolation = "bwrap" if sandbox.available() else "none"
    (tmp_path / "export").mkdir()
    running = judge.Judge("03_car_detection", {}, tmp_path, isolation=isolation,
                          limits=judge.JudgeLimits(**limits), log_path=tmp_path / "judge.log")
    if "wall_s" not in limits:
        time.sleep(3)  # let it reach its cap
    with pytest.raises(judge.JudgeFailed, match=why):
        running.verdicts("autograded/x.ipynb", tmp_path / "x.ipynb")
    running.close()


@pytest.mark.slow
def test_the_bounds_are_the_margin_times_the_largest_reference_model(tf):
    """Every bound is at least MARGIN x the largest figure among the reference models of every model probe,
    and the figures of the guard agree with Keras' own count of parameters."""
    from course import spec as specs
    from course import trusted
    from utils.checking.store import resolve_runner

    largest = {name: 0 for name in model_guard.Size.__dataclass_fields__}
    for assignment in specs.ids():
        spec = specs.load(assignment)
        namespace = inprocess.solution_namespace(spec)
        for cell, probe in spec.probes():
            runner = resolve_runner(probe.run)
            if not trusted.builds_model(runner):
                continue
            model = runner.build(namespace[cell.function], **{k: v for k, v in probe.args.items()
                                                              if not trusted.is_seed(k)})
            size = model_guard.check_model_config(json.loads(model.to_json()))
            assert size.params == model.count_params(), probe.key
            largest = {name: max(figure, getattr(size, name)) for name, figure in largest.items()}
    for name, figure in largest.items():
        assert getattr(model_guard.BOUNDS, name) >= model_guard.MARGIN * figure, (name, figure)
    assert largest["params"] == 23_600_006  # ResNet50 with 6 classes, as Keras counts it


def test_an_empty_export_says_nothing_came_back(tmp_path):
    (tmp_path / "x.tar").write_bytes(b"")
    assert "nothing came back" in untrusted.extract_export(tmp_path / "x.tar", tmp_path / "out", WANTED)[0]
