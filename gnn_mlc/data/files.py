"""Which files of a directory are data: names starting with ``.`` or ``_`` are not.

Spark, Hadoop and pandas/pyarrow (``pyarrow.dataset``'s default ``ignore_prefixes=['.', '_']``) leave such files
beside the data (``_SUCCESS``, ``_temporary/``, ``.part-00000.crc``, macOS ``._name`` files) and skip them when they
read a directory; every directory reader here skips them the same way, at any depth below the directory read.
"""

from __future__ import annotations

from pathlib import Path

HIDDEN_PREFIXES = (".", "_")


def is_hidden(path: Path, *, under: Path) -> bool:
    """Whether ``path`` (a file below the directory ``under``) or a folder between them has a hidden name."""
    return any(part.startswith(HIDDEN_PREFIXES) for part in path.relative_to(under).parts)
