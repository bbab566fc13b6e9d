"""The run's image cache and its lazy rows, against decodes and file reads done here: the pixels it streams are the
contract's, byte for byte; a damaged cache is said and rebuilt, a stale row is never used; a view pickles small and
reads the same in another process; the folder's fingerprint is the one split files written before hold."""

import hashlib
import io
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from liteship import image_files
from liteship.contract import to_model_pixels
from liteship.dataset import data_fingerprint, load_folder
from liteship.errors import LiteshipError
from liteship.image_rows import HEADER_BYTES, ImageRows, take
from liteship.progress import Progress
from tests.conftest import plant_bad_files, plant_odd_but_usable

SIZE = 20


def photo_folder(root: Path, n: int = 50) -> Path:
    """``n`` photos in three classes: JPEG and PNG, landscape, portrait and square, RGB, grey and RGBA."""
    rng = np.random.default_rng(7)
    for i in range(n):
        folder = root / ("cat", "dog", "fox")[i % 3]
        folder.mkdir(parents=True, exist_ok=True)
        h, w = [(30, 44), (52, 27), (25, 25), (61, 40)][i % 4]
        image = Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
        if i % 5 == 1:
            image = image.convert("L")
        elif i % 5 == 2:
            image = image.convert("RGBA")
        image.save(folder / f"p{i:03d}.{'jpg' if i % 2 and image.mode != 'RGBA' else 'png'}", quality=90)
    return root


def by_hand(path: Path, size: int) -> np.ndarray:
    """The test's own decode: Image.open, the contract, np.asarray."""
    with Image.open(path) as img:
        return np.asarray(to_model_pixels(img, size))


def quiet_log():
    stream = io.StringIO()
    return Progress(stream=stream, bar=False), stream


@pytest.fixture
def photos(tmp_path):
    return photo_folder(tmp_path / "photos")


def test_the_streamed_pixels_of_50_images_are_the_contracts_byte_for_byte(photos, tmp_path):
    ds = load_folder(photos, SIZE, cache_dir=tmp_path / "cache")
    assert isinstance(ds.pixels, ImageRows) and ds.pixels.shape == (50, SIZE, SIZE, 3) and len(ds.items) == 50
    expected = np.stack([by_hand(photos / item, SIZE) for item in ds.items])
    assert np.asarray(ds.pixels).tobytes() == expected.tobytes()
    assert all(ds.pixels[i].tobytes() == expected[i].tobytes() for i in (0, 17, 49, -1))
    picked = np.array([49, 3, 3, 0, 20])
    assert ds.pixels[picked].tobytes() == expected[picked].tobytes()
    assert np.asarray(take(ds.pixels, picked)).tobytes() == expected[picked].tobytes()
    assert ds.pixels[10:30:3].tobytes() == expected[10:30:3].tobytes()
    # read again, now from the cache: the same bytes, the same data set as the in-memory path
    again = load_folder(photos, SIZE, cache_dir=tmp_path / "cache")
    memory = load_folder(photos, SIZE)
    assert np.asarray(again.pixels).tobytes() == expected.tobytes() == memory.pixels.tobytes()
    assert (again.items, again.content_hash, again.digests) == (memory.items, memory.content_hash, memory.digests)


def test_skipped_files_are_the_same_with_and_without_the_cache(tmp_path):
    root = photo_folder(tmp_path / "photos", 12)
    (root / "cat" / "img_000.png").write_bytes((root / "cat" / "p000.png").read_bytes())
    bad = plant_bad_files(root / "cat")
    odd = plant_odd_but_usable(root / "dog")
    memory = load_folder(root, SIZE)
    for _ in range(2):  # decoded into the cache, then read from it (the failures are known there)
        cached = load_folder(root, SIZE, cache_dir=tmp_path / "cache")
        assert cached.skipped == memory.skipped and cached.items == memory.items
        assert np.asarray(cached.pixels).tobytes() == memory.pixels.tobytes()
    assert {s["file"].split("/")[1] for s in cached.skipped} == set(bad)
    assert all(f"dog/{name}" in cached.items for name in odd)


def _damage_and_reload(photos, cache: Path, damage) -> tuple:
    load_folder(photos, SIZE, cache_dir=cache)
    damage(cache / f"{SIZE}px.u8", cache / f"{SIZE}px.json")
    progress, said = quiet_log()
    ds = load_folder(photos, SIZE, progress, cache_dir=cache)
    return ds, said.getvalue()


def _flip_a_byte(rows: Path, index: Path) -> None:
    data = bytearray(rows.read_bytes())
    data[7 * SIZE * SIZE * 3 + 11] ^= 0xFF
    rows.write_bytes(bytes(data))


@pytest.mark.parametrize("damage, words", [
    (lambda rows, index: os.truncate(rows, rows.stat().st_size - 1000), "rows damaged, decoded again"),
    (_flip_a_byte, "1 rows damaged, decoded again"),
    (lambda rows, index: index.write_text("{not json"), "index is unreadable or of another version, rebuilt"),
    (lambda rows, index: index.write_text(json.dumps({**json.loads(index.read_text()), "size": 21})),
     "index is unreadable or of another version, rebuilt"),
], ids=["truncated", "a-flipped-byte", "garbage-index", "another-size"])
def test_a_damaged_cache_is_said_and_rebuilt_never_trusted(photos, tmp_path, damage, words):
    ds, said = _damage_and_reload(photos, tmp_path / "cache", damage)
    assert f"image cache {tmp_path / 'cache' / f'{SIZE}px.u8'}: " in said and words in said, said
    expected = np.stack([by_hand(photos / item, SIZE) for item in ds.items])
    assert np.asarray(ds.pixels).tobytes() == expected.tobytes()
    progress, quiet = quiet_log()
    again = load_folder(photos, SIZE, progress, cache_dir=tmp_path / "cache")  # repaired: nothing more to say
    assert "image cache" not in quiet.getvalue()
    assert np.asarray(again.pixels).tobytes() == expected.tobytes()


def test_rows_a_killed_pass_left_past_the_index_are_cut_off(photos, tmp_path):
    cache = tmp_path / "cache"
    load_folder(photos, SIZE, cache_dir=cache)
    rows = cache / f"{SIZE}px.u8"
    size = rows.stat().st_size
    with open(rows, "ab") as fh:
        fh.write(b"\x01" * (SIZE * SIZE * 3 + 100))  # a row and a half that no index names
    ds = load_folder(photos, SIZE, cache_dir=cache)
    assert rows.stat().st_size == size
    assert np.asarray(ds.pixels).tobytes() == np.stack([by_hand(photos / i, SIZE) for i in ds.items]).tobytes()


def test_a_stale_image_is_decoded_again_alone_and_its_old_row_never_used(photos, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    first = load_folder(photos, SIZE, cache_dir=cache)
    decoded = []
    real = image_files.decode
    monkeypatch.setattr(image_files, "decode", lambda raw, sizes: decoded.append(raw) or real(raw, sizes))
    target = photos / first.items[5]
    Image.fromarray(np.full((33, 33, 3), 200, np.uint8)).save(target, format="PNG" if target.suffix == ".png"
                                                              else "JPEG")
    second = load_folder(photos, SIZE, cache_dir=cache)
    assert decoded == [target.read_bytes()]  # that image only
    assert second.pixels[5].tobytes() == by_hand(target, SIZE).tobytes() != first.pixels[5].tobytes()
    assert second.pixels.rows[5] == 50 and list(second.pixels.rows[:5]) == list(first.pixels.rows[:5])
    assert (cache / f"{SIZE}px.u8").stat().st_size == HEADER_BYTES + 51 * SIZE * SIZE * 3  # one row appended


def test_a_cache_mostly_of_images_no_longer_there_is_rebuilt_with_the_ones_used(tmp_path):
    root = photo_folder(tmp_path / "photos", 90)
    cache = tmp_path / "cache"
    load_folder(root, SIZE, cache_dir=cache)
    for path in sorted(root.rglob("p0[0-6]*")):  # 70 of the 90 go
        path.unlink()
    ds = load_folder(root, SIZE, cache_dir=cache)
    assert len(ds.items) == 20 and list(ds.pixels.rows) == list(range(20))
    assert (cache / f"{SIZE}px.u8").stat().st_size == HEADER_BYTES + 20 * SIZE * SIZE * 3
    assert np.asarray(ds.pixels).tobytes() == np.stack([by_hand(root / i, SIZE) for i in ds.items]).tobytes()


def test_too_little_disk_space_is_refused_before_any_decoding(photos, tmp_path, monkeypatch):
    import shutil

    decoded = []
    monkeypatch.setattr(image_files, "decode", lambda raw, sizes: decoded.append(1))
    monkeypatch.setattr(shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(10**9, 10**9 - 4096, 4096))
    with pytest.raises(LiteshipError) as err:
        load_folder(photos, SIZE, cache_dir=tmp_path / "cache")
    assert "Not enough free disk space" in err.value.what and "4 kB are free" in err.value.why and err.value.fix
    assert decoded == []


def test_a_view_pickles_small_and_reads_the_same_in_another_process(tmp_path):
    size, n = 16, 1200
    rng = np.random.default_rng(3)
    whole = rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8)
    path = tmp_path / "rows.u8"
    path.write_bytes(whole.tobytes())
    order = rng.permutation(n)[:1000]
    view = ImageRows(path, size, order)
    data = pickle.dumps(view)
    assert len(data) < 4 * 1000 + 1024  # the 1,000 row numbers (4 bytes each) and a few hundred bytes more
    assert len(pickle.dumps(ImageRows(path, size, np.arange(1000)))) < 1024  # a range: no row numbers at all
    (tmp_path / "view.pickle").write_bytes(data)
    code = ("import pickle, sys, numpy as np; v = pickle.load(open(sys.argv[1], 'rb')); "
            "np.save(sys.argv[2], np.asarray(v))")
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "view.pickle"), str(tmp_path / "out.npy")],
                   check=True)
    assert np.load(tmp_path / "out.npy").tobytes() == whole[order].tobytes()


def test_a_view_of_a_cache_file_replaced_since_is_refused_never_read_wrong(tmp_path):
    path = tmp_path / "rows.u8"
    path.write_bytes(bytes(10 * 4 * 4 * 3))
    view = pickle.loads(pickle.dumps(ImageRows(path, 4, np.arange(10))))
    (tmp_path / "new.u8").write_bytes(bytes(range(256)) * 2)
    os.replace(tmp_path / "new.u8", path)
    with pytest.raises(LiteshipError) as err:
        view[0:2]
    assert "rebuilt since" in err.value.why and "run the command again" in err.value.fix


def old_fingerprint(path: Path) -> str:
    """data_fingerprint as it was before the one pass: every non-hidden file's path and bytes, class by class."""
    digest = hashlib.sha256()
    for class_dir in sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for root, dirs, names in os.walk(class_dir):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(n for n in names if not n.startswith(".")):
                file = Path(root) / name
                digest.update(os.fsencode(file.relative_to(path).as_posix()) + b"\0")
                try:
                    digest.update(hashlib.sha256(file.read_bytes()).digest())
                except OSError as exc:
                    digest.update(b"symbolic links loop" if exc.errno == 40 else b"unreadable")
    return digest.hexdigest()


def test_the_fingerprint_is_the_one_split_files_written_before_hold(tmp_path):
    root = photo_folder(tmp_path / "photos", 15)
    (root / "cat" / "img_000.png").write_bytes((root / "cat" / "p000.png").read_bytes())
    plant_bad_files(root / "cat")
    (root / "dog" / "sub").mkdir()
    (root / "dog" / "sub" / "deep.png").write_bytes((root / "cat" / "p000.png").read_bytes())
    expected = old_fingerprint(root)
    assert data_fingerprint(str(root)) == expected
    assert load_folder(root, SIZE, cache_dir=tmp_path / "cache").fingerprint == expected  # the same pass
    assert load_folder(root, SIZE).fingerprint == expected
    (root / "dog" / "notes.txt").write_text("changed")
    assert data_fingerprint(str(root)) == old_fingerprint(root) != expected


@pytest.mark.parametrize("preadv", [True, False], ids=["preadv", "pread (macOS before 11)"])
def test_rows_read_the_bytes_of_their_rows_in_any_order(tmp_path, monkeypatch, preadv):
    rng = np.random.default_rng(5)
    whole = rng.integers(0, 256, (30, 3, 3, 3), dtype=np.uint8)
    (tmp_path / "rows.u8").write_bytes(whole.tobytes())
    if not preadv:
        monkeypatch.delattr(os, "preadv")
    rows = np.array([4, 5, 6, 0, 29, 28, 7, 8])  # runs of consecutive rows, read in one call each
    view = ImageRows(tmp_path / "rows.u8", 3, rows)
    assert view[:].tobytes() == whole[rows].tobytes() and view[-1].tobytes() == whole[8].tobytes()
    assert view[np.array([True, False] * 4)].tobytes() == whole[rows[::2]].tobytes()


def test_a_cache_folder_that_cannot_be_written_is_said_and_the_images_held_in_memory(photos, tmp_path, monkeypatch):
    import errno

    from liteship.image_cache import RowCache

    def refused(self, candidates):
        raise PermissionError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(RowCache, "open", refused)
    progress, said = quiet_log()
    ds = load_folder(photos, SIZE, progress, cache_dir=tmp_path / "cache")
    assert "cannot be written (Read-only file system): the images are held in memory" in said.getvalue()
    assert isinstance(ds.pixels, np.ndarray)
    assert ds.pixels.tobytes() == np.stack([by_hand(photos / i, SIZE) for i in ds.items]).tobytes()


def hand_header(build: str) -> bytes:
    """A cache file's first 64 bytes as the format says: the magic line, the build id and a newline, NUL-padded."""
    return (b"liteship image rows\n" + build.encode() + b"\n").ljust(64, b"\0")


@pytest.mark.parametrize("build", [None, "ab" * 16], ids=["bare-rows", "cache-file-with-header"])
def test_a_range_view_unpickled_reads_every_one_of_its_rows(tmp_path, build):
    rng = np.random.default_rng(2)
    whole = rng.integers(0, 256, (40, 4, 4, 3), dtype=np.uint8)
    (tmp_path / "rows.u8").write_bytes((hand_header(build) if build else b"") + whole.tobytes())
    view = pickle.loads(pickle.dumps(ImageRows(tmp_path / "rows.u8", 4, np.arange(3, 33, 2), build=build)))
    assert len(view) == 15 and np.asarray(view).tobytes() == whole[3:33:2].tobytes()  # the last row, 31, too


def test_the_content_hash_and_digests_are_the_ones_split_files_hold(tmp_path):
    root = photo_folder(tmp_path / "photos", 12)
    for ds in (load_folder(root, SIZE, cache_dir=tmp_path / "cache"), load_folder(root, SIZE)):
        h = hashlib.sha256()  # each usable file's name, a NUL and its bytes' SHA-256; then the class names
        for item in ds.items:
            h.update(item.encode() + b"\0" + hashlib.sha256((root / item).read_bytes()).digest())
        h.update("\n".join(ds.class_names).encode())
        assert ds.content_hash == h.hexdigest()
        assert ds.digests == [hashlib.sha256((root / i).read_bytes()).hexdigest()[:32] for i in ds.items]


def test_a_same_size_edit_in_the_same_process_is_decoded_again(tmp_path):
    root = tmp_path / "photos"
    for c in ("a", "b"):
        (root / c).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(np.full((10, 10, 3), 40 * i, np.uint8)).save(root / c / f"{i}.bmp")
    load_folder(root, SIZE, cache_dir=tmp_path / "cache")
    target = root / "a" / "0.bmp"
    size = target.stat().st_size
    Image.fromarray(np.full((10, 10, 3), 250, np.uint8)).save(target)
    assert target.stat().st_size == size  # an uncompressed BMP: the same size, only its times say it changed
    again = load_folder(root, SIZE, cache_dir=tmp_path / "cache")
    assert again.pixels[again.items.index("a/0.bmp")].tobytes() == by_hand(target, SIZE).tobytes()


@pytest.mark.parametrize("spare, refused", [(16 * 2**20 - 1, True), (16 * 2**20, False)],
                         ids=["a-byte-short-of-the-16-MB-margin", "the-margin-exactly"])
def test_the_cache_leaves_16_mb_of_disk_free(tmp_path, monkeypatch, spare, refused):
    import shutil

    root = photo_folder(tmp_path / "photos", 10)
    needed = 10 * SIZE * SIZE * 3  # ten new rows
    monkeypatch.setattr(shutil, "disk_usage", lambda p: shutil._ntuple_diskusage(10**12, 0, needed + spare))
    if refused:
        with pytest.raises(LiteshipError, match="Not enough free disk space"):
            load_folder(root, SIZE, cache_dir=tmp_path / "cache")
    else:
        assert len(load_folder(root, SIZE, cache_dir=tmp_path / "cache").items) == 10


KILLED_PASS = """
import sys, time
from pathlib import Path
from liteship import image_files
from liteship.dataset import load_folder
real = image_files.decode
def slow(raw, sizes):
    time.sleep(0.2)
    return real(raw, sizes)
image_files.decode = slow
load_folder(Path(sys.argv[1]), int(sys.argv[2]), cache_dir=Path(sys.argv[3]))
"""


def _pass_in_a_child(photos: Path, cache: Path, size: int):
    """A pass at ``size`` in another process, slowed, once its new rows file (a temp name) is in ``cache``."""
    import time

    child = subprocess.Popen([sys.executable, "-c", KILLED_PASS, str(photos), str(size), str(cache)])
    deadline = time.monotonic() + 120
    while not list(cache.glob(f".liteship-tmp-{size}px.u8.*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(cache.glob(f".liteship-tmp-{size}px.u8.*")), "the child's pass never began writing"
    return child


def test_a_killed_pass_s_files_of_another_size_are_removed_by_the_next_pass(photos, tmp_path):
    """SIGKILL mid-pass at 40 px leaves its unfinished rows file; a pass at 20 px removes it (and says so), where
    before it stayed until a pass at 40 px ran; a pass at 40 px still in progress keeps its file."""
    import signal

    cache = tmp_path / "cache"
    killed = _pass_in_a_child(photos, cache, 40)
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=30)
    left = list(cache.glob(".liteship-tmp-40px*"))
    assert left
    quiet, said = quiet_log()
    ds = load_folder(photos, SIZE, quiet, cache_dir=cache)
    assert not any(p.exists() for p in left)
    assert f"image cache {cache}: removed the unfinished files of a killed 40 px pass" in said.getvalue()
    assert np.asarray(ds.pixels).tobytes() == np.stack([by_hand(photos / i, SIZE) for i in ds.items]).tobytes()

    running = _pass_in_a_child(photos, cache, 40)
    try:
        writing = list(cache.glob(".liteship-tmp-40px.u8.*"))
        for decoy in ("040px.lock", "\uff14\uff10px.lock", "\u00b2px.lock"):  # not 40's lock: 040, full-width 40, ²
            (cache / decoy).touch()
        load_folder(photos, SIZE, cache_dir=cache)
        assert all(p.exists() for p in writing)  # its lock is held: not a killed pass's
    finally:
        running.wait(timeout=120)
    assert running.returncode == 0
    assert not list(cache.glob(".liteship-tmp-*"))  # it finished and renamed its file
    assert np.asarray(load_folder(photos, 40, cache_dir=cache).pixels).tobytes() == \
        np.stack([by_hand(photos / i, 40) for i in ds.items]).tobytes()
