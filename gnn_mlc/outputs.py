"""Writing output files atomically: a reader sees the old file, the whole new file, or nothing; never a part; and
refusing, before any work, an output that would destroy an input or change a model directory
(:func:`check_output_path`, used by every command).

Temporary files and directories are created private (``mkstemp``/``mkdtemp`` give 0600/0700) and get the usual
permissions of a new file (``0666 & ~umask``) or directory (``0777 & ~umask``) before they are renamed into place,
so a consumer running as another account reads the outputs exactly as if they had been written directly.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from gnn_mlc._typing import MODEL_FORMAT, MODEL_MANIFEST
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


def json_safe(value: Any) -> Any:
    """``value`` with what JSON cannot hold made plain: NaN and infinities as null, NumPy scalars and arrays as
    numbers and lists, tuples as lists (nested dicts and lists followed)."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    elif isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json(path: str | Path, value: Any) -> None:
    """Write ``value`` as indented UTF-8 JSON with a final newline, atomically (:func:`json_safe` first: NaN is
    written as null). The one JSON writer of the package: model directories, reports, the command line."""
    write_text(path, json.dumps(json_safe(value), indent=2, allow_nan=False) + "\n")


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
        raise GnnMlcError(f"{path}: cannot write {what} here ({error.strerror}); expected a writable directory") \
            from None
    return path


OutputKind = Literal["file", "directory", "model directory"]


def check_output_path(output: str | Path, *, inputs: Sequence[str | Path | None], what: str,
                      kind: OutputKind) -> None:
    """Refuse an output that would destroy one of the command's inputs or change a model directory.

    Args:
        output: what the command writes.
        inputs: the files and directories the command reads (``None`` entries are options not given).
        what: what the output is, for the message (``"the predictions"``).
        kind: ``"file"`` (written whole over ``output``), ``"directory"`` (files written into ``output``) or
            ``"model directory"`` (``output`` replaced whole with ``--overwrite``: an input inside it would be
            deleted; a model directory there is what is replaced).

    Raises:
        GnnMlcError: ``output`` is an input (even with ``--overwrite``: the command would read what it overwrites),
            a model directory replaced whole holds an input, or the output goes into a model directory (the
            directory written into, or the folder of a file or a directory, holds a model's ``manifest.json``).
    """
    target = Path(output).resolve()
    for given in (Path(path) for path in inputs if path is not None):
        source = given.resolve()
        if target == source:
            raise GnnMlcError(f"{output}: is also an input of this command ({given}); expected {what} apart from "
                              "the inputs (writing it would destroy them). Hint: choose another --output")
        if kind == "model directory" and target in source.parents:
            raise GnnMlcError(f"{output}: holds the input {given}; expected {what} apart from the inputs (replacing "
                              "it would delete them). Hint: choose another --output")
    for folder in (target, target.parent) if kind == "directory" else (target.parent,):
        if is_model_directory(folder):
            raise GnnMlcError(f"{folder}: is a model directory (it holds a model's manifest.json); expected {what} "
                              "outside it (writing there would change the model). Hint: choose another --output")


def is_model_directory(path: Path) -> bool:
    """Whether ``path`` holds a model's ``manifest.json`` (one naming the model format, or one that cannot be
    read: a damaged model is still a model)."""
    manifest = path / MODEL_MANIFEST
    if not manifest.is_file():
        return False
    try:
        return json.loads(manifest.read_text()).get("format") == MODEL_FORMAT
    except (OSError, UnicodeDecodeError, ValueError, AttributeError):
        return True
