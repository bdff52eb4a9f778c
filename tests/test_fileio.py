"""Atomic writes: the whole file or nothing, with ordinary permissions; the target respected
(mode, links, devices, FIFOs); one-line errors; orphaned temporaries cleaned up."""

import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from composer.errors import ComposerError
from composer.fileio import (
    _HOST,
    atomic_path,
    check_distinct_outputs,
    remove_orphaned_temporaries,
    write_bytes_atomic,
    write_text_atomic,
)


def test_files_are_written_atomically_with_ordinary_permissions(tmp_path):
    target = tmp_path / "sub" / "x.txt"
    write_text_atomic(target, "hello")
    assert target.read_text() == "hello"
    assert [p.name for p in target.parent.iterdir()] == ["x.txt"]
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "x.txt"
    write_text_atomic(target, "old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["x.txt"]


# --- the target is respected ----------------------------------------------------------------
def test_a_file_keeps_its_mode(tmp_path):
    target = tmp_path / "secret.mid"
    target.write_bytes(b"old")
    target.chmod(0o600)
    write_bytes_atomic(target, b"new")
    assert target.read_bytes() == b"new" and stat.S_IMODE(target.stat().st_mode) == 0o600


def test_a_symlink_stays_a_link_and_its_target_is_written(tmp_path):
    real = tmp_path / "real.mid"
    real.write_bytes(b"old")
    link = tmp_path / "link.mid"
    link.symlink_to(real)
    write_bytes_atomic(link, b"new")
    assert link.is_symlink() and real.read_bytes() == b"new"
    dangling = tmp_path / "dangling.mid"
    dangling.symlink_to(tmp_path / "made.mid")
    write_bytes_atomic(dangling, b"made")
    assert dangling.is_symlink() and (tmp_path / "made.mid").read_bytes() == b"made"


def test_hard_links_are_kept(tmp_path):
    a, b = tmp_path / "a.mid", tmp_path / "b.mid"
    a.write_bytes(b"old")
    os.link(a, b)
    write_bytes_atomic(b, b"new")
    assert a.read_bytes() == b"new" and a.stat().st_nlink == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.mid", "b.mid"]


def device(folder: Path, name: str, minor: int) -> Path:
    """A private copy of /dev/null (minor 3) or /dev/full (7): a regression must never replace
    the machine's own. Skips where device nodes cannot be made (not root)."""
    path = folder / name
    try:
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, minor))
    except PermissionError:
        pytest.skip("making a device node needs root")
    return path


def test_devices_and_fifos_are_written_through(tmp_path):
    null = device(tmp_path, "null", 3)
    write_bytes_atomic(null, b"gone")
    assert stat.S_ISCHR(os.stat(null).st_mode)
    null.unlink()
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    write_bytes_atomic(fifo, b"through the pipe")
    reader.join(10)
    assert got == [b"through the pipe"] and stat.S_ISFIFO(fifo.stat().st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]


@pytest.mark.parametrize("make, fragment", [
    (lambda d: d, "folder"),
    (lambda d: d / "file" / "x.mid", "Not a directory"),
    (lambda d: device(d, "full", 7), "No space left"),
    (lambda d: d / ("x" * 300), "too long"),
])  # fmt: skip
def test_writes_that_cannot_be_done_are_one_line_errors(tmp_path, make, fragment):
    (tmp_path / "file").write_text("a file")
    with pytest.raises(ComposerError, match=fragment) as info:
        write_bytes_atomic(make(tmp_path), b"data")
    assert "\n" not in str(info.value)


def test_orphaned_temporaries_of_dead_processes_are_removed(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    orphan = tmp_path / f".x.mid.composer-{int(dead.stdout)}-{_HOST}.abc123.tmp"
    live = tmp_path / f".x.mid.composer-{os.getppid()}-{_HOST}.abc123.tmp"
    elsewhere = tmp_path / f".x.mid.composer-{int(dead.stdout)}-ffffff.abc123.tmp"
    other = tmp_path / ".x.mid.k2j3h4.tmp"  # not ours
    for p in (orphan, live, elsewhere, other):
        p.write_bytes(b"half a file")
    write_bytes_atomic(tmp_path / "y.mid", b"data")
    assert not orphan.exists()
    assert live.exists() and elsewhere.exists() and other.exists()
    assert remove_orphaned_temporaries(tmp_path) == []


def test_one_file_named_for_two_outputs_is_refused(tmp_path):
    with pytest.raises(ComposerError, match="--out and --wav both name"):
        check_distinct_outputs({"--out": tmp_path / "a.mid", "--wav": tmp_path / "x/../a.mid"})
    (tmp_path / "b").write_bytes(b"")
    os.link(tmp_path / "b", tmp_path / "c")
    with pytest.raises(ComposerError, match="both name"):
        check_distinct_outputs({"--out": tmp_path / "b", "--wav": tmp_path / "c"})
    check_distinct_outputs({"--out": "/dev/null", "--wav": "/dev/null", "--musicxml": None})
