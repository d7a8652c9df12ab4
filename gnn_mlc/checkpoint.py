"""Per-epoch training checkpoints, so that an interrupted ``gnn-mlc train`` can ``--resume``.

A checkpoint holds everything the loop needs to go on as if it had never stopped: the model and optimizer state,
the best state so far, the history, and both random states (the shuffling generator and torch's, used by dropout).
It is written to a temporary file and renamed, so a kill leaves the previous checkpoint or the new one, and it is
read with ``torch.load(weights_only=True)``: tensors and plain containers only, no code.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from gnn_mlc.errors import GnnMlcError

FORMAT = "gnn-mlc-checkpoint-1"


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write ``state`` (tensors, numbers, strings, lists and dicts of them) to ``path`` atomically."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        torch.save({"format": FORMAT, **state}, temporary)
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise GnnMlcError(f"{path}: cannot write the training checkpoint ({error.strerror})") from None


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` (no pickled code is run)."""
    try:
        state = torch.load(path, weights_only=True)
    except Exception as error:  # torch raises several types for a damaged or foreign file
        raise GnnMlcError(
            f"{path}: not a readable training checkpoint ({str(error).splitlines()[0][:200]}); expected one written "
            "by 'gnn-mlc train'. Hint: delete it and train without --resume"
        ) from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise GnnMlcError(f"{path}: not a gnn-mlc training checkpoint; expected format {FORMAT!r}")
    return state
