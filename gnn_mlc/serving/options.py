"""``ScoringOptions``: what a scoring run writes and how it reads its input, chosen once and checked once.

Taken by :class:`~gnn_mlc.serving.Scorer`, :func:`~gnn_mlc.serving.predict_file` and
:func:`~gnn_mlc.serving.run_scoring_job` (whose job record holds them), built once by ``gnn-mlc predict``/``score``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from gnn_mlc._typing import DEFAULT_TOP_K, DEVICES, OUTPUT_COLUMNS
from gnn_mlc.errors import GnnMlcError


@dataclass(frozen=True)
class ScoringOptions:
    """The options of one scoring run.

    Attributes:
        top_k: labels per row in the output (capped at the number of labels).
        id_column: the input column that identifies a row; default: the model's training id column when the input
            has it, else ``id`` when present, else the row position (output column ``row``).
        output_id_column: the output's name for the id column (default: the input's name, ``row`` for positions).
        exclude_column: an input column listing, per row, label names never to recommend to that row (the interests
            a user already has).
        known_column: an input column listing, per row, the labels it already has (a user's history): evidence for
            a model trained with known labels, never recommended unless ``keep_known``. Refused for a model without
            a known-label term (``exclude_column`` only excludes).
        min_score: keep only recommendations scoring at least this (the lists may then be shorter than ``top_k``).
        with_labels: also output ``predicted``, the labels the model's decision rule gives (list<string>).
        keep_known: rank the known labels too.
        without_history: score a model trained with known labels without any (every row as a user with no
            history); without it such a model refuses to score without ``known_column``.
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
        label_delimiter: the separator of names in a string list column (CSV); ``None``: the one the model was
            trained with, else ``|``.

    Raises:
        GnnMlcError: a value out of its range, an empty or reserved column name, or contradictory options.
    """

    top_k: int = DEFAULT_TOP_K
    id_column: str | None = None
    output_id_column: str | None = None
    exclude_column: str | None = None
    known_column: str | None = None
    min_score: float | None = None
    with_labels: bool = False
    keep_known: bool = False
    without_history: bool = False
    device: str = "auto"
    label_delimiter: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.top_k, bool) or not isinstance(self.top_k, int) or self.top_k < 1:
            raise GnnMlcError(f"top_k: got {self.top_k!r}; expected a positive integer")
        if self.min_score is not None and (isinstance(self.min_score, bool) or not isinstance(
                self.min_score, (int, float)) or not 0.0 <= self.min_score <= 1.0):
            raise GnnMlcError(f"min_score: got {self.min_score!r}; expected a probability in [0, 1]")
        if self.device not in DEVICES:
            raise GnnMlcError(f"device: got {self.device!r}; expected one of {', '.join(DEVICES)}")
        for name in ("id_column", "exclude_column", "known_column", "label_delimiter"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value):
                raise GnnMlcError(f"{name}: got {value!r}; expected a non-empty string. Hint: check "
                                  f"--{name.replace('_', '-')}")
        if self.output_id_column is not None and (not isinstance(self.output_id_column, str)
                                                  or self.output_id_column in ("", *OUTPUT_COLUMNS)):
            raise GnnMlcError(f"output_id_column: got {self.output_id_column!r}; expected a name other than an "
                              f"output column's ({', '.join(OUTPUT_COLUMNS)})")
        if self.without_history and self.known_column is not None:
            raise GnnMlcError(f"without_history: given with known_column {self.known_column!r}; expected one of "
                              "them (score with the history, or without). Hint: drop --without-history")
        if self.keep_known and self.known_column is None:
            raise GnnMlcError("keep_known: given without known_column; expected a known-label column whose labels "
                              "to keep ranking. Hint: add --known-column, or drop --keep-known")

    def job_record(self) -> dict[str, Any]:
        """The options that shape a scoring job's output, for its record and digest (the device does not)."""
        record = asdict(self)
        del record["device"]
        return record
