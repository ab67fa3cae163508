"""The one atomic writer behind every output: modes kept, symlinks written through,
unusable paths refused with one sentence, temp files of killed writes cleaned up."""

from __future__ import annotations

import os
import stat
import time

import pytest

from emotrack.core.atomic import (
    STALE_TEMP_SECONDS,
    atomic_binary_file,
    output_path,
    remove_stale_temps,
    write_text_atomic,
)
from emotrack.errors import EmotrackError, OutputError


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_new_file_gets_the_umask_mode_not_0600(tmp_path, umask_022):
    path = write_text_atomic(tmp_path / "curves.csv", "a,b\n")
    assert mode(path) == 0o644


@pytest.mark.parametrize("existing_mode", [0o644, 0o640, 0o755, 0o600])
def test_replacing_keeps_the_existing_mode(tmp_path, existing_mode):
    path = tmp_path / "curves.csv"
    path.write_text("old")
    path.chmod(existing_mode)
    write_text_atomic(path, "new")
    assert (path.read_text(), mode(path)) == ("new", existing_mode)


def test_symlink_is_written_through_and_stays_a_link(tmp_path):
    target = tmp_path / "real" / "curves.csv"
    target.parent.mkdir()
    target.write_text("old")
    target.chmod(0o640)
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    write_text_atomic(link, "new")
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert (target.read_text(), mode(target)) == ("new", 0o640)
    assert sorted(p.name for p in target.parent.iterdir()) == ["curves.csv"]


def test_dangling_symlink_creates_its_target(tmp_path):
    link = tmp_path / "link.csv"
    link.symlink_to(tmp_path / "made.csv")
    write_text_atomic(link, "x")
    assert link.is_symlink() and (tmp_path / "made.csv").read_text() == "x"


@pytest.mark.parametrize(("make", "words"), [
    (lambda tmp: "", "empty"),
    (lambda tmp: "   ", "empty"),
    (lambda tmp: tmp, "is a folder"),
    (lambda tmp: tmp / ".", "is a folder"),
    (lambda tmp: tmp / "file.txt" / "out.csv", "is a file, not a folder"),
    (lambda tmp: tmp / "file.txt" / "deeper" / "out.csv", "is a file, not a folder"),
])
def test_unusable_output_paths_are_one_sentence(tmp_path, make, words):
    (tmp_path / "file.txt").write_text("keep me")
    with pytest.raises(OutputError, match=words) as caught:
        write_text_atomic(make(tmp_path), "x")
    assert "\n" not in str(caught.value) and isinstance(caught.value, EmotrackError)
    assert (tmp_path / "file.txt").read_text() == "keep me"


def test_symlink_loop_is_refused_and_kept(tmp_path):
    loop = tmp_path / "loop.csv"
    loop.symlink_to(loop)
    with pytest.raises(OutputError, match="loop"):
        write_text_atomic(loop, "x")
    assert loop.is_symlink()


def test_missing_folders_are_created(tmp_path):
    assert output_path(tmp_path / "a" / "b.csv") == tmp_path / "a" / "b.csv"
    write_text_atomic(tmp_path / "a" / "b" / "c.csv", "x")
    assert (tmp_path / "a" / "b" / "c.csv").read_text() == "x"


def test_name_too_long_is_an_output_error(tmp_path):
    with pytest.raises(OutputError, match="cannot write .*too long"):
        write_text_atomic(tmp_path / ("x" * 300 + ".csv"), "x")


def test_unwritable_folder_is_an_output_error(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root can write anywhere")
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(OutputError, match="cannot write .*permission denied"):
            write_text_atomic(folder / "out.csv", "x")
    finally:
        folder.chmod(0o700)


def test_failed_block_keeps_the_old_file_and_leaves_no_temp(tmp_path):
    path = tmp_path / "cache.bin"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_binary_file(path) as handle:
        handle.write(b"half")
        raise RuntimeError("killed")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["cache.bin"]


def test_stale_temps_of_the_same_target_are_removed_fresh_and_foreign_kept(tmp_path):
    old = time.time() - STALE_TEMP_SECONDS - 60
    stale = tmp_path / ".curves.csv.k1ll3d.tmp"
    fresh = tmp_path / ".curves.csv.wr1t1ng.tmp"
    foreign = tmp_path / ".other.csv.k1ll3d.tmp"
    for temp in (stale, fresh, foreign):
        temp.write_text("partial")
    for temp in (stale, foreign):
        os.utime(temp, (old, old))
    write_text_atomic(tmp_path / "curves.csv", "x")
    assert not stale.exists() and fresh.exists() and foreign.exists()


def test_stale_temp_names_with_glob_characters_are_matched_literally(tmp_path):
    old = time.time() - STALE_TEMP_SECONDS - 60
    other = tmp_path / ".take1.csv.k1ll3d.tmp"
    other.write_text("partial")
    os.utime(other, (old, old))
    assert remove_stale_temps(tmp_path / "take[1].csv") == 0 and other.exists()
