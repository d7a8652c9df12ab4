"""Per-epoch training checkpoints, so that an interrupted ``gnn-mlc train`` can ``--resume``.

A checkpoint holds everything the loop needs to go on as if it had never stopped: the model and optimizer state,
the best state so far, the history, and both random states (the shuffling generator and torch's, used by dropout).
It also holds the run's identity: every estimator parameter and fingerprints of the training data and of each graph
source (label-only log, external edges, label features). Resuming with anything different (another data file,
other graph edges, another learning rate, another seed) is refused with the differences listed,
because the run would otherwise continue silently as a mix of two trainings.

It is written to a temporary file and renamed, so a kill leaves the previous checkpoint or the new one, and it is
read with ``torch.load(weights_only=True)``: tensors and plain containers only, no code.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from gnn_mlc.errors import GnnMlcError

FORMAT = "gnn-mlc-checkpoint-2"


@dataclass(frozen=True)
class Checkpoint:
    """Where the training state is saved after every epoch, and whether a run starts from it.

    Attributes:
        path: the checkpoint file.
        resume: start from ``path`` when it exists (and refuse it when its identity differs).
        identity: what makes two runs the same run (parameters, data fingerprint); plain JSON-like values.
    """

    path: Path
    resume: bool = False
    identity: dict[str, Any] = field(default_factory=dict)

    def save(self, state: dict[str, Any]) -> None:
        """Write ``state`` (tensors, numbers, strings, lists and dicts of them) and the identity atomically.

        Raises:
            GnnMlcError: the file cannot be written (disk full, permissions); no temporary file is left.
        """
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            torch.save({"format": FORMAT, "identity": self.identity, **state}, temporary)
            os.replace(temporary, self.path)
        except (OSError, RuntimeError) as error:  # torch reports a full disk as RuntimeError
            temporary.unlink(missing_ok=True)
            reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error).splitlines()[0]
            raise GnnMlcError(f"{self.path}: cannot write the training checkpoint ({reason}); expected free space "
                              "and a writable directory") from None

    def load(self) -> dict[str, Any]:
        """Read the state saved by :meth:`save` (no pickled code is run), after checking it is this run's.

        Raises:
            GnnMlcError: the file is not a checkpoint, or it belongs to a run with other parameters or data.
        """
        try:
            state = torch.load(self.path, weights_only=True)
        except Exception as error:  # torch raises several types for a damaged or foreign file
            raise GnnMlcError(
                f"{self.path}: not a readable training checkpoint ({str(error).splitlines()[0][:200]}); expected "
                "one written by 'gnn-mlc train'. Hint: delete it and train without --resume"
            ) from None
        if not isinstance(state, dict) or state.get("format") != FORMAT:
            raise GnnMlcError(f"{self.path}: not a gnn-mlc training checkpoint of this version; expected format "
                              f"{FORMAT!r}. Hint: delete it and train without --resume")
        saved = state.get("identity", {})
        changed = sorted(key for key in set(saved) | set(self.identity) if saved.get(key) != self.identity.get(key))
        if changed:
            details = "; ".join(f"{key}: {saved.get(key)!r} -> {self.identity.get(key)!r}" for key in changed[:4])
            raise GnnMlcError(
                f"{self.path}: the checkpoint is of another run ({details}); expected the same data and "
                "parameters to resume. Hint: resume with the original arguments, or train without --resume"
            )
        return state


def names_fingerprint(*groups: Sequence[str]) -> str:
    """A short hash of sequences of strings (label names, edge ends, other fingerprints), order and grouping kept:
    ``names_fingerprint(["a", "b"])`` and ``names_fingerprint(["a"], ["b"])`` differ."""
    digest = hashlib.blake2b(digest_size=16)
    for group in groups:
        digest.update(b"[")
        for text in group:
            encoded = str(text).encode("utf-8")
            digest.update(len(encoded).to_bytes(8, "little") + encoded)
        digest.update(b"]")
    return digest.hexdigest()
