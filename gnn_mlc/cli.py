"""The ``gnn-mlc`` command line: argument parsing and one library call per command.

``train``'s options are built from :mod:`gnn_mlc.parameters`, the same table the estimator checks its parameters
against, so both accept the same values under the same names and an invalid one fails before any data is read.
Errors the user can fix print one line, ``error: ...``, and exit with code 2; nothing partial is written.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gnn_mlc._typing import DEFAULT_LABEL_COLUMN, DEFAULT_TOP_K, DEVICES, OUTPUT_COLUMNS
from gnn_mlc.errors import GnnMlcError
from gnn_mlc.outputs import check_output_path
from gnn_mlc.parameters import BY_NAME, PARAMETERS, Parameter, check_parameters

if TYPE_CHECKING:
    from gnn_mlc.data import CategoricalColumn, Dataset, ItemColumn, TableOptions
    from gnn_mlc.serving import ScoringOptions

# The heavy modules (torch, torch_geometric) are imported by the commands, so that --help and argument errors
# answer at once.
EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (no usage dump) and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"error: {message}. Hint: see '{self.prog} --help'\n")


def _value_type(parameter: Parameter) -> Callable[[str], Any]:
    """An argparse ``type=`` converting a flag's text and checking it against the parameter's declaration."""

    def parse(text: str) -> Any:
        try:
            value = int(text) if parameter.kind == "int" else float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {parameter.describe()}; got {text!r}") from None
        if not parameter.is_valid(value):
            raise argparse.ArgumentTypeError(f"must be {parameter.describe()}; got {text!r}")
        return value

    return parse


def _add_parameter(parser: argparse.ArgumentParser, parameter: Parameter) -> None:
    """One estimator parameter as a flag (and its old spellings as hidden aliases)."""
    if parameter.kind == "bool":
        action = "store_false" if parameter.default else "store_true"
        parser.add_argument(parameter.cli_flag, dest=parameter.name, action=action, help=parameter.help)
        return
    options: dict[str, Any] = {"dest": parameter.name, "metavar": parameter.name.upper()}
    if parameter.kind == "choice":
        options["choices"] = parameter.choices
    else:
        options["type"] = _value_type(parameter)
    parser.add_argument(parameter.cli_flag, default=parameter.default,
                        help=f"{parameter.help} (default: {parameter.default})", **options)
    for alias in parameter.aliases:
        parser.add_argument(alias, default=argparse.SUPPRESS, help=argparse.SUPPRESS, **options)


def _add_data_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--labels", help="ARFF: label XML file (default: the .xml beside the data, or MEKA -C n)")
    parser.add_argument("--label-column", default=DEFAULT_LABEL_COLUMN,
                        help="CSV/Parquet: column with each row's labels (default: %(default)s)")
    _add_label_delimiter(parser)
    parser.add_argument("--id-column", help="CSV/Parquet: identifier column (default: the model's training id "
                                            "column, else 'id' when present)")
    parser.add_argument("--feature-columns", type=_column_names, metavar="A,B,...",
                        help="CSV/Parquet: the feature columns (default: all but the label and id columns)")
    parser.add_argument("--exclude-columns", type=_column_names, default=(), metavar="A,B,...",
                        help="CSV/Parquet: columns that are not features (e.g. an identifier)")
    parser.add_argument("--known-column", help="CSV/Parquet: a list column of the labels each row already has (a "
                                               "user's history): the model takes them as evidence (train: fitted "
                                               "with them; evaluate: they are not ranked)")


def _add_label_delimiter(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--label-delimiter", help="CSV: the separator of names in a string label, known-label, "
                                                  "exclude or item list column (default: the model's, else '|')")


def _add_without_history(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--without-history", action="store_true",
                        help="score a model trained with known labels without any (every row as a user with no "
                             "history); such a model otherwise requires --known-column")


def _column_names(text: str) -> list[str]:
    """An argparse ``type=`` for a comma-separated list of column names."""
    names = [name.strip() for name in text.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(f"expected comma-separated column names; got {text!r}")
    return names


BASELINES = ("popularity", "itemknn", "ease", "history", "none")


def _baseline_names(text: str) -> tuple[str, ...]:
    """An argparse ``type=`` for ``--baseline``: comma-separated names among :data:`BASELINES` (``none``: no
    baseline)."""
    names = tuple(dict.fromkeys(name.strip() for name in text.split(",")))
    for name in names:
        if name not in BASELINES:
            raise argparse.ArgumentTypeError(f"invalid choice: {name!r} (choose from "
                                             f"{', '.join(map(repr, BASELINES))})")
    return tuple(name for name in names if name != "none")


def _positive_integers(text: str) -> tuple[int, ...]:
    """An argparse ``type=`` for a comma-separated list of positive integers (``--ks 5,10,20``)."""
    try:
        values = tuple(dict.fromkeys(int(value) for value in text.split(",")))
    except ValueError:
        values = ()
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"must be comma-separated positive integers; got {text!r}")
    return values


def _output_id_column(text: str) -> str:
    """An argparse ``type=`` for ``--output-id-column``: a non-empty name that is not another output column's."""
    if not text or text in OUTPUT_COLUMNS:
        raise argparse.ArgumentTypeError(f"must not be empty or an output column's name ({', '.join(OUTPUT_COLUMNS)})"
                                         f"; got {text!r}")
    return text


def _add_graph_options(parser: argparse.ArgumentParser) -> None:
    """The graph sources ``train`` and ``add-labels`` take (gnn_mlc.data.graph_sources)."""
    parser.add_argument("--graph-data", type=Path, metavar="FILE",
                        help="label-only rows (baskets, sessions): ARFF, or CSV/Parquet with a label column or a long "
                             "(row id, label) table; merged into the label graph, and labels no training row has "
                             "become cold labels scored through it")
    parser.add_argument("--graph-label-column", default=DEFAULT_LABEL_COLUMN,
                        help="--graph-data: its label column (default: %(default)s)")
    parser.add_argument("--graph-row-column", help="--graph-data: a long table's row id column (one label a line)")
    parser.add_argument("--graph-edges", type=Path, metavar="FILE",
                        help="external label edges: CSV (source, target, optional weight), GraphML or GEXF")
    parser.add_argument("--label-features", type=Path, metavar="FILE",
                        help="one feature vector per label: CSV/Parquet with a 'label' column and numeric columns; "
                             "a label only this file names (a catalogue item) becomes a label scored from its "
                             "features (add-labels: rows with no label name or a missing feature are skipped and "
                             "counted)")


def _graph_sources(args: argparse.Namespace, label_delimiter: str, *, skip_incomplete: bool = False
                   ) -> dict[str, Any]:
    """The ``fit``/``add_labels`` keyword arguments of the graph options (files read and checked here; a string
    label column split on ``label_delimiter``; ``skip_incomplete``: label feature rows without a name or with a
    missing feature skipped and counted, not refused)."""
    from gnn_mlc.data.graph_sources import read_label_features, read_label_log

    log = None if args.graph_data is None else read_label_log(
        args.graph_data, label_column=args.graph_label_column, row_column=args.graph_row_column,
        label_delimiter=label_delimiter)
    features = None if args.label_features is None else read_label_features(args.label_features,
                                                                            skip_incomplete=skip_incomplete)
    return {"graph_data": log, "graph_edges": args.graph_edges, "label_features": features}


def _graph_files(args: argparse.Namespace) -> list[Path | None]:
    """The graph option files (``None`` where not given): inputs an output must not destroy."""
    return [args.graph_data, args.graph_edges, args.label_features]


def _add_scoring_options(parser: argparse.ArgumentParser) -> None:
    """The options ``predict`` and ``score`` share, with the same defaults."""
    parser.add_argument("--model", required=True, type=Path, help="model directory")
    parser.add_argument("--top-k", type=_value_type(Parameter("top_k", DEFAULT_TOP_K, "int", "", low=1)),
                        default=DEFAULT_TOP_K, help="labels per row (default: %(default)s)")
    parser.add_argument("--id-column", help="identifier column, copied to the output under its name (default: the "
                                            "model's training id column, else 'id', else the row position 'row')")
    parser.add_argument("--device", choices=DEVICES, default="auto", help="(default: %(default)s)")
    parser.add_argument("--with-labels", action="store_true",
                        help="also write 'predicted', the label set the model's decision rule gives")
    parser.add_argument("--output-id-column", type=_output_id_column,
                        help="name of the id column in the output (default: the input's)")
    parser.add_argument("--exclude-column", help="a list column of label names per row never to recommend to it "
                                                 "(e.g. the interests a user already has; CSV: --label-delimiter)")
    parser.add_argument("--min-score", type=_value_type(Parameter("min_score", 0.0, "float", "", low=0.0, high=1.0)),
                        help="keep only recommendations scoring at least this (lists may be shorter than --top-k)")
    parser.add_argument("--known-column", help="a list column of the labels each row already has (CSV: "
                                               "--label-delimiter): evidence for a model trained with known labels "
                                               "(refused for another model), never recommended unless --keep-known")
    parser.add_argument("--keep-known", action="store_true", help="rank the --known-column labels too")
    _add_without_history(parser)
    _add_label_delimiter(parser)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="gnn-mlc", description="Multi-label classification with a label co-occurrence graph.")
    parser.add_argument("--verbose", action="store_true", help="log details (to stderr)")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser, metavar="COMMAND")

    train = commands.add_parser("train", help="train a model and write its model directory",
                                description="Train a label-graph GCN (or, with --no-graph, the baseline) on a data "
                                            "file and write a model directory.")
    train.add_argument("--data", required=True, type=Path, help="training data: .arff, .csv or .parquet")
    train.add_argument("--output", required=True, type=Path, help="model directory to create")
    _add_data_options(train)
    train.add_argument("--item-columns", type=_column_names, default=(), metavar="A,B,...",
                       help="CSV/Parquet: feature columns holding item lists (a user's history) as --label-delimiter "
                            "strings; list-typed Parquet columns are item columns anyway. Each item becomes a sparse "
                            "feature; the vocabulary is saved with the model, unseen items are ignored and counted")
    train.add_argument("--item-weighting", choices=("binary", "tfidf"), default="binary",
                       help="item columns: 1 per item, or tf-idf (scikit-learn's defaults) (default: %(default)s)")
    train.add_argument("--max-categories", type=_value_type(Parameter("max_categories", 100, "int", "", low=1)),
                       default=100, metavar="N",
                       help="CSV/Parquet text columns become one-hot features ('column=value'); each keeps its N most "
                            "frequent training values, every other value goes to 'column=__other__' "
                            "(default: %(default)s)")
    _add_graph_options(train)
    for parameter in PARAMETERS:
        if parameter.name != "verbose":
            _add_parameter(train, parameter)
    train.add_argument("--known-split", action="store_true",
                       help="learn to use known labels from random known parts of each row's labels (when the data "
                            "has no --known-column)")
    train.add_argument("--overwrite", action="store_true", help="replace --output if it exists")
    train.add_argument("--resume", action="store_true",
                       help="continue an interrupted run from its last epoch checkpoint (same data and parameters)")
    train.add_argument("--quiet", action="store_true", help="no progress bar")

    evaluate_parser = commands.add_parser("evaluate", help="evaluate model directories on labelled data",
                                          description="Score labelled data with a model (or several, side by side) "
                                                      "and print the headline metrics.")
    which = evaluate_parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--model", type=Path, help="model directory")
    which.add_argument("--compare", nargs="+", type=Path, metavar="DIR", help="model directories to compare")
    evaluate_parser.add_argument("--data", required=True, type=Path, help="labelled data: .arff, .csv or .parquet")
    _add_data_options(evaluate_parser)
    evaluate_parser.add_argument("--output", type=Path,
                                 help="write metrics.json, metrics.md and per-label CSV(s) into this directory")
    _add_without_history(evaluate_parser)
    evaluate_parser.add_argument("--baseline", type=_baseline_names, default=("popularity",), metavar="A,B,...",
                                 help="baselines shown beside the models, from the (first) model's training counts: "
                                      "popularity (its label frequencies), itemknn and ease (item-item anchors "
                                      "scoring a row from its --known-column labels), history (the row's known "
                                      "labels first; its figures count them), or none (default: popularity)")
    evaluate_parser.add_argument("--ks", type=_positive_integers, default=(1, 3, 5, 10), metavar="K,K,...",
                                 help="the k of P@k, Recall@k and nDCG@k, per row with known labels excluded "
                                      "(default: 1,3,5,10)")

    predict = commands.add_parser("predict", help="write the top-k labels of each row of one file",
                                  description="Score the rows of one file and write each row's k best labels with "
                                              "their scores to one Parquet, CSV or JSON-lines file (the scoring "
                                              "job's path).")
    _add_scoring_options(predict)
    predict.add_argument("--input", required=True, type=Path, help="rows to score: .arff, .csv or .parquet")
    predict.add_argument("--output", required=True, type=Path,
                         help="output file, its suffix the format: .parquet, .csv, or .json/.jsonl (JSON lines)")
    predict.add_argument("--labels", help="ARFF: label XML file (default: the .xml beside the data, or MEKA -C n)")

    graph = commands.add_parser("graph", help="build, export and describe the label graph",
                                description="Build the label co-occurrence graph of a data file, write it as "
                                            "GraphML and print its statistics.")
    graph.add_argument("--data", required=True, type=Path, help="labelled data: .arff, .csv or .parquet")
    graph.add_argument("--output", required=True, type=Path, help="GraphML file to write")
    _add_data_options(graph)
    for name in ("graph_weighting", "tau", "p"):
        _add_parameter(graph, BY_NAME[name])

    group = commands.add_parser("group", help="group long (id, item) / (id, label) tables into one row per id",
                                description="Turn long interaction tables (one event a row) into the wide table "
                                            "every other command reads: one row per id with 'items' and 'labels' "
                                            "list columns (and the columns of a one-row-per-id users table).")
    group.add_argument("--items", type=Path, metavar="FILE", help="CSV/Parquet: one (id, item) event a row")
    group.add_argument("--labels", type=Path, metavar="FILE", help="CSV/Parquet: one (id, label) a row")
    group.add_argument("--users", type=Path, metavar="FILE", help="CSV/Parquet: one row per id, other columns kept "
                                                                  "(user features)")
    group.add_argument("--id-column", required=True, help="the id column of every table")
    group.add_argument("--item-column", default="item", help="--items: its item column (default: %(default)s)")
    group.add_argument("--label-column", default="label", help="--labels: its label column (default: %(default)s)")
    group.add_argument("--weight-column", help="--items: a numeric column (a rating); with --min-weight, lighter "
                                               "events are dropped")
    group.add_argument("--min-weight", type=_value_type(Parameter("min_weight", 0.0, "float", "")),
                       help="--weight-column: the least weight an event needs to count (e.g. 4 for ratings >= 4)")
    group.add_argument("--time-column", help="--items: the events' time (numeric or timestamp), for "
                                             "--holdout-fraction")
    group.add_argument("--holdout-fraction", type=_value_type(Parameter("holdout_fraction", 0.2, "float", "", low=0.0,
                                                                        high=1.0, low_open=True, high_open=True)),
                       help="temporal holdout: each user's latest share of events (by --time-column) become the "
                            "'labels', the earlier ones the 'items' and the 'history' column (known labels)")
    group.add_argument("--item-labels", type=Path, metavar="FILE",
                       help="CSV/Parquet item map (--item-column, 'labels' as a list or --label-delimiter string, "
                            "e.g. movie -> genres): a user's labels become the union of their items' labels")
    group.add_argument("--item-labels-column", default=DEFAULT_LABEL_COLUMN,
                       help="--item-labels: its label column (default: %(default)s)")
    _add_label_delimiter(group)
    group.add_argument("--output", required=True, type=Path, help="the wide table to write (.parquet)")
    group.add_argument("--overwrite", action="store_true", help="replace --output if it exists")

    split = commands.add_parser("split", help="split a CSV/Parquet table's rows into train and test files",
                                description="Split a data file's rows into a training and a test file of the same "
                                            "format: at random, stratified by the labels (iterative "
                                            "stratification), or by time (the latest rows to test).")
    split.add_argument("--data", required=True, type=Path, help="the rows to split: .csv or .parquet")
    split.add_argument("--output-train", required=True, type=Path, help="the training rows (the input's format)")
    split.add_argument("--output-test", required=True, type=Path, help="the test rows (the input's format)")
    split.add_argument("--test-fraction", default=0.2, type=_value_type(Parameter(
        "test_fraction", 0.2, "float", "", low=0.0, high=1.0, low_open=True, high_open=True)),
                       help="the share of rows that go to test (default: %(default)s)")
    how = split.add_mutually_exclusive_group()
    how.add_argument("--stratified", action="store_true",
                     help="keep every label's share of positives in both files (iterative stratification)")
    how.add_argument("--time-column", help="a numeric or timestamp column: the latest rows go to test")
    split.add_argument("--label-column", default=DEFAULT_LABEL_COLUMN,
                       help="--stratified: the label column (default: %(default)s)")
    _add_label_delimiter(split)
    split.add_argument("--seed", type=int, default=0, help="random and stratified splits (default: %(default)s)")
    split.add_argument("--overwrite", action="store_true", help="replace the outputs if they exist")

    score = commands.add_parser("score", help="batch job: top-k recommendations for every row, as Parquet shards",
                                description="Stream a Parquet/CSV input (file, directory or glob) through a model "
                                            "and write each row's top-k labels and scores as Parquet shards. Safe to "
                                            "kill and re-run: finished shards are kept, the rest is scored.")
    _add_scoring_options(score)
    score.add_argument("--input", required=True, help="Parquet/CSV file, directory or glob")
    score.add_argument("--output", required=True, type=Path, help="output directory for the shards")
    score.add_argument("--batch-size", type=_value_type(Parameter("batch_size", 65536, "int", "", low=1)),
                       default=65536, help="rows read and scored at a time; bounds memory (default: %(default)s)")
    score.add_argument("--rows-per-shard", type=_value_type(Parameter("rows_per_shard", 1, "int", "", low=1)),
                       default=1_000_000,
                       help="input rows per output shard, the unit of resumption (default: %(default)s)")
    score.add_argument("--overwrite", action="store_true", help="score again even if the output is complete")
    score.add_argument("--shard-index", type=int, default=0, help="this worker's index (default: %(default)s)")
    score.add_argument("--num-shards", type=_value_type(Parameter("num_shards", 1, "int", "", low=1)), default=1,
                       help="workers sharing the input files (default: %(default)s)")
    score.add_argument("--quiet", action="store_true", help="no progress bar")

    add_labels = commands.add_parser(
        "add-labels", help="give a trained model new labels from graph sources, without retraining",
        description="Add the labels that new graph sources name (a label-only log, external edges, label features) "
                    "to a trained model and write a new model directory; the model itself is not retrained.")
    add_labels.add_argument("--model", required=True, type=Path, help="the trained model directory (left untouched)")
    add_labels.add_argument("--output", required=True, type=Path, help="the new model directory")
    add_labels.add_argument("--overwrite", action="store_true", help="replace --output if it exists")
    _add_graph_options(add_labels)
    _add_label_delimiter(add_labels)

    inspect = commands.add_parser("inspect", help="inspect label embeddings: neighbours, exports, pictures",
                                  description="Show a label's nearest labels with their co-occurrence evidence, "
                                              "or write exports, pictures and a report of all label embeddings.")
    inspect.add_argument("--model", required=True, type=Path, help="model directory")
    inspect.add_argument("--label", help="print this label's nearest labels")
    inspect.add_argument("-k", type=_value_type(Parameter("k", 10, "int", "", low=1)), default=10,
                         help="neighbours to show (default: %(default)s)")
    inspect.add_argument("--output", type=Path, help="write embeddings (.npy, TensorBoard projector), GraphML/GEXF, "
                         "PNGs and report.md into this directory")
    inspect.add_argument("--baseline", type=Path, help="a second model directory whose agreement score the report "
                         "shows beside (e.g. the no-graph baseline)")
    inspect.add_argument("--label-names", type=Path, metavar="FILE",
                         help="CSV/Parquet with columns label and name: readable names shown for the labels in the "
                              "pictures, the report and the projector metadata (e.g. catalogue ids -> titles)")
    return parser


def _table_options(args: argparse.Namespace, model_delimiter: str | None = None) -> TableOptions:
    """The table options of a command's data flags, built and checked once; the delimiter defaults to the model's
    (``model_delimiter``), else ``|``."""
    from gnn_mlc.data import DEFAULT_LABEL_DELIMITER, TableOptions
    from gnn_mlc.data.categories import DEFAULT_MAX_CATEGORIES

    return TableOptions(
        label_column=args.label_column, id_column=args.id_column,
        label_delimiter=args.label_delimiter or model_delimiter or DEFAULT_LABEL_DELIMITER,
        feature_columns=args.feature_columns, exclude_columns=tuple(args.exclude_columns),
        known_column=args.known_column, item_columns=tuple(getattr(args, "item_columns", ())),
        item_weighting=getattr(args, "item_weighting", "binary"),
        max_categories=getattr(args, "max_categories", DEFAULT_MAX_CATEGORIES))


def _read(args: argparse.Namespace, path: Path, options: TableOptions, training_id_column: str | None = None,
          model_columns: list[str] | None = None, vocabularies: Sequence[ItemColumn] = (),
          categories: Sequence[CategoricalColumn] = ()) -> Dataset:
    """Read ``path`` with the table ``options``; ``model_columns``: a table's default feature columns are the
    model's input columns, its item columns read with the model's ``vocabularies`` and its categorical columns
    with the model's ``categories``."""
    from dataclasses import replace

    from gnn_mlc.data import is_table, read_dataset

    table = is_table(path)
    if options.feature_columns is None and table and not options.exclude_columns and model_columns:
        options = replace(options, feature_columns=tuple(model_columns))
    return read_dataset(path, labels=args.labels, options=options, training_id_column=training_id_column,
                        vocabularies=vocabularies if table else (), categories=categories if table else ())


def _scoring_options(args: argparse.Namespace) -> ScoringOptions:
    """The scoring options of ``predict``'s and ``score``'s flags, built and checked once."""
    from gnn_mlc.serving import ScoringOptions

    return ScoringOptions(
        top_k=args.top_k, id_column=args.id_column, output_id_column=args.output_id_column,
        exclude_column=args.exclude_column, known_column=args.known_column, min_score=args.min_score,
        with_labels=args.with_labels, keep_known=args.keep_known, without_history=args.without_history,
        device=args.device, label_delimiter=args.label_delimiter)


def _model_inputs(directories: Sequence[Path]
                  ) -> tuple[list[str] | None, list[ItemColumn], list[CategoricalColumn]]:
    """The input columns of the models in ``directories`` (numeric, categorical, then item columns), their item
    columns and their categorical columns.

    Raises:
        GnnMlcError: two models read one item or categorical column with different vocabularies (one reading cannot
            serve both).
    """
    from gnn_mlc.model_directory import load_model_parts

    columns: dict[str, None] = {}
    readings: dict[str, dict[str, Any]] = {"item": {}, "categorical": {}}
    for directory in directories:
        parts = load_model_parts(directory)
        columns.update(dict.fromkeys(parts.input_columns))
        for kind, fitted in (("item", parts.item_columns), ("categorical", parts.categorical_columns)):
            for column in fitted:
                if readings[kind].setdefault(column.name, column).to_json() != column.to_json():
                    raise GnnMlcError(f"{directory}: reads {kind} column {column.name!r} with another vocabulary or "
                                      "weighting than the models before it; expected one reading for all. Hint: "
                                      "evaluate these models one at a time")
    return list(columns) or None, list(readings["item"].values()), list(readings["categorical"].values())


def run_train(args: argparse.Namespace) -> int:
    parameters = {parameter.name: getattr(args, parameter.name) for parameter in PARAMETERS
                  if parameter.name != "verbose"}
    parameters["verbose"] = not args.quiet
    check_parameters(parameters, owner="gnn-mlc train")  # before any data is read
    check_output_path(args.output, inputs=[args.data, args.labels, *_graph_files(args)], what="a model directory",
                      kind="model directory")
    if args.output.exists() and not args.overwrite:
        raise GnnMlcError(f"{args.output}: already exists; expected a new directory. Hint: add --overwrite")

    from gnn_mlc.estimator import LabelGCNClassifier
    from gnn_mlc.outputs import ensure_writable_directory
    from gnn_mlc.training.distributed import process_group

    ensure_writable_directory(args.output.parent, what="the model directory")
    options = _table_options(args)
    data = _read(args, args.data, options)
    classifier = LabelGCNClassifier(**parameters)
    # Saved after every epoch beside the output, removed once the model directory is written.
    checkpoint = args.output.parent / f".{args.output.name}.checkpoint.pt"
    if args.resume and not checkpoint.exists():
        print(f"no checkpoint at {checkpoint}: starting from the first epoch", file=sys.stderr)
    sources = _graph_sources(args, options.label_delimiter)
    with process_group(args.device) as rank:
        classifier.fit(data.X, data.Y, label_names=data.label_names, feature_names=data.feature_names,
                       checkpoint=checkpoint, resume=args.resume, Y_missing=data.Y_missing, **sources,
                       known_labels="split" if args.known_split else data.known, item_columns=data.item_columns,
                       categorical_columns=data.categorical_columns)
        if rank != 0:  # data-parallel run (torchrun): rank 0 writes the model
            return 0
        classifier.to_directory(args.output, overwrite=args.overwrite,
                                data_columns={"id_column": data.id_column, "label_column": options.label_column,
                                              "label_delimiter": options.label_delimiter})
        checkpoint.unlink(missing_ok=True)
    kind = "no-graph baseline" if not args.use_graph else "label-graph GCN"
    print(
        f"trained {kind} on {data.num_rows} rows x {data.num_features} features, {data.num_labels} labels: "
        f"best epoch {classifier.training_.best_epoch} of {classifier.training_.epochs_run} by validation "
        f"{classifier.training_.validation_metric} (the metric early stopping watched) "
        f"{classifier.training_.best_validation:.4f}"
        f"{_graph_summary(classifier)}{_known_summary(classifier.fitted_.metrics)}{_category_summary(data)}\n"
        f"model written to {args.output}"
    )
    return 0


def _category_summary(data: Dataset) -> str:
    """``; categories: gender 2, occupation 3 + __other__`` (each text column's one-hot features) or nothing."""
    from gnn_mlc.data.categories import OTHER

    details = ", ".join(f"{column.name} {len(column.categories)}" + (f" + {OTHER}" if column.other else "")
                        for column in data.categorical_columns)
    return f"; categories: {details}" if details else ""


def _known_summary(metrics: dict[str, Any]) -> str:
    """``; known labels: term 1 + network 0.5 chosen on 105 held-out rows (nDCG@10 0.412), lambda 300`` (``chosen out
    of fold on 310 training rows`` where the validation rows were too few; `` + transition (lambda_T 300, weight
    0.96)`` where one was chosen; ``; 40 label(s) only the log carries, their columns mixed with conditional
    probabilities`` where the label-only log brought any; ``; the network alone at 0.62 of the term alone (< 0.8) is
    not blended in`` where that kept the term alone) or nothing."""
    from gnn_mlc.training.blend import MIN_NETWORK_SHARE

    known = metrics.get("known_term")
    if not known:
        return ""
    term, network = known["blend"]
    ndcg = known["blend_ndcg@10"].get(f"term {term:g} + network {network:g}", float("nan"))
    where = (f"out of fold on {known['blend_rows']} training rows" if known.get("blend_chosen_on") == "out of fold"
             else f"on {known['held_out_rows']} held-out rows")
    share = known.get("network_share")  # None: an older model, or inf written to metrics.json as null
    weak = (f"; the network alone at {share:.2f} of the term alone (< {MIN_NETWORK_SHARE:g}) is not blended in"
            if share is not None and share < MIN_NETWORK_SHARE else "")
    transition = known.get("transition")  # absent from older models' metrics
    beside = (f" + transition (lambda_T {transition['regularisation']:g}, weight {transition['weight']:.3g})"
              if transition else "")
    cold = known.get("cold_labels", 0)  # absent from older models' metrics
    logged = (f"; {cold} label(s) only the log carries, their columns mixed with conditional probabilities"
              if cold else "")
    return (f"; known labels: term {term:g} + network {network:g} chosen {where} (nDCG@10 {ndcg:.4f}), "
            f"lambda {known['regularisation']}{beside}{logged}{weak}")


def _graph_summary(classifier: object) -> str:
    """Every label of the model counted by where its vector came from, e.g. ``; 50 labels by the source of their
    vectors: trained 47, log 2, edges 1`` (sources as in ``label_sources.json``: trained, log, edges, features,
    edges+features, none)."""
    from collections import Counter

    from gnn_mlc.model_directory import SOURCES

    counts = Counter(str(source) for source in classifier.label_sources_)
    details = ", ".join(f"{source} {counts[source]}" for source in SOURCES if counts[source])
    return f"; {sum(counts.values())} labels by the source of their vectors: {details}"


def run_add_labels(args: argparse.Namespace) -> int:
    from gnn_mlc.estimator import load_model
    from gnn_mlc.model_directory import load_model_parts

    if args.output.exists() and not args.overwrite:
        raise GnnMlcError(f"{args.output}: already exists; expected a new directory. Hint: add --overwrite")
    if args.output.resolve() == args.model.resolve():
        raise GnnMlcError(f"{args.output}: is the model directory itself; expected a new one (the trained model "
                          "stays untouched)")
    check_output_path(args.output, inputs=[args.model, *_graph_files(args)], what="a new model directory",
                      kind="model directory")
    classifier = load_model(args.model)
    parts = load_model_parts(args.model)
    sources = _graph_sources(args, args.label_delimiter or parts.data_columns.get("label_delimiter") or "|",
                             skip_incomplete=True)  # a catalogue-wide metadata file has gaps
    if not any(value is not None for value in sources.values()):
        raise GnnMlcError("add-labels: no graph source; expected --graph-data, --graph-edges and/or --label-features")
    extended = classifier.add_labels(**sources)
    extended.to_directory(args.output, overwrite=args.overwrite, data_columns=parts.data_columns)
    added = len(extended.classes_) - len(classifier.classes_)
    skipped = "" if sources["label_features"] is None else sources["label_features"].describe_skipped()
    print(f"added {added} labels to {args.model} ({len(extended.classes_)} in all){_graph_summary(extended)}"
          + (f"; {skipped}" if skipped else "") + f"\nmodel written to {args.output}")
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    from gnn_mlc.evaluation.report import (
        by_source_table,
        evaluate_classifier,
        headline_metrics,
        metrics_table,
        write_report,
    )
    from gnn_mlc.model_directory import load_model_parts

    directories = [args.model] if args.model else args.compare
    if args.output:
        check_output_path(args.output, inputs=[*directories, args.data, args.labels], what="the report",
                          kind="directory")
    models = [load_model_parts(path) for path in directories]
    # The first model's training id column, as the scoring commands default to: it must not become a feature.
    recorded = (model.data_columns.get("id_column") for model in models)
    columns, vocabularies, categories = _model_inputs(directories)
    options = _table_options(args, models[0].data_columns.get("label_delimiter"))
    _check_history_contract(models, directories, args)
    data = _read(args, args.data, options, training_id_column=next((column for column in recorded if column), None),
                 model_columns=columns, vocabularies=vocabularies, categories=categories)
    warnings = [line for model, path in zip(models, directories)
                if (line := _unknown_known_labels(model, data, path, options.known_column))]
    baselines = _baselines(args.baseline, models[0], data)
    shared = None
    if len(models) > 1:  # every model on the labels they all know
        common = set.intersection(*(set(model.label_names) for model in models))
        shared = [label for label in models[0].label_names if label in common]
        left = len(set().union(*(model.label_names for model in models)) - common)
        if left:
            warnings.append(f"compared on the {len(shared):,} labels every model knows; {left:,} labels known to only "
                            "some of them are left out of every figure")
    evaluations = []
    for name, model in zip(_model_names(directories, baselines=list(baselines)), models):
        evaluations.append(evaluate_classifier(model, data, name=name, ks=args.ks, only_labels=shared))
    for name, baseline in baselines.items():
        evaluations.append(evaluate_classifier(baseline, data, name=name, ks=args.ks, only_labels=shared))
    title = f"Evaluation on `{args.data}` ({data.num_rows} rows, {data.num_labels} labels)" + "".join(
        f"\n\n{line}" for line in [*(counts.describe(name) for name, counts in data.item_counts.items()),
                                   *(data.category_counts[column.name].describe(column.name, other=column.other)
                                     for column in data.categorical_columns), *warnings])
    if "history" in baselines:
        title += ("\n\nhistory: each row's known labels ranked first; unlike the others its figures count the known "
                  "labels (how much of the targets a user already had)")
    sources = by_source_table(evaluations, k=max(args.ks))
    print(f"{title}\n\n{metrics_table({e.name: e.metrics for e in evaluations}, headline_metrics(args.ks))}"
          + (f"\n{sources}" if sources else ""), end="")
    if args.output:
        for path in write_report(evaluations, args.output, title=title, ks=args.ks):
            print(f"wrote {path}")
    else:
        print("(add --output DIR to write metrics.json, metrics.md and the per-label CSV)")
    return 0


def _check_history_contract(models: Sequence[Any], directories: Sequence[Path], args: argparse.Namespace) -> None:
    """Known labels are part of a model's contract (as the Scorer holds it): a model trained with them is evaluated
    with them or, said explicitly, without history; ``--known-column`` needs a model that takes them (in a
    comparison, the others only leave those labels out of their figures), or a baseline scoring from them
    (itemknn, ease, history), beside which a model without the term only leaves them out of its figures.

    Raises:
        GnnMlcError: naming the model directory and the way out.
    """
    if args.without_history and args.known_column is not None:
        raise GnnMlcError(f"--without-history: given with --known-column {args.known_column!r}; expected one of them "
                          "(evaluate with the history, or without). Hint: drop --without-history")
    with_term = [path for model, path in zip(models, directories) if model.has_known_term]
    if with_term and args.known_column is None and not args.without_history:
        raise GnnMlcError(f"{with_term[0]}: the model was trained with known labels (a user's history) and none are "
                          "given; expected --known-column. Hint: add --without-history to evaluate every row as a "
                          "user without history")
    if args.known_column is not None and not with_term and not set(args.baseline) - {"popularity"}:
        raise GnnMlcError(f"{directories[0]}: --known-column {args.known_column!r} given, but no model here was "
                          "trained with known labels; expected a model trained with --known-column or --known-split. "
                          "Hint: drop --known-column")


def _unknown_known_labels(model: Any, data: Dataset, directory: Path, known_column: str | None) -> str:
    """A warning line when some of the data's known-label names are not labels of ``model`` (``""`` otherwise).

    Raises:
        GnnMlcError: the data's known labels hold names and none is a label of the model.
    """
    import numpy as np
    import scipy.sparse as sp

    from gnn_mlc.data import NameCounts

    if data.known is None or known_column is None:
        return ""
    per_label = np.asarray(sp.csr_matrix(data.known).sum(axis=0)).ravel()
    labels = set(model.label_names)
    unknown = np.array([name not in labels for name in data.label_names], dtype=bool)
    counts = NameCounts(int(per_label.sum()), int(per_label[unknown].sum()))
    if counts.names and counts.unknown == counts.names:
        first = next(name for name, count in zip(data.label_names, per_label) if count)
        raise GnnMlcError(
            f"{data.source}: column {known_column!r} (--known-column): none of its {counts.names:,} label names is a "
            f"label of {directory} (first {first!r}); expected names among the model's {len(labels):,} labels. Hint: "
            "check the column holds this model's label names (not another catalogue's ids) and --label-delimiter")
    return counts.describe(f"{directory}: column {known_column!r}")


def _baselines(names: Sequence[str], model: Any, data: Dataset) -> dict[str, Any]:
    """The baselines ``names`` (``--baseline``) from ``model``'s training counts, by name.

    Raises:
        GnnMlcError: itemknn, ease or history without the data's known labels (``--known-column``).
    """
    from gnn_mlc.evaluation.baselines import (
        PopularityBaseline,
        ease_baseline,
        history_baseline,
        itemknn_baseline,
    )

    needing = [name for name in names if name != "popularity"]
    if needing and data.known is None:
        raise GnnMlcError(f"--baseline {needing[0]}: scores a row from its known labels and the data has none; "
                          "expected --known-column (a user's history). Hint: add --known-column, or use --baseline "
                          "popularity")
    makers = {"popularity": lambda: PopularityBaseline(model.label_names, model.label_counts, model.num_rows,
                                                       model.feature_names),
              "itemknn": lambda: itemknn_baseline(model), "ease": lambda: ease_baseline(model),
              "history": lambda: history_baseline(model)}
    return {name: makers[name]() for name in names}


def _model_names(directories: Sequence[Path], *, baselines: Sequence[str]) -> list[str]:
    """A distinct name per model for tables and file names (``per_label_<name>.csv``): its folder's name, numbered
    (``model-2``) when another model or a baseline has it; never a path, so every file stays in the report."""
    taken = set(baselines)
    names = []
    for position, path in enumerate(directories, start=1):
        name = path.resolve().name or "model"
        name = name if name not in taken else f"{name}-{position}"
        while name in taken:
            name += "-"
        taken.add(name)
        names.append(name)
    return names


def run_predict(args: argparse.Namespace) -> int:
    from gnn_mlc.serving.predict import predict_file, rejects_path

    for output in (args.output, rejects_path(args.output)):
        check_output_path(output, inputs=[args.model, args.input, args.labels], what="the predictions", kind="file")

    summary = predict_file(args.model, args.input, args.output, labels=args.labels, options=_scoring_options(args))
    print(summary.line())
    return 0


def run_graph(args: argparse.Namespace) -> int:
    from gnn_mlc.graph import build_label_graph
    from gnn_mlc.outputs import atomic_path

    check_output_path(args.output, inputs=[args.data, args.labels], what="the graph file", kind="file")
    data = _read(args, args.data, _table_options(args))
    graph = build_label_graph(data.Y, data.label_names, weighting=args.graph_weighting, tau=args.tau, p=args.p,
                              Y_missing=data.Y_missing)
    with atomic_path(args.output) as temporary:
        graph.write_graphml(temporary)
    statistics = graph.statistics()
    width = max(len(key) for key in statistics)
    print("\n".join(f"{key:<{width}}  {value:.3f}" if isinstance(value, float) else f"{key:<{width}}  {value}"
                    for key, value in statistics.items()))
    print(f"wrote {args.output}")
    return 0


def run_group(args: argparse.Namespace) -> int:
    from gnn_mlc.data import DEFAULT_LABEL_DELIMITER
    from gnn_mlc.data.interactions import EventOptions, group_interactions, read_interactions, read_item_labels
    from gnn_mlc.serving.topk import write_table

    if args.output.suffix.lower() != ".parquet":
        raise GnnMlcError(f"{args.output}: expected a .parquet output (the grouped table has list columns)")
    check_output_path(args.output, inputs=[args.items, args.labels, args.users, args.item_labels],
                      what="the grouped table", kind="file")
    if args.output.exists() and not args.overwrite:
        raise GnnMlcError(f"{args.output}: already exists; expected a new file. Hint: add --overwrite")
    item_labels = None if args.item_labels is None else read_item_labels(
        args.item_labels, item_column=args.item_column, label_column=args.item_labels_column,
        label_delimiter=args.label_delimiter or DEFAULT_LABEL_DELIMITER)
    events = EventOptions(time_column=args.time_column, holdout_fraction=args.holdout_fraction,
                          weight_column=args.weight_column, min_weight=args.min_weight, item_labels=item_labels)
    text = {"items": (args.id_column, args.item_column), "labels": (args.id_column, args.label_column),
            "users": (args.id_column,)}
    files = {name: path for name, path in (("items", args.items), ("labels", args.labels), ("users", args.users))
             if path is not None}
    tables = {name: read_interactions(path, text_columns=text[name]) for name, path in files.items()}
    sources = {name: str(path) for name, path in [*files.items(), ("item_labels", args.item_labels)] if path}
    grouped = group_interactions(id_column=args.id_column, item_column=args.item_column,
                                 label_column=args.label_column, sources=sources, events=events, **tables)
    wide = grouped.table
    for line in grouped.warnings(events=tables["items"].num_rows if "items" in tables else 0):
        print(f"warning: {line}", file=sys.stderr)
    write_table(wide, args.output)
    print(f"wrote {wide.num_rows} rows (one per {args.id_column!r}; columns {', '.join(wide.column_names)}) to "
          f"{args.output}")
    return 0


def run_split(args: argparse.Namespace) -> int:
    from gnn_mlc.data import DEFAULT_LABEL_DELIMITER
    from gnn_mlc.data.split import split_table
    from gnn_mlc.data.tabular import read_table
    from gnn_mlc.serving.topk import write_table

    suffix = args.data.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise GnnMlcError(f"{args.data}: split reads and writes CSV or Parquet tables (writing ARFF is not supported); "
                          "expected a .csv or .parquet file. Hint: Mulan/MEKA data sets ship their own train and test "
                          "files; or convert the table first")
    for output in (args.output_train, args.output_test):
        check_output_path(output, inputs=[args.data], what="the split", kind="file")
        if output.suffix.lower() != suffix:
            raise GnnMlcError(f"{output}: a {output.suffix or '(no suffix)'} output for a {suffix} input; expected "
                              f"the input's format ({suffix}). Hint: name the outputs *{suffix}")
        if output.exists() and not args.overwrite:
            raise GnnMlcError(f"{output}: already exists; expected a new file. Hint: add --overwrite")
    if args.output_train.resolve() == args.output_test.resolve():
        raise GnnMlcError(f"{args.output_test}: is also --output-train; expected two different files")
    table = read_table(args.data)
    if suffix == ".csv":  # read again as text, so that what is written is what was read ("007" stays "007")
        table = read_table(args.data, string_columns=[name for name in table.column_names if name != args.time_column])
    method = "stratified" if args.stratified else "time" if args.time_column else "random"
    train, test = split_table(table, test_fraction=args.test_fraction, seed=args.seed, method=method,
                              label_column=args.label_column, time_column=args.time_column, source=str(args.data),
                              label_delimiter=args.label_delimiter or DEFAULT_LABEL_DELIMITER)
    write_table(train, args.output_train)
    write_table(test, args.output_test)
    print(f"wrote {train.num_rows} training rows to {args.output_train} and {test.num_rows} test rows to "
          f"{args.output_test} ({method} split)")
    return 0


def run_score(args: argparse.Namespace) -> int:
    from gnn_mlc.serving.batch import run_scoring_job

    check_output_path(args.output, inputs=[args.model, args.input if Path(args.input).exists() else None],
                      what="the recommendations", kind="directory")

    summary = run_scoring_job(
        args.model, args.input, args.output, options=_scoring_options(args), batch_size=args.batch_size,
        rows_per_shard=args.rows_per_shard, overwrite=args.overwrite, shard_index=args.shard_index,
        num_shards=args.num_shards, progress=not args.quiet,
    )
    print(summary.line())
    return 0


def run_inspect(args: argparse.Namespace) -> int:
    from gnn_mlc.inspection.neighbours import nearest_labels
    from gnn_mlc.model_directory import load_model_parts

    if not args.label and not args.output:
        raise GnnMlcError("inspect: nothing to do; expected --label NAME and/or --output DIR")
    if args.output:
        check_output_path(args.output, inputs=[args.model, args.baseline, args.label_names],
                          what="the inspection report", kind="directory")
    model = load_model_parts(args.model)
    if args.label:
        neighbours = nearest_labels(model, args.label, k=args.k)
        print(f"nearest labels to {args.label!r} (cosine similarity of embeddings; the data's evidence beside)\n")
        print(f"{'label':<30} {'cosine':>7} {'together':>9} {'P(j|i)':>7} {'P(i|j)':>7}")
        for neighbour in neighbours:
            print(f"{neighbour.label[:30]:<30} {neighbour.similarity:>7.3f} {neighbour.count:>9d} "
                  f"{neighbour.p_neighbour_given_query:>7.3f} {neighbour.p_query_given_neighbour:>7.3f}")
    if args.output:
        from gnn_mlc.inspection.report import read_display_names, write_inspection_report

        display_names = None if args.label_names is None else read_display_names(args.label_names,
                                                                                 list(model.label_names))
        baseline = load_model_parts(args.baseline) if args.baseline else None
        paths = write_inspection_report(model, args.output, name=args.model.name, baseline=baseline,
                                        baseline_name=args.baseline.name if args.baseline else "baseline",
                                        display_names=display_names)
        print("\n".join(f"wrote {path}" for path in paths))
    return 0


COMMANDS = {"train": run_train, "evaluate": run_evaluate, "predict": run_predict, "graph": run_graph,
            "group": run_group, "split": run_split, "score": run_score, "add-labels": run_add_labels,
            "inspect": run_inspect}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``gnn-mlc`` console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s: %(message)s")
    try:
        return COMMANDS[args.command](args)
    except GnnMlcError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
