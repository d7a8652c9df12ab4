"""Writing output files atomically: a reader sees the old file, the whole new file, or nothing; never a part.

Temporary files and directories are created private (``mkstemp``/``mkdtemp`` give 0600/0700) and get the usual
permissions of a new file (``0666 & ~umask``) or directory (``0777 & ~umask``) before they are renamed into place,
so a consumer running as another account reads the outputs exactly as if they had been written directly.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from gnn_mlc.errors import GnnMlcError


def current_umask() -> int:
    """The process's umask (read by setting it and putting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def publish_mode(path: Path) -> None:
    """Give a finished temporary file or directory the permissions a plain ``open``/``mkdir`` would have given."""
    os.chmod(path, (0o777 if path.is_dir() else 0o666) & ~current_umask())


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it is renamed onto ``path``, on error removed.

    Raises:
        GnnMlcError: the parent directory cannot be created or written (one line, no partial file left).
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(handle)
    except OSError as error:
        raise GnnMlcError(f"{path}: cannot write here ({error.strerror}); expected a writable directory") from None
    temporary_path = Path(temporary)
    try:
        yield temporary_path
        publish_mode(temporary_path)
        os.replace(temporary_path, path)
    except OSError as error:
        raise GnnMlcError(f"{path}: writing failed ({error.strerror}); no partial file was left") from None
    finally:
        temporary_path.unlink(missing_ok=True)


def write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (UTF-8)."""
    with atomic_path(path) as temporary:
        temporary.write_text(text, encoding="utf-8")


def ensure_writable_directory(path: str | Path, *, what: str) -> Path:
    """Create ``path`` (and parents) if needed and check that files can be written there, before any long work.

    Raises:
        GnnMlcError: naming ``what`` (e.g. "the model directory") and the system's reason.
    """
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        raise GnnMlcError(f"{path}: cannot write {what} here ({error.strerror}); expected a writable directory") from None
    return path
