"""Writing files so that a crash never leaves half of one, and the target stays what it was.

``atomic_path(target)`` yields the path to write to:

- a missing path or a regular file: a temporary file beside it (``.NAME.composer-PID-HOST.XXXX
  .tmp``), renamed over it once complete, with the old file's permission bits (a new file gets
  0666 minus the umask). A file with several hard links keeps them: the finished bytes are
  copied into it instead of renaming over it.
- a symbolic link: the same, applied to the file it points to (the link stays a link).
- a device, FIFO or socket (``/dev/null``, ``/dev/stdout``, a named pipe): the target itself,
  written through as ``cat > target`` would; nothing is renamed over it.
- a folder: refused.

Every failure is a ComposerError naming the file. Temporary files orphaned by a process that
was killed (``kill -9``) are removed the next time a file is written in their folder; those of
processes still running are left alone.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import socket
import stat
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

from composer.errors import ComposerError

_HOST = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:6]
# .NAME.composer-PID-HOST.RANDOM.tmp (NAME may itself contain dots)
_TEMP = re.compile(r"^\..*\.composer-(\d+)-([0-9a-f]{6})\.[A-Za-z0-9_]+\.tmp$")


def _error(target: Path, e: OSError) -> ComposerError:
    return ComposerError(f"cannot write {target}: {e.strerror or e}")


def _resolve(target: Path) -> Path:
    """The file a write to ``target`` lands in: symbolic links followed (a dangling link's
    target, which the write creates)."""
    return Path(os.path.realpath(target))


def _stat(path: Path) -> os.stat_result | None:
    try:
        return path.stat()
    except FileNotFoundError:
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: alive, another user's
        return True
    return True


def remove_orphaned_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Delete the temporary files that Composer processes on this machine that are no longer
    running left in ``folder`` (killed in the middle of a write); return them. Files of
    running processes, of other machines and of other users are left alone."""
    removed = []
    me, uid = os.getpid(), os.geteuid()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        m = _TEMP.match(entry.name)
        if not m or m.group(2) != _HOST or int(m.group(1)) == me:
            continue
        try:
            if not entry.is_file(follow_symlinks=False) or entry.stat().st_uid != uid:
                continue
            if not _alive(int(m.group(1))):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            continue
    return removed


def _copy_into(source: Path, target: Path) -> None:
    """Overwrite ``target``'s bytes in place (same inode: hard links and owner kept)."""
    with open(source, "rb") as src, open(target, "r+b") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
        dst.truncate()
        dst.flush()
        os.fsync(dst.fileno())


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield the path to write ``target``'s new contents to (see the module docstring).

    Creates missing parent folders. On any exception a temporary file is removed and a regular
    ``target`` is left as it was; an OSError while writing becomes a ComposerError.
    """
    target = Path(target)
    try:
        final = _resolve(target)
        st = _stat(final)
    except (OSError, ValueError) as e:  # ELOOP, ENAMETOOLONG, an embedded NUL byte
        raise ComposerError(f"cannot write {target}: {getattr(e, 'strerror', None) or e}") from None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise ComposerError(f"cannot write {target}: it is a folder; name a file")
    if st is not None and not os.access(final, os.W_OK):
        raise ComposerError(f"cannot write {target}: it is read-only (Permission denied)")
    if st is not None and not stat.S_ISREG(st.st_mode):
        try:  # a device, FIFO or socket: write through it
            yield final
        except OSError as e:
            raise _error(target, e) from None
        return

    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        remove_orphaned_temporaries(final.parent)
        fd, tmp = tempfile.mkstemp(
            prefix=f".{final.name[:80]}.composer-{os.getpid()}-{_HOST}.",
            suffix=".tmp",
            dir=final.parent,
        )
        os.close(fd)
    except OSError as e:
        raise _error(target, e) from None
    tmp_path = Path(tmp)
    try:
        if st is not None:  # keep the file's owner (where we may) and permissions
            if (st.st_uid, st.st_gid) != (os.geteuid(), os.getegid()):
                with contextlib.suppress(OSError):
                    os.chown(tmp_path, st.st_uid, st.st_gid)
            os.chmod(tmp_path, stat.S_IMODE(st.st_mode))
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp_path, 0o666 & ~umask)  # mkstemp makes 0600; a file a user exports is 0644
        yield tmp_path
        if st is not None and st.st_nlink > 1:
            _copy_into(tmp_path, final)
            tmp_path.unlink()
        else:
            os.replace(tmp_path, final)
    except BaseException as e:
        with contextlib.suppress(OSError):
            tmp_path.unlink()
        if isinstance(e, OSError):
            raise _error(target, e) from None
        raise


def write_bytes_atomic(target: str | os.PathLike, data: bytes) -> None:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(target: str | os.PathLike, text: str) -> None:
    write_bytes_atomic(target, text.encode("utf-8"))


def check_distinct_outputs(outputs: Mapping[str, str | os.PathLike | None]) -> None:
    """Refuse two outputs that name one file (``--out x.mid --wav x.mid``, or two names of one
    file through a link). ``outputs``: label (e.g. '--wav') -> path, None for unused."""
    seen: dict[tuple, str] = {}
    for label, path in outputs.items():
        if path is None:
            continue
        try:
            real = _resolve(Path(path))
            st = _stat(real)
        except (OSError, ValueError):
            continue  # atomic_path reports it when that output is written
        if st is not None and not stat.S_ISREG(st.st_mode):
            continue  # /dev/null and the like may take any number of outputs
        keys = [("path", str(real))]
        if st is not None:
            keys.append(("inode", st.st_dev, st.st_ino))
        for key in keys:
            if key in seen:
                raise ComposerError(
                    f"{seen[key]} and {label} both name {path}: give each output its own file"
                )
        for key in keys:
            seen[key] = label
