import numpy as np
import pytest

from tests.conftest import CLASSES, PER_CLASS, plant_bad_files, plant_odd_but_usable, write_class_folder
from liteship.dataset import load_dataset, load_digits, split_indices
from liteship.errors import LiteshipError


def test_class_folder_loads_sorted_classes(class_folder):
    ds = load_dataset(str(class_folder), 16)
    assert ds.class_names == sorted(CLASSES)
    assert ds.pixels.shape == (3 * PER_CLASS, 16, 16, 3) and ds.pixels.dtype == np.uint8
    assert ds.counts() == {c: PER_CLASS for c in CLASSES}
    assert ds.skipped == []


def test_bad_files_are_skipped_counted_and_listed(tmp_path):
    root = write_class_folder(tmp_path / "d", per_class=6)
    bad = plant_bad_files(root / "zero")
    odd = plant_odd_but_usable(root / "one")
    ds = load_dataset(str(root), 16)
    skipped = {item["file"]: item["reason"] for item in ds.skipped}
    assert set(skipped) == {f"zero/{name}" for name in bad}
    for name, reason in bad.items():
        assert reason in skipped[f"zero/{name}"], (name, skipped[f"zero/{name}"])
    assert ds.counts() == {"one": 6 + len(odd), "two": 6, "zero": 6}
    assert not any(".DS_Store" in item for item in ds.items)


def test_same_files_same_hash_and_a_changed_file_changes_it(tmp_path):
    root = write_class_folder(tmp_path / "d", per_class=4)
    h1 = load_dataset(str(root), 8).content_hash
    assert load_dataset(str(root), 8).content_hash == h1
    (root / "zero" / "img_000.png").write_bytes((root / "zero" / "img_002.png").read_bytes())
    assert load_dataset(str(root), 8).content_hash != h1


def test_digits_are_bundled_and_upscaled():
    ds = load_digits(32)
    assert ds.pixels.shape == (1797, 32, 32, 3)
    assert ds.class_names == [str(i) for i in range(10)]
    assert np.bincount(ds.labels).min() >= 170


def test_split_is_stratified_disjoint_and_seeded():
    labels = np.repeat(np.arange(4), [40, 20, 10, 3])
    a = split_indices(labels, seed=0)
    b = split_indices(labels, seed=0)
    c = split_indices(labels, seed=1)
    for s in a:
        np.testing.assert_array_equal(a[s], b[s])
    assert any(not np.array_equal(a[s], c[s]) for s in a)
    all_idx = np.concatenate(list(a.values()))
    assert sorted(all_idx) == list(range(len(labels)))
    assert np.bincount(labels[a["test"]]).tolist() == [6, 3, 2, 1]
    assert np.bincount(labels[a["val"]]).tolist() == [6, 3, 2, 1]
    assert np.bincount(labels[a["train"]]).tolist() == [28, 14, 6, 1]


@pytest.mark.parametrize("case, expected", [
    ("missing", "does not exist"),
    ("no_classes", "No class folders"),
    ("one_class", "Only one class folder"),
    ("thin_class", "Too few usable images in class two (1)"),
    ("no_images", "No usable images"),
    ("not_archive", "not a supported archive"),
])
def test_bad_data_is_a_clear_error(tmp_path, case, expected):
    root = tmp_path / "d"
    if case == "no_classes":
        root.mkdir()
        (root / "a.png").write_bytes(b"")
    elif case == "one_class":
        write_class_folder(tmp_path / "x", per_class=3)
        root.mkdir()
        (tmp_path / "x" / "zero").rename(root / "zero")
    elif case == "thin_class":
        write_class_folder(root, per_class=3)
        for f in sorted((root / "two").iterdir())[1:]:
            f.unlink()
    elif case == "no_images":
        for c in CLASSES:
            (root / c).mkdir(parents=True)
            (root / c / "x.jpg").write_text("nope")
    elif case == "not_archive":
        root = tmp_path / "file.rar"
        root.write_bytes(b"x")
    with pytest.raises(LiteshipError) as err:
        load_dataset(str(root), 8, tmp_path / "run")
    assert expected in err.value.message
    assert "Fix:" in err.value.message
