"""Every :class:`~gnn_mlc.estimator.LabelGCNClassifier` parameter, declared once: default, valid values, help.

The estimator validates its parameters against this table at ``fit`` and when a model directory is loaded; the
command line builds ``gnn-mlc train``'s options from it, so both accept the same values, fail with the same message
and fail before any work starts (scikit-learn's ``_parameter_constraints`` in spirit). Light to import: no torch.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from gnn_mlc._typing import DEVICES, STRATEGIES, WEIGHTINGS
from gnn_mlc.errors import DataError

Kind = Literal["int", "float", "bool", "choice"]

MAX_LAYER_WIDTH = 65536
"""The widest ``hidden_channels`` and ``embedding_dim``: a layer's weights grow with its width, so a mistyped
10**12 would exhaust memory (or overflow a tensor's size) instead of failing here; 65,536 is 256 times the default
and more than any multi-label encoder needs."""


@dataclass(frozen=True)
class Parameter:
    """One constructor parameter.

    Attributes:
        name: the estimator's keyword (``max_epochs``); the CLI flag is ``--max-epochs`` unless ``flag`` says otherwise.
        default: the default value.
        kind: ``int``, ``float``, ``bool`` or ``choice``.
        help: one line for ``--help``, describing the flag (for a boolean: what giving it does).
        low, high: the closed or open bounds of a number (``None``: unbounded).
        low_open, high_open: whether a bound is excluded.
        choices: the values of a ``choice``.
        aliases: older CLI spellings, accepted but not shown (``--epochs`` for ``--max-epochs``).
        flag: the CLI flag when it is not derived from ``name`` (booleans: ``--no-graph`` sets ``use_graph`` False).
    """

    name: str
    default: Any
    kind: Kind
    help: str
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    flag: str | None = None

    @property
    def cli_flag(self) -> str:
        return self.flag or "--" + self.name.replace("_", "-")

    def describe(self) -> str:
        """What a valid value is, e.g. ``a float in (0, 1]``."""
        if self.kind == "bool":
            return "True or False"
        if self.kind == "choice":
            return "one of " + ", ".join(repr(choice) for choice in self.choices)
        bare = "integer" if self.kind == "int" else "float"
        noun = f"an {bare}" if self.kind == "int" else f"a {bare}"
        if self.high is None and self.low == 0:
            return f"{'a positive' if self.low_open else 'a non-negative'} {bare}"
        if self.high is None and self.low == 1 and self.kind == "int":
            return "a positive integer"
        if self.low is None and self.high is None:
            return f"a finite {bare}"
        low = "-inf" if self.low is None else _number(self.low)
        high = "inf" if self.high is None else _number(self.high)
        return (f"{noun} in {'(' if self.low_open or self.low is None else '['}{low}, "
                f"{high}{')' if self.high_open or self.high is None else ']'}")

    def is_valid(self, value: Any) -> bool:
        if self.kind == "bool":
            return isinstance(value, bool)
        if self.kind == "choice":
            return isinstance(value, str) and (value in self.choices or (self.name == "device"
                                                                          and value.startswith("cuda:")))
        if isinstance(value, bool) or not isinstance(value, (int, float)) and not _is_numpy_number(value):
            return False
        if self.kind == "int" and not float(value).is_integer():
            return False
        if not math.isfinite(float(value)):
            return False
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            return False
        return not (self.high is not None and (value > self.high or (self.high_open and value == self.high)))

    def check(self, value: Any, *, owner: str) -> None:
        """Raise a one-line :class:`~gnn_mlc.errors.DataError` when ``value`` is not valid.

        Args:
            owner: who was given the value, e.g. ``"LabelGCNClassifier"`` or ``"gnn-mlc train"``.
        """
        if not self.is_valid(value):
            where = f"{self.cli_flag} of {owner}" if owner.startswith("gnn-mlc") else f"The {self.name!r} " \
                f"parameter of {owner}"
            raise DataError(f"{where} must be {self.describe()}; got {value!r} instead")


def _is_numpy_number(value: Any) -> bool:
    return type(value).__module__ == "numpy" and hasattr(value, "dtype") and value.dtype.kind in "iuf"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


PARAMETERS: tuple[Parameter, ...] = (
    Parameter("use_graph", True, "bool", "train the no-graph baseline instead: independent label heads, no label "
              "graph, so no --graph-data/--graph-edges/--label-features or known labels (default: the label-graph "
              "model, which scores through the graph the labels the network cannot learn)", flag="--no-graph"),
    Parameter("hidden_channels", 256, "int", "encoder hidden width", low=1, high=MAX_LAYER_WIDTH),
    Parameter("embedding_dim", 128, "int", "size of the instance vectors and label embeddings", low=1,
              high=MAX_LAYER_WIDTH),
    Parameter("num_gcn_layers", 0, "int", "GCN propagation steps over the trained labels' vectors (0: free vectors)",
              low=0,
              aliases=("--gcn-layers",)),
    Parameter("dropout", 0.3, "float", "encoder dropout", low=0.0, high=1.0, high_open=True),
    Parameter("graph_weighting", "mlgcn", "choice", "label graph edge weights", choices=WEIGHTINGS,
              aliases=("--weighting",)),
    Parameter("tau", 0.4, "float", "mlgcn: keep the edge i->j when P(j|i) >= tau", low=0.0, high=1.0, low_open=True),
    Parameter("p", 0.25, "float", "mlgcn: total weight of a label's neighbours", low=0.0, high=1.0),
    Parameter("learning_rate", 1e-3, "float", "AdamW learning rate", low=0.0, low_open=True),
    Parameter("weight_decay", 1e-4, "float", "AdamW weight decay", low=0.0),
    Parameter("pos_weight_power", 0.5, "float", "weight of a label's positives in the loss: "
              "(negatives/positives)^power, 0 for plain BCE", low=0.0, high=1.0),
    Parameter("batch_size", 128, "int", "rows per training step", low=1),
    Parameter("negative_samples", 0, "int", "score each training step's positive labels and this many others drawn "
              "at random, weighted to an unbiased estimate of the full loss (0: every label; 8192 matched the full "
              "loss at 50,000 labels after one epoch, one seed, on synthetic data)", low=0),
    Parameter("max_epochs", 100, "int", "maximum training epochs", low=1, aliases=("--epochs",)),
    Parameter("patience", 20, "int", "stop after this many epochs without a better validation mAP", low=1),
    Parameter("validation_fraction", 0.15, "float", "share of training rows held out for early stopping and "
              "threshold tuning", low=0.01, high=0.9),
    Parameter("rare_label_positives", 3, "int", "labels with at most this many positive training rows take their "
              "vectors from the label-only log when it has them (0: never)", low=0),
    Parameter("threshold_strategy", "global", "choice", "how scores become labels: global = one threshold tuned "
              "on the validation rows, per_label, pcut, top_k, fixed", choices=STRATEGIES),
    Parameter("threshold", 0.5, "float", "the threshold of --threshold-strategy fixed", low=0.0, high=1.0),
    Parameter("decision_top_k", 1, "int", "labels per row of --threshold-strategy top_k", low=1),
    Parameter("at_least_one", False, "bool", "give every row at least its best label"),
    Parameter("device", "auto", "choice", "where to train: auto = CUDA when available", choices=DEVICES),
    Parameter("random_state", 0, "int", "seed of initialisation, shuffling and the validation split", low=0,
              high=2**32 - 1, aliases=("--seed",)),
    Parameter("verbose", False, "bool", "show a progress bar per epoch (the CLI shows it unless --quiet)"),
)
BY_NAME: dict[str, Parameter] = {parameter.name: parameter for parameter in PARAMETERS}


def check_parameters(values: Mapping[str, Any], *, owner: str = "LabelGCNClassifier") -> None:
    """Validate every known parameter in ``values``; an unknown name is an error too.

    Raises:
        DataError: naming the first invalid parameter, what it must be and what it got.
    """
    for name, value in values.items():
        if name not in BY_NAME:
            raise DataError(f"{owner}: unknown parameter {name!r}; expected one of {', '.join(BY_NAME)}")
        BY_NAME[name].check(value, owner=owner)
