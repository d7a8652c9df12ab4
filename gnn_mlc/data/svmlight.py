"""The extreme-classification repository's text format: a header line, then one sparse row a line.

The public XC data sets (Bibtex, Delicious, EURLex-4K, Wiki10-31K, AmazonCat-13K, ...; "The Extreme Classification
Repository", Bhatia et al.) ship as::

    num_rows num_features num_labels
    3,17 0:0.084 12:0.5 ...        <- the row's labels (0-based, comma-separated), then feature:value pairs
     4:1.0 9:0.3                   <- a row without labels starts with a blank

Everything after the header is the svmlight multi-label format, parsed by scikit-learn's
``load_svmlight_file(multilabel=True, zero_based=True)``. Without the header line (plain svmlight multi-label files)
the feature count is the largest index seen and the labels are those seen; scored against a model, such a file's
missing last features are zero (``Dataset.open_width``). Labels are named by their index
(``"0"``, ``"1"``, ...), the repository's convention; features ``f0``, ``f1``, ....

A file of more than :data:`MAX_WIDTH` features or labels (by its header, else by its largest index) is refused:
every feature and label gets a name and a model column, so a mistyped header of a billion would exhaust memory.
The largest public XC data sets have about 1.6 million features (WikiLSHTC-325K) and 2.8 million labels (Amazon-3M).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.sparse as sp

from gnn_mlc.data.dataset import Dataset
from gnn_mlc.errors import DataError

SVMLIGHT_SUFFIXES = (".txt", ".svm", ".svmlight", ".libsvm")
MAX_WIDTH = 2**22
"""The most features, and the most labels, an XC/svmlight file may have (4,194,304)."""


def read_xc_header(line: bytes) -> tuple[int, int, int] | None:
    """``(rows, features, labels)`` of an XC header line, ``None`` when the line is a data row."""
    tokens = line.split()
    if len(tokens) != 3 or not all(token.isdigit() for token in tokens):
        return None
    rows, features, labels = (int(token) for token in tokens)
    return rows, features, labels


def read_svmlight(path: str | Path) -> Dataset:
    """Read an XC-format (or headerless svmlight multi-label) file into a sparse :class:`Dataset`.

    Returns:
        ``X`` (rows, features) float32 CSR and ``Y`` (rows, labels) uint8 CSR; label ``j`` is named ``str(j)``.

    Raises:
        DataError: the file is missing or malformed, a label is not a non-negative integer, or the rows, features
            or labels disagree with the header.
    """
    # scikit-learn only where this format is read
    from sklearn.datasets import load_svmlight_file

    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file; expected an XC/svmlight text file")
    with open(path, "rb") as handle:
        header = read_xc_header(handle.readline())
        if header is None:
            handle.seek(0)
        else:
            _check_width(path, header[1], header[2], where="the header says")
        try:
            X, labels = load_svmlight_file(handle, n_features=None if header is None else header[1],
                                           multilabel=True, zero_based=True, dtype=np.float32)
        except (ValueError, OSError) as error:
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise DataError(f"{path}: cannot be read as the XC/svmlight format ({reason}); expected "
                            "'labels feature:value ...' lines, 0-based, after an optional 'rows features labels' "
                            "header") from None
    rows = np.repeat(np.arange(len(labels)), [len(row) for row in labels])
    columns = np.fromiter((label for row in labels for label in row), dtype=np.float64, count=len(rows))
    invalid = ~np.isfinite(columns) | (columns < 0) | (columns != np.round(columns))
    if invalid.any():
        first = int(np.flatnonzero(invalid)[0])
        raise DataError(f"{path}: label {columns[first]:g} in row {int(rows[first])}; expected 0-based integer label "
                        "indices")
    num_labels = int(columns.max()) + 1 if len(columns) else 0
    _check_width(path, X.shape[1], num_labels, where="its indices give")
    if header is not None:
        if header[0] != X.shape[0] or num_labels > header[2]:
            raise DataError(f"{path}: {X.shape[0]} rows with labels up to {num_labels - 1}; the header says "
                            f"{header[0]} rows and {header[2]} labels. Hint: check the file is complete")
        num_labels = header[2]
    if num_labels == 0:
        raise DataError(f"{path}: no row has a label; expected a multi-label data set")
    Y = sp.csr_matrix((np.ones(len(rows), dtype=np.uint8), (rows, columns.astype(np.int64))),
                      shape=(X.shape[0], num_labels))
    Y.sum_duplicates()
    Y.data[:] = 1
    return Dataset(X=sp.csr_matrix(X, dtype=np.float32), Y=Y, label_names=[str(j) for j in range(num_labels)],
                   feature_names=[f"f{j}" for j in range(X.shape[1])], source=str(path), open_width=header is None)


def _check_width(path: Path, num_features: int, num_labels: int, *, where: str) -> None:
    """Refuse more than :data:`MAX_WIDTH` features or labels, before any name or matrix of that width is made."""
    for count, what in ((num_features, "features"), (num_labels, "labels")):
        if count > MAX_WIDTH:
            raise DataError(f"{path}: {where} {count:,} {what}; expected at most {MAX_WIDTH:,} (the largest public XC "
                            "data sets have under 3 million). Hint: check the 'rows features labels' header and the "
                            "indices")
