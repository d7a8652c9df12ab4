"""The named choices and defaults shared by the library and the CLI; light to import (no torch)."""

from __future__ import annotations

from typing import Literal, get_args

Weighting = Literal["count", "probability", "mlgcn"]
WEIGHTINGS: tuple[str, ...] = get_args(Weighting)

DeviceName = Literal["auto", "cpu", "cuda"]
DEVICES: tuple[str, ...] = get_args(DeviceName)

Strategy = Literal["fixed", "global", "per_label", "pcut", "top_k"]
STRATEGIES: tuple[str, ...] = get_args(Strategy)

DEFAULT_LABEL_COLUMN = "labels"
DEFAULT_ID_COLUMN = "id"
