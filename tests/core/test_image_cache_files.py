"""The image cache never writes through a link, never trusts an index edited by hand or a view of a file that is
gone, and never hangs on or reads without end an index that is not a regular file: each against the bytes of the
user's files and decodes done here."""

import json
import os
import pickle
import shutil
import signal
from pathlib import Path

import numpy as np
import pytest

from liteship.dataset import load_folder
from liteship.errors import LiteshipError
from tests.core.test_image_cache import SIZE, by_hand, photo_folder, quiet_log

ROW = SIZE * SIZE * 3


@pytest.fixture
def photos(tmp_path):
    return photo_folder(tmp_path / "photos", 20)


@pytest.fixture(autouse=True)
def no_hang():
    signal.signal(signal.SIGALRM, lambda *a: pytest.fail("the cache hung"))
    signal.alarm(60)
    yield
    signal.alarm(0)


def contract(photos, ds):
    return np.stack([by_hand(photos / item, SIZE) for item in ds.items]).tobytes()


def load(photos, cache):
    progress, said = quiet_log()
    return load_folder(photos, SIZE, progress, cache_dir=cache), said.getvalue()


def test_a_symbolic_link_in_the_caches_place_is_replaced_never_written_through(photos, tmp_path):
    cache = tmp_path / "cache"
    load(photos, cache)
    user = tmp_path / "thesis.txt"
    user.write_bytes(b"my thesis " * 5000)  # larger than the rows: a truncation would show
    (cache / f"{SIZE}px.u8").unlink()
    (cache / f"{SIZE}px.u8").symlink_to(user)
    ds, said = load(photos, cache)
    assert user.read_bytes() == b"my thesis " * 5000
    assert not (cache / f"{SIZE}px.u8").is_symlink() and "never written through" in said
    assert np.asarray(ds.pixels).tobytes() == contract(photos, ds)


def test_a_run_copied_with_hard_links_never_changes_the_other_runs_cache(photos, tmp_path):
    first = tmp_path / "runA"
    ds_a, _ = load(photos, first)
    with open(first / f"{SIZE}px.u8", "ab") as fh:  # rows a killed pass left past the index: cut by the next pass
        fh.write(b"\x01" * (ROW + 7))
    before = (first / f"{SIZE}px.u8").read_bytes()
    shutil.copytree(first, tmp_path / "runB", copy_function=os.link)  # cp -al
    (photos / ds_a.items[0]).write_bytes((photos / ds_a.items[1]).read_bytes())  # a row to append
    ds, said = load(photos, tmp_path / "runB")
    assert (first / f"{SIZE}px.u8").read_bytes() == before
    assert "hard links" in said and np.asarray(ds.pixels).tobytes() == contract(photos, ds)
    again, _ = load(photos, first)  # runA's own pass: a new file too, runA's rows as they were
    assert np.asarray(again.pixels).tobytes() == contract(photos, again)


def test_rows_past_the_index_are_left_out_of_a_new_file_never_cut_in_place(photos, tmp_path):
    cache = tmp_path / "cache"
    first, _ = load(photos, cache)
    rows = cache / f"{SIZE}px.u8"
    held = open(rows, "rb")  # what a reader of the old file holds
    with open(rows, "ab") as fh:
        fh.write(b"\x01" * (ROW + 7))
    size = os.fstat(held.fileno()).st_size
    ds, _ = load(photos, cache)
    assert os.fstat(held.fileno()).st_size == size  # the old file is untouched
    assert rows.stat().st_size == size - ROW - 7 and os.stat(rows).st_ino != os.fstat(held.fileno()).st_ino
    assert np.asarray(ds.pixels).tobytes() == contract(photos, ds)
    held.close()


@pytest.mark.parametrize("target", ["/proc/self/mem", "/dev/zero"])
def test_a_link_to_a_kernel_file_is_replaced_without_a_traceback(photos, tmp_path, target):
    cache = tmp_path / "cache"
    load(photos, cache)
    (cache / f"{SIZE}px.u8").unlink()
    (cache / f"{SIZE}px.u8").symlink_to(target)
    ds, said = load(photos, cache)
    assert "never written through" in said and np.asarray(ds.pixels).tobytes() == contract(photos, ds)


def test_a_cache_folder_that_is_a_symbolic_link_is_never_written(photos, tmp_path):
    users = tmp_path / "users_folder"
    users.mkdir()
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "cache").symlink_to(users)
    ds, said = load(photos, tmp_path / "run" / "cache")
    assert list(users.iterdir()) == [] and "is a symbolic link" in said and "held in memory" in said
    assert isinstance(ds.pixels, np.ndarray) and ds.pixels.tobytes() == contract(photos, ds)


def test_a_folder_in_the_cache_files_place_is_named(photos, tmp_path):
    (tmp_path / "cache" / f"{SIZE}px.u8").mkdir(parents=True)
    with pytest.raises(LiteshipError) as err:
        load(photos, tmp_path / "cache")
    assert f"{SIZE}px.u8 is a folder" in err.value.what and ".liteship-tmp" not in str(err.value)


def test_an_index_with_its_hashes_moved_between_rows_fails_its_check(photos, tmp_path):
    cache = tmp_path / "cache"
    load(photos, cache)
    index = json.loads((cache / f"{SIZE}px.json").read_text())
    digests = [d for d, _ in index["rows"]]
    index["rows"] = [[d, c] for d, (_, c) in zip(digests[1:] + digests[:1], index["rows"])]  # each CRC on its row
    (cache / f"{SIZE}px.json").write_text(json.dumps(index))
    ds, said = load(photos, cache)
    assert "20 rows damaged, decoded again" in said
    assert np.asarray(ds.pixels).tobytes() == contract(photos, ds)


def test_an_index_of_the_old_version_is_rebuilt(photos, tmp_path):
    cache = tmp_path / "cache"
    load(photos, cache)
    index = json.loads((cache / f"{SIZE}px.json").read_text())
    (cache / f"{SIZE}px.json").write_text(json.dumps({**index, "version": 1}))
    _, said = load(photos, cache)
    assert "of another version, rebuilt" in said


def test_a_view_of_a_file_of_another_build_at_the_same_inode_is_refused(photos, tmp_path):
    cache = tmp_path / "cache"
    ds, _ = load(photos, cache)
    view = pickle.loads(pickle.dumps(ds.pixels))
    rows = cache / f"{SIZE}px.u8"
    data = bytearray(rows.read_bytes())
    data[20:52] = b"0" * 32  # another build's header, as a new file the system gave the same inode would have
    with open(rows, "r+b") as fh:  # the same device and inode
        fh.write(data)
    assert (os.stat(rows).st_dev, os.stat(rows).st_ino) == view.file_id
    with pytest.raises(LiteshipError) as err:
        view[0:2]
    assert "rebuilt since" in err.value.why


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "huge"])
def test_an_index_that_is_not_a_small_regular_file_is_rebuilt_never_waited_on(photos, tmp_path, kind):
    cache = tmp_path / "cache"
    load(photos, cache)
    index = cache / f"{SIZE}px.json"
    index.unlink()
    if kind == "fifo":
        os.mkfifo(index)
    elif kind == "dev-zero":
        index.symlink_to("/dev/zero")
    else:
        with open(index, "wb") as fh:
            fh.truncate(300 * 1024**2)  # sparse: more than any index
    ds, said = load(photos, cache)
    assert "index is unreadable" in said and np.asarray(ds.pixels).tobytes() == contract(photos, ds)
    assert Path(index).is_file() and not Path(index).is_symlink()


def test_only_a_decoders_refusal_is_recorded_and_only_for_that_pillow(photos, tmp_path, monkeypatch):
    from liteship import image_cache, image_files

    cache = tmp_path / "cache"
    (photos / "cat" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not a png")
    victim = sorted((photos / "dog").iterdir())[0]
    real, decoded = image_files.decode, []

    def short_of_memory(raw, sizes):
        if raw == victim.read_bytes():
            raise MemoryError()
        return real(raw, sizes)

    monkeypatch.setattr(image_files, "decode", short_of_memory)
    first, _ = load(photos, cache)
    assert {s["file"] for s in first.skipped} == {"cat/broken.png", f"dog/{victim.name}"}
    failed = json.loads((cache / f"{SIZE}px.json").read_text())["failed"]
    assert [entry[0] for entry in failed.values()] == ["not a readable image"]  # the refusal, not the MemoryError
    monkeypatch.setattr(image_files, "decode", lambda raw, sizes: decoded.append(raw) or real(raw, sizes))
    second, _ = load(photos, cache)
    assert decoded == [victim.read_bytes()] and f"dog/{victim.name}" in second.items  # decoded again, now used
    monkeypatch.setattr(image_cache, "pillow_version", lambda: "another")
    decoded.clear()
    load(photos, cache)
    assert decoded == [(photos / "cat" / "broken.png").read_bytes()]  # another Pillow: asked again


def test_a_refusal_moved_to_another_images_hash_is_not_trusted(photos, tmp_path):
    cache = tmp_path / "cache"
    (photos / "cat" / "broken.png").write_bytes(b"not an image at all")
    first, _ = load(photos, cache)
    index = json.loads((cache / f"{SIZE}px.json").read_text())
    (entry,) = index["failed"].values()
    index["failed"] = {first.digests[0]: entry}  # a usable image now says it failed
    (cache / f"{SIZE}px.json").write_text(json.dumps(index))
    ds, _ = load(photos, cache)
    assert ds.items == first.items and np.asarray(ds.pixels).tobytes() == contract(photos, ds)


def test_a_file_no_decoder_reads_is_not_decoded_again_by_the_next_command(photos, tmp_path, monkeypatch):
    from liteship import image_files

    cache = tmp_path / "cache"
    (photos / "cat" / "text.jpg").write_text("not an image\n")
    load(photos, cache)
    decoded, real = [], image_files.decode
    monkeypatch.setattr(image_files, "decode", lambda raw, sizes: decoded.append(raw) or real(raw, sizes))
    image_files._KNOWN.clear()  # what this process remembers: the next command starts without it
    again, _ = load(photos, cache)
    assert decoded == [] and any(s["file"] == "cat/text.jpg" for s in again.skipped)


def test_a_new_file_has_a_new_build_in_its_index_and_its_header(photos, tmp_path):
    cache = tmp_path / "cache"
    load(photos, cache)
    before = json.loads((cache / f"{SIZE}px.json").read_text())["build"]
    with open(cache / f"{SIZE}px.u8", "ab") as fh:
        fh.write(b"\1" * 100)  # bytes past the index: the rows go to a new file
    ds, _ = load(photos, cache)
    build = json.loads((cache / f"{SIZE}px.json").read_text())["build"]
    assert build != before and len(build) == 32
    head = (b"liteship image rows\n" + build.encode() + b"\n").ljust(64, b"\0")
    assert (cache / f"{SIZE}px.u8").read_bytes()[:64] == head
    assert np.asarray(ds.pixels).tobytes() == contract(photos, ds)


def test_an_index_of_another_build_than_its_files_header_is_rebuilt(photos, tmp_path):
    cache = tmp_path / "cache"
    load(photos, cache)
    index = json.loads((cache / f"{SIZE}px.json").read_text())
    (cache / f"{SIZE}px.json").write_text(json.dumps({**index, "build": "f" * 32}))
    ds, said = load(photos, cache)
    assert "rebuilt" in said and np.asarray(ds.pixels).tobytes() == contract(photos, ds)


def test_a_folder_planted_at_a_temp_name_is_left_and_one_at_the_lock_is_named(photos, tmp_path):
    """A pass writes files: a folder under a killed pass's temp name is not its own (left alone, the pass goes on);
    a folder in the lock's place cannot be locked, and the refusal names that path, not only the cache folder."""
    cache = tmp_path / "cache"
    cache.mkdir()
    planted = cache / f".liteship-tmp-{SIZE}px.u8.planted"
    (planted / "inside").mkdir(parents=True)
    ds = load_folder(photos, SIZE, cache_dir=cache)
    assert contract(photos, ds) == np.asarray(ds.pixels).tobytes() and (planted / "inside").is_dir()
    (cache / "40px.lock").mkdir()
    with pytest.raises(LiteshipError) as caught:
        load_folder(photos, 40, cache_dir=cache)
    assert str(cache / "40px.lock") in caught.value.why and "may be deleted" in caught.value.fix
