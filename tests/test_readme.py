"""The README runs as written: every `gnn-mlc` command in its shell blocks parses, and the walk-through runs.

Training is shortened to 2 epochs in the runs (the train commands' other arguments are as written, and the parse
test checks them whole); everything else runs exactly as the README says.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from gnn_mlc.cli import build_parser, main

README = Path(__file__).resolve().parents[1] / "README.md"


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README.read_text(), flags=re.S)


def _commands(block: str) -> list[list[str]]:
    """The `gnn-mlc` command lines of a shell block (continuations joined, comments dropped), as argv lists."""
    joined = block.replace("\\\n", " ")
    return [shlex.split(line, comments=True) for line in joined.splitlines() if line.strip().startswith("gnn-mlc ")]


def test_every_readme_command_parses():
    commands = [argv for block in _blocks("bash") for argv in _commands(block)]
    assert len(commands) >= 8
    for argv in commands:
        try:
            build_parser().parse_args(argv[1:])
        except SystemExit as error:
            pytest.fail(f"README command does not parse: {shlex.join(argv)} (exit {error.code})")


@pytest.mark.timeout(600)
def test_the_command_line_walk_through_runs_as_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").symlink_to(README.parent / "data")
    walk_through = [block for block in _blocks("bash") if "gnn-mlc train" in block][0]
    score = [block for block in _blocks("bash") if "gnn-mlc score" in block][0]
    for argv in _commands(walk_through) + _commands(score):
        quick = ["--max-epochs", "2", "--quiet"] if argv[1] == "train" else []
        assert main(argv[1:] + quick) == 0, shlex.join(argv)
    assert (tmp_path / "recs.parquet").is_file() and (tmp_path / "recs" / "_SUCCESS").is_file()
    assert (tmp_path / "report" / "metrics.json").is_file()


@pytest.mark.timeout(600)
def test_the_python_example_runs_as_written(tmp_path, monkeypatch):
    from gnn_mlc import LabelGCNClassifier

    monkeypatch.setitem(LabelGCNClassifier.__init__.__kwdefaults__, "max_epochs", 2)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").symlink_to(README.parent / "data")
    example = [block for block in _blocks("python") if "LabelGCNClassifier(" in block][0]
    exec(compile(example, "README.md", "exec"), {})  # noqa: S102 - the README's own example
    assert (tmp_path / "models" / "gcn" / "manifest.json").is_file()
