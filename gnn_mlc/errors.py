"""The exceptions gnn-mlc raises for problems the user can fix.

Every message is one line: what went wrong, where (file, line, column or argument), what was expected,
and a hint. The CLI prints ``error: <message>`` and exits with code 2 for any of them.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class GnnMlcError(Exception):
    """Base class of the errors caused by the user's input, files or settings."""


class DataError(GnnMlcError, ValueError):
    """A data file or array is malformed, inconsistent or unsupported."""


class ModelDirectoryError(GnnMlcError):
    """A model directory is missing, incomplete, corrupted or from an incompatible version."""


class UnknownLabelError(DataError, KeyError):
    """A label name is not in the vocabulary."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """Return ``" (did you mean 'x'?)"`` for the closest choice to ``name``, or ``""`` when none is close."""
    close = difflib.get_close_matches(name, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
