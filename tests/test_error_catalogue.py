"""Every case of the bad-input catalogue (tests/error_catalogue.py): exit code 2, one line, no traceback, no output."""

from __future__ import annotations

import re

import pytest

from gnn_mlc.cli import main
from tests.error_catalogue import BEHAVIOURS, CASES, ROOT, prepare


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    directory = tmp_path_factory.mktemp("errors")
    prepare(directory)
    return directory


def test_catalogue_is_large_and_documented():
    assert len(CASES) >= 40
    documented = (ROOT / "docs" / "errors.md").read_text()
    for case in CASES:
        assert f"| {case.name} |" in documented, f"docs/errors.md lacks {case.name!r}: run python -m tests.error_catalogue"


def test_every_defined_behaviour_names_a_test_that_exists_and_is_documented():
    documented = (ROOT / "docs" / "errors.md").read_text()
    for what, _, test in BEHAVIOURS:
        path, name = test.split("::")
        assert re.search(rf"^def {re.escape(name)}\(", (ROOT / path).read_text(), re.MULTILINE), test
        assert f"| {what} |" in documented, f"docs/errors.md lacks {what!r}: run python -m tests.error_catalogue"


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_bad_input_fails_cleanly(case, work, monkeypatch, capsys):
    monkeypatch.chdir(work)
    case.make(work)
    with pytest.raises(SystemExit) as exit_info:
        raise SystemExit(main(case.argv))
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    assert re.search(case.message, lines[0]), lines[0]
    if case.no_output:
        assert not (work / case.no_output).exists()
    assert not list(work.glob(".*.tmp")) and not list(work.glob("**/.*.tmp"))
