"""The output helpers: the one JSON writer, and the parameter table's descriptions of valid values."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from gnn_mlc.outputs import json_safe, write_json
from gnn_mlc.parameters import PARAMETERS, Parameter


def test_write_json_writes_plain_json_atomically(tmp_path):
    value = {"map": math.nan, "best": np.float32(0.5), "epochs": np.int64(4), "history": [(1, math.inf)],
             "counts": np.array([1, 2]), "nested": {"low": -math.inf, "name": "ünïcode"}}
    write_json(tmp_path / "out.json", value)
    text = (tmp_path / "out.json").read_text(encoding="utf-8")
    assert text.endswith("}\n") and "NaN" not in text and "Infinity" not in text
    assert json.loads(text) == {"map": None, "best": 0.5, "epochs": 4, "history": [[1, None]], "counts": [1, 2],
                                "nested": {"low": None, "name": "ünïcode"}}
    assert [path.name for path in tmp_path.iterdir()] == ["out.json"]  # no temporary left
    assert json_safe([np.float64("nan"), (np.bool_(True),)]) == [None, [True]]


@pytest.mark.parametrize(("parameter", "description"), [
    (Parameter("n", 0, "int", "", low=0), "a non-negative integer"),
    (Parameter("x", 1.0, "float", "", low=0.0), "a non-negative float"),
    (Parameter("x", 1.0, "float", "", low=0.0, low_open=True), "a positive float"),
    (Parameter("n", 1, "int", "", low=0, low_open=True), "a positive integer"),
    (Parameter("n", 1, "int", "", low=1), "a positive integer"),
    (Parameter("x", 0.0, "float", ""), "a finite float"),
    (Parameter("n", 0, "int", ""), "a finite integer"),
    (Parameter("x", 0.5, "float", "", low=0.0, high=1.0, high_open=True), "a float in [0, 1)"),
    (Parameter("n", 1, "int", "", low=1, high=8), "an integer in [1, 8]"),
])
def test_parameter_descriptions_read_as_english(parameter, description):
    assert parameter.describe() == description


def test_every_declared_parameter_describes_itself_without_a_double_space():
    for parameter in PARAMETERS:
        text = parameter.describe()
        assert "  " not in text and text == text.strip() and text.split()[0] in ("a", "an", "one", "True"), text
