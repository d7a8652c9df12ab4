"""The ``gnn-mlc`` command line: train, evaluate, predict, graph. Each command calls the library and reports.

Errors the user can fix print one line, ``error: ...``, and exit with code 2; nothing partial is written.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from gnn_mlc.choices import DEFAULT_ID_COLUMN, DEFAULT_LABEL_COLUMN, DEVICES, STRATEGIES, WEIGHTINGS
from gnn_mlc.errors import GnnMlcError

if TYPE_CHECKING:
    from gnn_mlc.data import Dataset
    from gnn_mlc.estimator import LabelGCNClassifier

# The heavy modules (torch, torch_geometric) are imported by the commands, so that --help and argument errors
# answer at once.
EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (no usage dump) and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"error: {message}. Hint: see '{self.prog} --help'\n")


def _number(convert: type, description: str, valid: Callable[[float], bool]) -> Callable[[str], float]:
    """An argparse ``type=`` that converts with ``convert`` and checks ``valid``, naming ``description`` if not."""

    def parse(text: str) -> float:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {description}, got {text!r}") from None
        if not valid(value):
            raise argparse.ArgumentTypeError(f"expected {description}, got {value}")
        return value

    return parse


_positive_int = _number(int, "a positive integer", lambda value: value >= 1)
_positive_float = _number(float, "a positive number", lambda value: value > 0)
_fraction = _number(float, "a number between 0 and 1", lambda value: 0.0 <= value <= 1.0)


def _add_data_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--labels", help="ARFF: label XML file (default: the .xml beside the data, or MEKA -C n)")
    parser.add_argument("--label-column", default=DEFAULT_LABEL_COLUMN,
                        help="CSV/Parquet: column with each row's labels (default: %(default)s)")
    parser.add_argument("--label-delimiter", default="|",
                        help="CSV/Parquet: separator inside a string label column (default: %(default)s)")
    parser.add_argument("--id-column", help=f"CSV/Parquet: identifier column (default: '{DEFAULT_ID_COLUMN}' if present)")


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
    train.add_argument("--no-graph", action="store_true", help="train the no-graph baseline (independent heads)")
    train.add_argument("--weighting", choices=WEIGHTINGS, default="mlgcn", help="label graph edge weights "
                       "(default: %(default)s)")
    train.add_argument("--tau", type=_fraction, default=0.4, help="mlgcn: keep edge i->j if P(j|i) >= tau "
                       "(default: %(default)s)")
    train.add_argument("--p", type=_fraction, default=0.25, help="mlgcn: total weight of a label's neighbours "
                       "(default: %(default)s)")
    train.add_argument("--hidden-channels", type=_positive_int, default=256, help="encoder width (default: %(default)s)")
    train.add_argument("--embedding-dim", type=_positive_int, default=128, help="embedding size (default: %(default)s)")
    train.add_argument("--gcn-layers", type=_positive_int, default=1,
                       help="graph propagation steps over the label vectors (default: %(default)s)")
    train.add_argument("--dropout", type=_fraction, default=0.3, help="encoder dropout (default: %(default)s)")
    train.add_argument("--learning-rate", type=_positive_float, default=1e-3, help="AdamW (default: %(default)s)")
    train.add_argument("--weight-decay", type=float, default=1e-4, help="AdamW (default: %(default)s)")
    train.add_argument("--pos-weight-power", type=_fraction, default=0.5,
                       help="weight of a label's positives in the loss: (negatives/positives)^power, 0 for plain BCE "
                            "(default: %(default)s)")
    train.add_argument("--batch-size", type=_positive_int, default=128, help="rows per step (default: %(default)s)")
    train.add_argument("--epochs", type=_positive_int, default=100, help="maximum epochs (default: %(default)s)")
    train.add_argument("--patience", type=_positive_int, default=20,
                       help="stop after this many epochs without a better validation mAP (default: %(default)s)")
    train.add_argument("--validation-fraction", type=_fraction, default=0.15,
                       help="share of training rows held out for early stopping (default: %(default)s)")
    train.add_argument("--threshold-strategy", choices=STRATEGIES, default="global",
                       help="how scores become labels: global = one threshold tuned on the validation rows, "
                            "per_label, pcut, top_k, fixed (default: %(default)s)")
    train.add_argument("--threshold", type=_fraction, default=0.5, help="the fixed threshold (default: %(default)s)")
    train.add_argument("--decision-top-k", type=_positive_int, default=1,
                       help="labels per row for --threshold-strategy top_k (default: %(default)s)")
    train.add_argument("--at-least-one", action="store_true", help="give every row at least its best label")
    train.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    train.add_argument("--device", choices=DEVICES, default="auto", help="auto = CUDA when available "
                       "(default: %(default)s)")
    train.add_argument("--overwrite", action="store_true", help="replace --output if it exists")
    train.add_argument("--resume", action="store_true",
                       help="continue an interrupted run from its last epoch checkpoint (same arguments)")
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

    predict = commands.add_parser("predict", help="write the top-k labels of each row",
                                  description="Score rows and write each row's k best labels with their scores.")
    predict.add_argument("--model", required=True, type=Path, help="model directory")
    predict.add_argument("--input", required=True, type=Path, help="rows to score: .arff, .csv or .parquet")
    predict.add_argument("--output", required=True, type=Path, help="output file: .parquet or .csv")
    predict.add_argument("--top-k", type=_positive_int, default=5, help="labels per row (default: %(default)s)")
    predict.add_argument("--id-column", help=f"identifier column (default: '{DEFAULT_ID_COLUMN}' if present, "
                         "else the row number)")
    predict.add_argument("--labels", help="ARFF: label XML file (default: the .xml beside the data, or MEKA -C n)")

    graph = commands.add_parser("graph", help="build, export and describe the label graph",
                                description="Build the label co-occurrence graph of a data file, write it as "
                                            "GraphML and print its statistics.")
    graph.add_argument("--data", required=True, type=Path, help="labelled data: .arff, .csv or .parquet")
    graph.add_argument("--output", required=True, type=Path, help="GraphML file to write")
    _add_data_options(graph)
    graph.add_argument("--weighting", choices=WEIGHTINGS, default="mlgcn", help="edge weights (default: %(default)s)")
    graph.add_argument("--tau", type=_fraction, default=0.4, help="mlgcn threshold (default: %(default)s)")
    graph.add_argument("--p", type=_fraction, default=0.25, help="mlgcn neighbour weight (default: %(default)s)")

    score = commands.add_parser("score", help="batch job: top-k recommendations for every row, as Parquet shards",
                                description="Stream a Parquet/CSV input (file, directory or glob) through a model "
                                            "and write each row's top-k labels and scores as Parquet shards. Safe to "
                                            "kill and re-run: finished shards are kept, the rest is scored.")
    score.add_argument("--model", required=True, type=Path, help="model directory")
    score.add_argument("--input", required=True, help="Parquet/CSV file, directory or glob")
    score.add_argument("--output", required=True, type=Path, help="output directory for the shards")
    score.add_argument("--top-k", type=_positive_int, default=10, help="labels per row (default: %(default)s)")
    score.add_argument("--id-column", default=DEFAULT_ID_COLUMN, help="identifier column (default: %(default)s)")
    score.add_argument("--batch-size", type=_positive_int, default=65536,
                       help="rows read and scored at a time; bounds memory (default: %(default)s)")
    score.add_argument("--rows-per-shard", type=_positive_int, default=1_000_000,
                       help="input rows per output shard, the unit of resumption (default: %(default)s)")
    score.add_argument("--device", choices=DEVICES, default="auto", help="(default: %(default)s)")
    score.add_argument("--with-labels", action="store_true",
                       help="also write 'predicted', the label set the model's decision rule gives")
    score.add_argument("--overwrite", action="store_true", help="score again even if the output is complete")
    score.add_argument("--shard-index", type=int, default=0, help="this worker's index (default: %(default)s)")
    score.add_argument("--num-shards", type=_positive_int, default=1,
                       help="workers sharing the input files (default: %(default)s)")
    score.add_argument("--quiet", action="store_true", help="no progress bar")

    inspect = commands.add_parser("inspect", help="inspect label embeddings: neighbours, exports, pictures",
                                  description="Show a label's nearest labels with their co-occurrence evidence, "
                                              "or write exports, pictures and a report of all label embeddings.")
    inspect.add_argument("--model", required=True, type=Path, help="model directory")
    inspect.add_argument("--label", help="print this label's nearest labels")
    inspect.add_argument("-k", type=_positive_int, default=10, help="neighbours to show (default: %(default)s)")
    inspect.add_argument("--output", type=Path, help="write embeddings (.npy, TensorBoard projector), GraphML/GEXF, "
                         "PNGs and report.md into this directory")
    inspect.add_argument("--baseline", type=Path, help="a second model directory whose agreement score the report "
                         "shows beside (e.g. the no-graph baseline)")
    return parser


def _read(args: argparse.Namespace, path: Path) -> Dataset:
    from gnn_mlc.data import read_dataset

    return read_dataset(
        path,
        labels=args.labels,
        label_column=args.label_column,
        id_column=args.id_column,
        label_delimiter=args.label_delimiter,
    )


def run_train(args: argparse.Namespace) -> int:
    from gnn_mlc.distributed import process_group
    from gnn_mlc.estimator import LabelGCNClassifier
    from gnn_mlc.outputs import ensure_writable_directory

    if args.output.exists() and not args.overwrite:
        raise GnnMlcError(f"{args.output}: already exists; expected a new directory. Hint: add --overwrite")
    data = _read(args, args.data)
    classifier = LabelGCNClassifier(
        use_graph=not args.no_graph, hidden_channels=args.hidden_channels, embedding_dim=args.embedding_dim,
        num_gcn_layers=args.gcn_layers, dropout=args.dropout, graph_weighting=args.weighting, tau=args.tau, p=args.p,
        learning_rate=args.learning_rate, weight_decay=args.weight_decay, pos_weight_power=args.pos_weight_power,
        batch_size=args.batch_size, max_epochs=args.epochs, patience=args.patience,
        validation_fraction=args.validation_fraction,
        threshold_strategy=args.threshold_strategy, threshold=args.threshold, top_k=args.decision_top_k,
        at_least_one=args.at_least_one, device=args.device, random_state=args.seed, verbose=not args.quiet,
    )
    ensure_writable_directory(args.output.parent, what="the model directory")
    # Saved after every epoch beside the output, removed once the model directory is written.
    checkpoint = args.output.parent / f".{args.output.name}.checkpoint.pt"
    if args.resume and not checkpoint.exists():
        print(f"no checkpoint at {checkpoint}: starting from the first epoch", file=sys.stderr)
    with process_group(args.device) as rank:
        classifier.fit(data.X, data.Y, label_names=data.label_names, feature_names=data.feature_names,
                       checkpoint=checkpoint, resume=args.resume, Y_missing=data.Y_missing)
        if rank != 0:  # data-parallel run (torchrun): rank 0 writes the model
            return 0
        classifier.save(args.output, overwrite=args.overwrite)
        checkpoint.unlink(missing_ok=True)
    kind = "no-graph baseline" if args.no_graph else "label-graph GCN"
    print(
        f"trained {kind} on {data.num_rows} rows x {data.num_features} features, {data.num_labels} labels: "
        f"best epoch {classifier.training_.best_epoch} of {classifier.training_.epochs_run}, "
        f"validation mAP {classifier.training_.best_validation_map:.4f}\nmodel written to {args.output}"
    )
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    from gnn_mlc.model_directory import load_model
    from gnn_mlc.report import evaluate_classifier, metrics_table, write_report

    directories = [args.model] if args.model else args.compare
    classifiers = [load_model(path) for path in directories]
    data = _read(args, args.data)
    evaluations = []
    for path, classifier in zip(directories, classifiers):
        taken = {evaluation.name for evaluation in evaluations}
        name = path.name if path.name and path.name not in taken else str(path)
        evaluations.append(evaluate_classifier(classifier, data, name=name))
    title = f"Evaluation on `{args.data}` ({data.num_rows} rows, {data.num_labels} labels)"
    print(f"{title}\n\n{metrics_table({e.name: e.metrics for e in evaluations})}", end="")
    if args.output:
        for path in write_report(evaluations, args.output, title=title):
            print(f"wrote {path}")
    else:
        print("(add --output DIR to write metrics.json, metrics.md and the per-label CSV)")
    return 0


def run_predict(args: argparse.Namespace) -> int:
    import numpy as np

    from gnn_mlc.data import feature_matrix, read_arff, read_table
    from gnn_mlc.model_directory import load_model
    from gnn_mlc.recommend import recommendations_table, top_k, write_table

    classifier = load_model(args.model)
    if _is_arff(args.input):
        data = read_arff(args.input, labels=args.labels)
        X = data.align(list(classifier.classes_), _feature_names(classifier, data)).X
        ids = data.ids if data.ids is not None else np.arange(data.num_rows)
    else:
        table = read_table(args.input)
        names = getattr(classifier, "feature_names_in_", None)
        if names is None:
            raise GnnMlcError(f"{args.model}: the model has no feature names; expected a model trained from a file")
        X = feature_matrix(table, list(names), source=str(args.input))
        id_column = args.id_column or (DEFAULT_ID_COLUMN if DEFAULT_ID_COLUMN in table.column_names else None)
        if id_column is not None and id_column not in table.column_names:
            raise GnnMlcError(f"{args.input}: no id column {id_column!r}; expected one of {table.column_names[:10]}")
        ids = table.column(id_column) if id_column else np.arange(table.num_rows)
    indices, scores = top_k(classifier.predict_proba(X), args.top_k)
    write_table(recommendations_table(ids, list(classifier.classes_), indices, scores), args.output)
    print(f"wrote the top {indices.shape[1]} labels of {indices.shape[0]} rows to {args.output}")
    return 0


def run_graph(args: argparse.Namespace) -> int:
    from gnn_mlc.graph import build_label_graph
    from gnn_mlc.outputs import atomic_path

    data = _read(args, args.data)
    graph = build_label_graph(data.Y, data.label_names, weighting=args.weighting, tau=args.tau, p=args.p)
    with atomic_path(args.output) as temporary:
        graph.write_graphml(temporary)
    statistics = graph.statistics()
    width = max(len(key) for key in statistics)
    print("\n".join(f"{key:<{width}}  {value:.3f}" if isinstance(value, float) else f"{key:<{width}}  {value}"
                    for key, value in statistics.items()))
    print(f"wrote {args.output}")
    return 0


def _is_arff(path: Path) -> bool:
    return ".arff" in path.name.lower()


def _feature_names(classifier: LabelGCNClassifier, data: Dataset) -> list[str]:
    names = getattr(classifier, "feature_names_in_", None)
    return list(data.feature_names) if names is None else list(names)


def run_score(args: argparse.Namespace) -> int:
    from gnn_mlc.score import run_scoring_job

    summary = run_scoring_job(
        args.model, args.input, args.output, top_k=args.top_k, id_column=args.id_column, batch_size=args.batch_size,
        rows_per_shard=args.rows_per_shard, device=args.device, with_labels=args.with_labels,
        overwrite=args.overwrite, shard_index=args.shard_index, num_shards=args.num_shards,
        progress=not args.quiet,
    )
    print(summary.line())
    return 0


def run_inspect(args: argparse.Namespace) -> int:
    from gnn_mlc.embeddings import nearest_labels
    from gnn_mlc.model_directory import load_model

    if not args.label and not args.output:
        raise GnnMlcError("inspect: nothing to do; expected --label NAME and/or --output DIR")
    classifier = load_model(args.model)
    if args.label:
        neighbours = nearest_labels(classifier, args.label, k=args.k)
        print(f"nearest labels to {args.label!r} (cosine similarity of embeddings; the data's evidence beside)\n")
        print(f"{'label':<30} {'cosine':>7} {'together':>9} {'P(j|i)':>7} {'P(i|j)':>7}")
        for neighbour in neighbours:
            print(f"{neighbour.label[:30]:<30} {neighbour.similarity:>7.3f} {neighbour.count:>9d} "
                  f"{neighbour.p_neighbour_given_query:>7.3f} {neighbour.p_query_given_neighbour:>7.3f}")
    if args.output:
        from gnn_mlc.inspection_report import write_inspection_report

        baseline = load_model(args.baseline) if args.baseline else None
        paths = write_inspection_report(classifier, args.output, name=args.model.name, baseline=baseline,
                                        baseline_name=args.baseline.name if args.baseline else "baseline")
        print("\n".join(f"wrote {path}" for path in paths))
    return 0


COMMANDS = {"train": run_train, "evaluate": run_evaluate, "predict": run_predict, "graph": run_graph,
            "score": run_score, "inspect": run_inspect}


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
