"""The house: no import cycle, a scoring path that does not stand on training, one declaration per parameter."""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "gnn_mlc"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """The gnn_mlc modules ``path`` imports anywhere (functions included: a lazy import is still a dependency),
    except under ``if TYPE_CHECKING:`` (annotations only)."""
    tree = ast.parse(path.read_text())
    type_only = {id(inner) for node in ast.walk(tree) if isinstance(node, ast.If)
                 and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING" for inner in ast.walk(node)}
    imported = set()
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("gnn_mlc"):
            imported.add(node.module)
            imported.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names if alias.name.startswith("gnn_mlc"))
    return imported


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        targets = {target for target in _imports(path) if target in modules and target != name}
        # importing a.b.c first imports the package a.b, unless it is the importing module's own package (then it
        # is already being initialised, which Python allows)
        parents = {".".join(target.split(".")[:depth]) for target in set(targets)
                   for depth in range(2, target.count(".") + 1)}
        targets |= {parent for parent in parents if parent in modules and not name.startswith(parent + ".")}
        graph[name] = targets - {name}
    return graph


def test_the_package_has_no_import_cycle():
    graph = _graph()
    visiting, done = [], set()

    def visit(module: str) -> None:
        if module in done:
            return
        assert module not in visiting, "import cycle: " + " -> ".join(visiting[visiting.index(module):] + [module])
        visiting.append(module)
        for target in sorted(graph[module]):
            visit(target)
        visiting.pop()
        done.add(module)

    for module in sorted(graph):
        visit(module)


def test_subpackages_follow_the_data_flow():
    """Nothing upstream imports what comes after it: data < graph < nn < training < estimator; serving and
    inspection sit beside evaluation on top, and serving never imports the training side."""
    graph = _graph()
    upstream_of = {
        "gnn_mlc.data": ("gnn_mlc.graph", "gnn_mlc.nn", "gnn_mlc.training", "gnn_mlc.estimator", "gnn_mlc.serving"),
        "gnn_mlc.graph": ("gnn_mlc.nn", "gnn_mlc.training", "gnn_mlc.estimator", "gnn_mlc.serving"),
        "gnn_mlc.nn": ("gnn_mlc.training", "gnn_mlc.estimator", "gnn_mlc.serving"),
        "gnn_mlc.fitted": ("gnn_mlc.estimator", "gnn_mlc.training", "gnn_mlc.serving", "gnn_mlc.evaluation",
                           "gnn_mlc.inspection", "gnn_mlc.model_directory", "gnn_mlc.graph",
                           "gnn_mlc.nn.label_models", "gnn_mlc.nn.label_propagation"),
        "gnn_mlc.model_directory": ("gnn_mlc.estimator", "gnn_mlc.training", "gnn_mlc.serving"),
        "gnn_mlc.serving": ("gnn_mlc.estimator", "gnn_mlc.training", "gnn_mlc.evaluation"),
        "gnn_mlc.evaluation": ("gnn_mlc.estimator", "gnn_mlc.training", "gnn_mlc.serving", "gnn_mlc.inspection"),
        "gnn_mlc.inspection": ("gnn_mlc.estimator", "gnn_mlc.training", "gnn_mlc.serving", "gnn_mlc.evaluation"),
    }
    for package, forbidden in upstream_of.items():
        for module, targets in graph.items():
            if module == package or module.startswith(package + "."):
                bad = [t for t in targets if any(t == f or t.startswith(f + ".") for f in forbidden)]
                assert not bad, f"{module} imports {bad}"


def test_serving_imports_no_training_and_no_scikit_learn():
    code = ("import sys, gnn_mlc.serving, gnn_mlc\n"
            "gnn_mlc.Scorer, gnn_mlc.run_scoring_job, gnn_mlc.DecisionRule\n"
            "bad = [m for m in sys.modules if m.split('.')[0] == 'sklearn' or m.startswith('gnn_mlc.training')"
            " or m in ('gnn_mlc.estimator', 'gnn_mlc.evaluation.metrics', 'torch_geometric')]\n"
            "print(','.join(bad))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "", f"the scoring path imported: {result.stdout.strip()}"


@pytest.mark.parametrize(("imports", "forbidden"), [
    ("gnn_mlc.fitted", "m.split('.')[0] in ('sklearn', 'torch_geometric') or m.startswith('gnn_mlc.training')"
                       " or m in ('gnn_mlc.estimator', 'gnn_mlc.model_directory')"),
    ("gnn_mlc.evaluation, gnn_mlc.inspection, gnn_mlc.evaluation.report, gnn_mlc.inspection.report",
     "m.startswith('gnn_mlc.training') or m == 'gnn_mlc.estimator'"),
])
def test_the_fitted_model_evaluation_and_inspection_stand_on_no_training(imports, forbidden):
    """The fitted model holds no scikit-learn, PyG or training code; evaluation and inspection read fitted models,
    so ``gnn-mlc evaluate`` and ``inspect`` never import the estimator or the training loop."""
    code = (f"import sys, {imports}\n"
            f"print(','.join(m for m in sys.modules if {forbidden}))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "", f"{imports} imported: {result.stdout.strip()}"


def test_the_estimator_is_a_thin_face():
    """The estimator delegates fitting and scoring: it stays a face of at most 300 lines."""
    assert len((PACKAGE / "estimator.py").read_text().splitlines()) <= 300


def test_public_names():
    import gnn_mlc

    for name in ("Scorer", "run_scoring_job", "DecisionRule", "nearest_labels", "agreement_score",
                 "LabelGCNClassifier", "load_model", "read_dataset", "build_label_graph", "evaluate"):
        assert name in gnn_mlc.__all__ and getattr(gnn_mlc, name) is not None


def test_estimator_defaults_and_names_are_the_declared_ones():
    from gnn_mlc import LabelGCNClassifier
    from gnn_mlc.cli import build_parser
    from gnn_mlc.parameters import PARAMETERS

    signature = inspect.signature(LabelGCNClassifier)
    assert list(signature.parameters) == [parameter.name for parameter in PARAMETERS]
    for parameter in PARAMETERS:
        assert signature.parameters[parameter.name].default == parameter.default, parameter.name
    train = build_parser()._subparsers._group_actions[0].choices["train"]  # type: ignore[union-attr]
    destinations = {action.dest for action in train._actions}
    assert {parameter.name for parameter in PARAMETERS if parameter.name != "verbose"} <= destinations
    args = build_parser().parse_args(["train", "--data", "d", "--output", "o", "--epochs", "3", "--seed", "4"])
    assert (args.max_epochs, args.random_state) == (3, 4)  # old spellings kept as hidden aliases


@pytest.mark.parametrize(("flag", "value", "message"), [
    ("--tau", "0", r"--tau: must be a float in \(0, 1\]; got '0'"),
    ("--random-state", "-1", r"--random-state: must be an integer in \[0, 4294967295\]; got '-1'"),
    ("--weight-decay", "nan", r"--weight-decay: must be a non-negative float; got 'nan'"),
    ("--learning-rate", "0", r"--learning-rate: must be a positive float; got '0'"),
])
def test_invalid_values_fail_before_any_work(flag, value, message, capsys, tmp_path):
    from gnn_mlc.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--data", str(tmp_path / "absent.csv"), "--output", str(tmp_path / "m"), flag, value])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert len(error.strip().splitlines()) == 1
    assert __import__("re").search(message, error), error
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize(("name", "value", "message"), [
    ("tau", 0.0, r"The 'tau' parameter of LabelGCNClassifier must be a float in \(0, 1\]; got 0\.0 instead"),
    ("learning_rate", float("nan"), r"The 'learning_rate' parameter .* must be a positive float; got nan"),
    ("random_state", -1, r"The 'random_state' parameter .* must be an integer in \[0, 4294967295\]; got -1"),
    ("max_epochs", 2.5, r"The 'max_epochs' parameter .* must be a positive integer; got 2\.5"),
])
def test_estimator_refuses_invalid_values_before_reading_the_data(name, value, message):
    import numpy as np

    from gnn_mlc import DataError, LabelGCNClassifier

    with pytest.raises(DataError, match=message):
        LabelGCNClassifier(**{name: value}).fit(np.full((4, 2), np.nan), np.zeros((4, 1)))  # NaN X: never read
