"""Datasets: shapes and conventions, manifest integrity, clear errors, bit-for-bit regeneration."""

import shutil

import numpy as np
import pytest

from utils import data, paths


@pytest.mark.parametrize("loader, m_train, m_test, n_classes", [
    (data.load_happy_dataset, 900, 150, 2),
    (data.load_signs_dataset, 1080, 120, 6),
])
def test_loaders_return_the_classic_layout(loader, m_train, m_test, n_classes):
    X_train, Y_train, X_test, Y_test, classes = loader()
    assert X_train.shape == (m_train, 64, 64, 3) and X_train.dtype == np.uint8
    assert X_test.shape == (m_test, 64, 64, 3) and X_test.dtype == np.uint8
    assert Y_train.shape == (1, m_train) and Y_test.shape == (1, m_test)
    assert list(classes) == list(range(n_classes))
    for labels, m in ((Y_train, m_train), (Y_test, m_test)):
        counts = np.bincount(labels.ravel(), minlength=n_classes)
        assert np.all(counts == m // n_classes), f"classes are not balanced: {counts}"
    # Not a degenerate dataset: pictures differ and use the full range.
    assert X_train.std() > 30 and len({X_train[i].tobytes() for i in range(50)}) == 50


def test_train_and_test_do_not_overlap():
    X_train, _, X_test, _, _ = data.load_happy_dataset()
    train = {image.tobytes() for image in X_train}
    assert not any(image.tobytes() in train for image in X_test)


def test_bundled_picture_loads():
    picture = data.load_image("images/visitor.png")
    assert picture.shape == (256, 256, 3) and picture.dtype == np.uint8


def test_manifest_lists_every_committed_data_file():
    listed = set(data.read_manifest()["files"])
    on_disk = {p.relative_to(paths.data_dir()).as_posix() for p in paths.data_dir().rglob("*")
               if p.is_file() and p.name != "manifest.json" and not p.name.endswith(".md")}
    assert listed == on_disk
    for relative in listed:
        data.verified_path(relative)


def test_datasets_stay_small():
    total = sum(p.stat().st_size for p in paths.data_dir().rglob("*") if p.is_file())
    assert total < 60e6, f"datasets/ is {total / 1e6:.1f} MB; the budget is 60 MB"


@pytest.fixture
def data_copy(tmp_path, monkeypatch):
    copy = tmp_path / "datasets"
    shutil.copytree(paths.data_dir(), copy)
    monkeypatch.setenv("COURSE_DATA_DIR", str(copy))
    return copy


def test_corrupt_file_names_the_file_and_the_fix(data_copy):
    target = data_copy / "happy" / "happy.h5"
    raw = bytearray(target.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    target.write_bytes(bytes(raw))
    with pytest.raises(data.DatasetError) as caught:
        data.load_happy_dataset()
    message = str(caught.value)
    assert str(target) in message and "corrupt" in message and "make data" in message


def test_missing_file_names_the_file_and_the_fix(data_copy):
    (data_copy / "signs" / "signs.h5").unlink()
    with pytest.raises(data.DatasetError, match=r"signs\.h5 is missing.*make data"):
        data.load_signs_dataset()


def test_missing_manifest_is_explained(data_copy):
    (data_copy / "manifest.json").unlink()
    with pytest.raises(data.DatasetError, match="manifest.*missing"):
        data.load_happy_dataset()


def test_convert_to_one_hot():
    one_hot = data.convert_to_one_hot(np.array([[0, 2, 1, 2]]), 3)
    np.testing.assert_array_equal(one_hot, [[1, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 1]])
    with pytest.raises(ValueError, match="0..2"):
        data.convert_to_one_hot(np.array([3]), 3)


@pytest.mark.slow
def test_make_data_regenerates_every_file_bit_for_bit(tmp_path):
    from course import synth

    written = synth.build_all(tmp_path, record=False)
    manifest = data.read_manifest()["files"]
    assert written
    for path in written:
        relative = path.relative_to(tmp_path).as_posix()
        assert data.sha256_of(path) == manifest[relative]["sha256"], f"{relative} is not reproducible"


@pytest.mark.slow
def test_a_linear_model_on_raw_pixels_cannot_tell_a_smile():
    """The Happy House data needs a convolution: softmax regression on raw pixels stays at or below the
    spec's cap (0.80; measured 0.693), so happyModel's 0.95 bar is earned by what a convolution sees."""
    from course import spec
    from course.baselines import loader_data, raw_pixel_accuracy

    cap = next(bar.baseline_max for bar in spec.load("01_happy_house").quality
               if bar.loader == "utils.data:load_happy_dataset")
    X_train, Y_train, X_test, Y_test, classes = loader_data("utils.data:load_happy_dataset")
    assert raw_pixel_accuracy(X_train, Y_train, X_test, Y_test, len(classes)) <= cap


def test_every_quality_bar_names_a_runtime_loader_of_the_classic_layout():
    """A quality bar's loader resolves like a probe runner and returns (X_train, Y_train, X_test, Y_test,
    classes); a name outside the student runtime is refused by the spec and by the resolver."""
    from course import spec
    from course.baselines import loader_data, quality_loaders

    loaders = quality_loaders(spec.ids())
    assert "utils.data:load_happy_dataset" in loaders and "utils.data:load_signs_dataset" in loaders
    for loader in loaders:
        X_train, Y_train, X_test, Y_test, classes = loader_data(loader)
        assert X_train.shape[0] == Y_train.size and X_test.shape[0] == Y_test.size, loader
        assert set(np.unique(Y_train)) <= set(range(len(classes))), loader
    with pytest.raises(ValueError, match="course runtime"):
        loader_data("os:getcwd")
    with pytest.raises(ValueError, match="must be 'utils.module:function'"):
        spec.Assignment(id="99_x", title="", notebook="x.ipynb", helper="utils.x", answers=(), tests=(),
                        quality=(spec.QualityBar("model", 0.9, loader="os:getcwd"),)).validate()
    with pytest.raises(ValueError, match="baseline_max needs a loader"):
        spec.Assignment(id="99_x", title="", notebook="x.ipynb", helper="utils.x", answers=(), tests=(),
                        quality=(spec.QualityBar("model", 0.9, baseline_max=0.5),)).validate()
