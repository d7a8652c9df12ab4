"""Mulan and MEKA ARFF files: dense and sparse rows, numeric and nominal attributes, plain or bz2/gzip.

Which attributes are labels:

* Mulan: the attributes named in the label XML, matched by NAME (the XML's order does not matter): ``labels=`` a
  path, or the XML beside the ARFF: its name with any combination of the trailing ``-train``, ``-test``, ``-sparse``
  (or ``_train``, ``_test``, ``_sparse``) suffixes removed (``Corel5k-train-sparse.arff`` finds ``Corel5k.xml``),
  else the folder's only ``.xml`` file.
* MEKA: ``@relation 'NAME: -C n'``: the first ``n`` attributes are the labels, or the last ``|n|`` when n < 0.
* Or ``labels=`` a list of attribute names.

Label columns keep the ARFF attribute order, so train and test files of one data set always agree. A label name
holding ``|`` or a control character is refused (it would make CSV output ambiguous and GraphML ill-formed).

How the other attributes become features:

* numeric/real/integer: one float column (a value float32 cannot hold, or NaN/infinity, is an error);
* nominal ``{0,1}``: one 0/1 column; nominal with two values that read as yes/no or true/false: one 0/1 column
  mapped by value NAME (genbase lists ``{YES,NO}``, so its index order would invert them);
* other nominal: one-hot, one column per declared value, named ``attribute=value``;
* an entry a sparse row omits takes ARFF's value 0: 0 for a numeric attribute, the FIRST DECLARED value of a nominal
  one, read by value like a stored one (a label or feature declared ``{1,0}`` that a sparse row omits is 1);
* a label value ``?`` (MEKA's "unknown") is not a 0: it is recorded in ``Dataset.Y_missing`` and left out of the
  loss, the label graph's counts and the metrics;
* string and date attributes, and nominal identifiers (at least 100 declared values, each used at most once in the
  file, like genbase's ``protein``), are not features: they are listed in ``Dataset.dropped_attributes`` and the
  first of them whose values are unique in the file (and never ``?``) becomes ``Dataset.ids``; a date or string
  attribute with a repeated value does not (two rows with one id could not be told apart in ``predict``'s output).

We parse ARFF ourselves rather than with liac-arff or scipy.io.arff: scipy reads neither sparse rows nor string
attributes, and neither library builds a SciPy CSR matrix directly or reports file:line for a bad value. Files
are UTF-8, with or without a byte order mark; attribute names must be unique, as must a sparse row's indices.
"""

from __future__ import annotations

import bz2
import gzip
import io
import itertools
import logging
import math
import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import scipy.sparse as sp

from gnn_mlc.data.dataset import Dataset, check_label_name
from gnn_mlc.data.files import is_hidden
from gnn_mlc.errors import DataError, did_you_mean

logger = logging.getLogger(__name__)

_MEKA_LABEL_COUNT = re.compile(r"-C\s+(-?\d+)")
_ESCAPE = re.compile(r"\\(.)")
_TRUE_WORDS = frozenset({"1", "yes", "y", "true", "t"})
_FALSE_WORDS = frozenset({"0", "no", "n", "false", "f"})
_MIN_IDENTIFIER_VALUES = 100
_SPLIT_SUFFIXES = ("-train", "-test", "-sparse", "_train", "_test", "_sparse")
_FLOAT32_MAX = float(np.finfo(np.float32).max)


@dataclass(frozen=True)
class Attribute:
    """One ``@attribute`` declaration: its name, kind, nominal values and header line number."""

    name: str
    kind: Literal["numeric", "nominal", "string", "date"]
    values: tuple[str, ...]
    line: int


def read_arff(path: str | Path, *, labels: str | Path | Sequence[str] | None = None) -> Dataset:
    """Read a Mulan or MEKA ARFF file into a :class:`Dataset`.

    Args:
        path: the ``.arff`` file (``.arff.bz2`` and ``.arff.gz`` too).
        labels: the label attributes: a Mulan label XML path, a list of attribute names, or ``None`` to use the
            XML beside the file or else the MEKA ``-C n`` of ``@relation``.

    Returns:
        The dataset: ``X`` CSR float32 when the file has sparse rows, else a dense float32 ndarray; ``Y`` uint8.

    Raises:
        DataError: with ``file:line`` for malformed headers or rows, unknown label names, bad label values.
    """
    path = Path(path)
    with _open_text(path) as lines:
        relation, attributes, data_line = _read_header(lines, path)
        label_indices = _label_attribute_indices(path, relation, attributes, labels)
        rows = list(_read_rows(lines, path, data_line, len(attributes)))
    return _encode(path, attributes, label_indices, rows)


def _open_text(path: Path) -> Iterator[str]:
    if not path.is_file():
        raise DataError(f"{path}: no such file; expected an ARFF file")
    opener: Callable[..., io.TextIOBase]
    if path.suffix == ".bz2":
        opener = bz2.open
    elif path.suffix == ".gz":
        opener = gzip.open
    else:
        opener = open
    return opener(path, "rt", encoding="utf-8-sig", errors="strict")  # -sig: a byte order mark is no header line


def _read_header(lines: Iterator[str], path: Path) -> tuple[str, list[Attribute], int]:
    relation = ""
    attributes: list[Attribute] = []
    declared: dict[str, int] = {}  # attribute name -> its line
    line_number = 0
    try:
        for line_number, raw in enumerate(lines, start=1):
            line = raw.strip()
            if not line or line.startswith("%"):
                continue
            keyword = line.split(None, 1)[0].lower()
            if keyword == "@relation":
                relation = _unquote(line[len("@relation"):].strip())
            elif keyword == "@attribute":
                attribute = _parse_attribute(line[len("@attribute"):].strip(), path, line_number)
                if attribute.name in declared:
                    raise DataError(
                        f"{path}:{line_number}: attribute {attribute.name!r} is declared again (first at line "
                        f"{declared[attribute.name]}); expected unique attribute names. Hint: rename one of them"
                    )
                declared[attribute.name] = line_number
                attributes.append(attribute)
            elif keyword == "@data":
                if not attributes:
                    raise DataError(f"{path}:{line_number}: @data before any @attribute; expected a header first")
                return relation, attributes, line_number
            else:
                raise DataError(
                    f"{path}:{line_number}: unexpected header line {line[:40]!r}; "
                    "expected @relation, @attribute or @data"
                )
    except UnicodeDecodeError as error:
        raise DataError(f"{path}: not UTF-8 text ({error.reason}); expected an ARFF text file") from None
    except (OSError, EOFError) as error:
        raise DataError(f"{path}: cannot be read ({error}); expected an ARFF file, plain or compressed") from None
    raise DataError(
        f"{path}: ended after line {line_number} without an @data section; expected a complete ARFF file "
        "(is it truncated?)"
    )


def _parse_attribute(text: str, path: Path, line_number: int) -> Attribute:
    if text[:1] in "'\"":
        end = _closing_quote(text, 0)
        if end < 0:
            raise DataError(f"{path}:{line_number}: unterminated quoted attribute name; expected a closing quote")
        name, rest = _unquote(text[: end + 1]), text[end + 1 :].strip()
    else:
        parts = text.split(None, 1)
        name, rest = parts[0] if parts else "", parts[1].strip() if len(parts) > 1 else ""
    if not name or not rest:
        raise DataError(f"{path}:{line_number}: incomplete @attribute line; expected '@attribute NAME TYPE'")
    kind = rest.split(None, 1)[0].lower()
    if rest.startswith("{"):
        if not rest.endswith("}"):
            raise DataError(f"{path}:{line_number}: nominal values of {name!r} lack a closing '}}'")
        values = tuple(_split_values(rest[1:-1], path, line_number))
        return Attribute(name, "nominal", values, line_number)
    if kind in ("numeric", "real", "integer"):
        return Attribute(name, "numeric", (), line_number)
    if kind in ("string", "date"):
        return Attribute(name, kind, (), line_number)
    raise DataError(
        f"{path}:{line_number}: attribute {name!r} has type {kind!r}; expected numeric, real, integer, "
        "string, date or a nominal {...} list"
    )


def _label_attribute_indices(
    path: Path, relation: str, attributes: list[Attribute], labels: str | Path | Sequence[str] | None
) -> list[int]:
    names = [attribute.name for attribute in attributes]
    if labels is None:
        xml = _find_label_xml(path)
        if xml is not None:
            labels = xml
        else:
            match = _MEKA_LABEL_COUNT.search(relation)
            if match is None:
                tried = ", ".join(candidate.name for candidate in _xml_candidates(path))
                others = len(_xml_files(path.parent))
                folder = "no other .xml file is there" if not others else f"{others} other .xml files are there"
                raise DataError(
                    f"{path}: no label XML beside it (tried {tried}; {folder}) and no MEKA '-C n' in @relation; "
                    "expected one of them. Hint: pass the label XML with --labels (Python: labels=, also a list of "
                    "label attributes)"
                )
            count = int(match.group(1))
            if count == 0 or abs(count) >= len(attributes):
                raise DataError(
                    f"{path}: MEKA @relation says -C {count} for {len(attributes)} attributes; "
                    "expected 0 < |C| < number of attributes"
                )
            return list(range(count)) if count > 0 else list(range(len(attributes) + count, len(attributes)))
    if isinstance(labels, (str, Path)):
        labels = read_label_xml(labels)
    wanted = list(labels)
    if not wanted:
        raise DataError(f"{path}: the label list is empty; expected at least one label attribute")
    position = {name: index for index, name in enumerate(names)}
    missing = [name for name in wanted if name not in position]
    if missing:
        raise DataError(
            f"{path}: label {missing[0]!r} is not an attribute of the file{did_you_mean(missing[0], names)} "
            f"({len(missing)} of {len(wanted)} labels missing); expected every label to name an @attribute"
        )
    return sorted(position[name] for name in set(wanted))


def read_label_xml(path: str | Path) -> list[str]:
    """Return the label names of a Mulan label XML file, in document order (nested labels included)."""
    path = Path(path)
    try:
        root = ElementTree.parse(path).getroot()
    except FileNotFoundError:
        raise DataError(f"{path}: no such label XML file; expected a Mulan <labels> XML") from None
    except ElementTree.ParseError as error:
        raise DataError(f"{path}: not well-formed XML ({error}); expected a Mulan <labels> XML") from None
    names = [element.get("name") for element in root.iter() if element.tag.rsplit("}", 1)[-1] == "label"]
    if not names or any(name is None for name in names):
        raise DataError(f"{path}: no <label name=...> elements; expected a Mulan <labels> XML")
    return [str(name) for name in names]


def _xml_candidates(path: Path) -> list[Path]:
    """Mulan's label XML names for ``path``, most specific first: the stem with any combination of its trailing
    split suffixes removed (``Corel5k-train-sparse``: itself, ``Corel5k-train``, ``Corel5k-sparse``, ``Corel5k``)."""
    stem = path.name
    for suffix in (".bz2", ".gz", ".arff"):
        stem = stem.removesuffix(suffix)
    trailing: list[str] = []
    while suffix := next((end for end in _SPLIT_SUFFIXES if stem.endswith(end) and len(stem) > len(end)), ""):
        trailing.insert(0, suffix)
        stem = stem.removesuffix(suffix)
    names = [stem + "".join(kept) + ".xml" for count in range(len(trailing), -1, -1)
             for kept in itertools.combinations(trailing, count)]
    return [path.with_name(name) for name in dict.fromkeys(names)]


def _xml_files(folder: Path) -> list[Path]:
    """The folder's ``.xml`` files, hidden ones left out (:mod:`gnn_mlc.data.files`: macOS ``._name.xml``)."""
    return sorted(candidate for candidate in folder.glob("*.xml")
                  if candidate.is_file() and not is_hidden(candidate, under=folder))


def _find_label_xml(path: Path) -> Path | None:
    """The first of :func:`_xml_candidates` that exists, else the folder's only ``.xml`` file, else ``None``."""
    found = next((candidate for candidate in _xml_candidates(path) if candidate.is_file()), None)
    if found is None and len(lone := _xml_files(path.parent)) == 1:
        found = lone[0]
        logger.info("%s: using %s, the only .xml file beside it, as the label XML", path, found.name)
    return found


def _read_rows(
    lines: Iterator[str], path: Path, data_line: int, num_attributes: int
) -> Iterator[tuple[int, list[str] | dict[int, str]]]:
    """Yield (line number, dense tokens) or (line number, sparse {index: token}) for each data row."""
    for line_number, raw in enumerate(lines, start=data_line + 1):
        line = raw.strip()
        if not line or line.startswith("%"):
            continue
        if line.startswith("{"):
            if not line.endswith("}"):
                raise DataError(f"{path}:{line_number}: sparse row lacks its closing '}}' (is the file truncated?)")
            yield line_number, _parse_sparse_row(line[1:-1], path, line_number, num_attributes)
            continue
        tokens = _split_values(line, path, line_number)
        if len(tokens) != num_attributes:
            raise DataError(
                f"{path}:{line_number}: row has {len(tokens)} values; expected {num_attributes}, one per @attribute"
            )
        yield line_number, tokens


def _parse_sparse_row(text: str, path: Path, line_number: int, num_attributes: int) -> dict[int, str]:
    pairs = {}
    for item in _split_values(text, path, line_number) if text.strip() else []:
        index_text, _, value = item.partition(" ")
        try:
            index = int(index_text)
        except ValueError:
            raise DataError(
                f"{path}:{line_number}: sparse entry {item!r}; expected 'INDEX VALUE' with an integer index"
            ) from None
        if not 0 <= index < num_attributes:
            raise DataError(
                f"{path}:{line_number}: sparse index {index} out of range; expected 0..{num_attributes - 1}"
            )
        if index in pairs:
            raise DataError(
                f"{path}:{line_number}: sparse index {index} appears twice in the row; expected each attribute at "
                "most once"
            )
        pairs[index] = _unquote(value.strip())
    return pairs


def _split_values(text: str, path: Path, line_number: int) -> list[str]:
    """Split a comma-separated ARFF value list, honouring single and double quotes with backslash escapes."""
    if "'" not in text and '"' not in text:
        return [token.strip() for token in text.split(",")]
    tokens, position = [], 0
    while position <= len(text):
        while position < len(text) and text[position] == " ":
            position += 1
        if position < len(text) and text[position] in "'\"":
            end = _closing_quote(text, position)
            if end < 0:
                raise DataError(f"{path}:{line_number}: unterminated quote; expected a closing {text[position]}")
            token, position = _unquote(text[position : end + 1]), end + 1
            comma = text.find(",", position)
            position = len(text) + 1 if comma < 0 else comma + 1
        else:
            comma = text.find(",", position)
            comma = len(text) if comma < 0 else comma
            token, position = text[position:comma].strip(), comma + 1
        tokens.append(token)
    return tokens


def _closing_quote(text: str, start: int) -> int:
    quote, position = text[start], start + 1
    while position < len(text):
        if text[position] == "\\":
            position += 2
            continue
        if text[position] == quote:
            return position
        position += 1
    return -1


def _unquote(token: str) -> str:
    if len(token) >= 2 and token[0] == token[-1] and token[0] in "'\"":
        return _ESCAPE.sub(r"\1", token[1:-1])
    return token


def _encode(path: Path, attributes: list[Attribute], label_indices: list[int], rows: list) -> Dataset:
    """Turn parsed rows into X, Y and names following the rules in the module docstring."""
    if not rows:
        raise DataError(f"{path}: the @data section has no rows; expected at least one example")
    label_set = set(label_indices)
    dropped = [index for index, attribute in enumerate(attributes)
               if index not in label_set and _is_dropped(attributes, index, rows)]
    dropped_set = set(dropped)
    encoders: dict[int, _Encoder] = {}
    feature_names: list[str] = []
    for index, attribute in enumerate(attributes):
        if index in label_set or index in dropped_set:
            continue
        encoder = _Encoder.for_attribute(attribute, offset=len(feature_names))
        encoders[index] = encoder
        feature_names.extend(encoder.names)
    label_column = {index: column for column, index in enumerate(label_indices)}
    for index in label_indices:
        if attributes[index].kind not in ("numeric", "nominal"):
            raise DataError(
                f"{path}:{attributes[index].line}: label attribute {attributes[index].name!r} is "
                f"{attributes[index].kind}; expected numeric or nominal 0/1"
            )
        check_label_name(attributes[index].name, where=f"{path}:{attributes[index].line}")

    # Values an omitted sparse entry takes (ARFF: 0, i.e. the first declared value of a nominal attribute), read by
    # value: an omitted label declared {1,0} is 1. Only the labels whose default is not 0 are listed.
    default_features = [entry for index, encoder in encoders.items() for entry in encoder.encode_default()]
    sparse = any(isinstance(row, dict) for _, row in rows)
    default_labels = {column: value for index, column in label_column.items()
                      if sparse and attributes[index].kind == "nominal"
                      for value in [_label_value(attributes[index].values[0], attributes[index], path,
                                                 attributes[index].line)] if value is not False}
    x_rows, x_cols, x_vals, y_rows, y_cols, unknown_rows, unknown_cols = [], [], [], [], [], [], []
    id_attribute = next((index for index in dropped if _is_unique(attributes, index, rows, path)), None)
    ids: list[str] = []
    for row_number, (line_number, row) in enumerate(rows):
        # A sparse row starts from the defaults of its omitted entries; a dense row sets every column.
        features = dict(default_features) if isinstance(row, dict) else {}
        labels = dict(default_labels) if isinstance(row, dict) else {}
        for index, token in row.items() if isinstance(row, dict) else enumerate(row):
            if index in label_column:
                labels[label_column[index]] = _label_value(token, attributes[index], path, line_number)
            elif index in encoders:
                for column, value in encoders[index].encode(token, path, line_number):
                    features[column] = value
        for column, label in labels.items():
            if label is None:
                unknown_rows.append(row_number)
                unknown_cols.append(column)
            elif label:
                y_rows.append(row_number)
                y_cols.append(column)
        if id_attribute is not None:
            ids.append(_token(row, id_attribute, attributes))
        for column, value in features.items():
            if value != 0.0:
                x_rows.append(row_number)
                x_cols.append(column)
                x_vals.append(value)
    num_rows = len(rows)
    shape_x = (num_rows, len(feature_names))
    X = sp.csr_matrix((np.asarray(x_vals, dtype=np.float32), (x_rows, x_cols)), shape=shape_x, dtype=np.float32)
    Y = sp.csr_matrix(
        (np.ones(len(y_rows), dtype=np.uint8), (y_rows, y_cols)), shape=(num_rows, len(label_indices)), dtype=np.uint8
    )
    Y_missing = sp.csr_matrix(
        (np.ones(len(unknown_rows), dtype=np.uint8), (unknown_rows, unknown_cols)), shape=Y.shape, dtype=np.uint8
    ) if unknown_rows else None
    if not sparse:
        X, Y = X.toarray(), Y.toarray()
        Y_missing = None if Y_missing is None else Y_missing.toarray()
    return Dataset(
        X=X,
        Y=Y,
        label_names=[attributes[index].name for index in label_indices],
        feature_names=feature_names,
        ids=np.asarray(ids, dtype=object) if id_attribute is not None else None,
        Y_missing=Y_missing,
        dropped_attributes=[attributes[index].name for index in dropped],
        source=str(path),
    )


def _is_dropped(attributes: list[Attribute], index: int, rows: list) -> bool:
    attribute = attributes[index]
    if attribute.kind in ("string", "date"):
        return True
    if attribute.kind != "nominal" or len(attribute.values) < _MIN_IDENTIFIER_VALUES:
        return False
    seen: set[str] = set()
    for _, row in rows:
        value = _token(row, index, attributes)
        if value in seen:
            return False
        seen.add(value)
    return True


def _is_unique(attributes: list[Attribute], index: int, rows: list, path: Path) -> bool:
    """Whether attribute ``index`` can identify the rows: a value in every row (no ``?``), never twice."""
    seen: dict[str, int] = {}
    for line_number, row in rows:
        value = _token(row, index, attributes)
        if value == "?" or value in seen:
            logger.info("%s:%d: attribute %r has value %r %s; it is not used as the row ids", path, line_number,
                        attributes[index].name, value, "(unknown)" if value == "?" else f"again (first at line "
                        f"{seen[value]})")
            return False
        seen[value] = line_number
    return True


def _token(row: list[str] | dict[int, str], index: int, attributes: list[Attribute]) -> str:
    """The token of attribute ``index`` in a dense or sparse row (an omitted sparse entry is value 0)."""
    if isinstance(row, list):
        return row[index]
    return row.get(index, attributes[index].values[0] if attributes[index].values else "0")


def _label_value(token: str, attribute: Attribute, path: Path, line_number: int) -> bool | None:
    """True / False for a 0/1 label value, None for MEKA's unknown ``?``."""
    if token == "?":
        return None
    word = token.lower()
    if word in ("1", "1.0") or (attribute.kind == "nominal" and word in _TRUE_WORDS):
        return True
    if word in ("0", "0.0") or (attribute.kind == "nominal" and word in _FALSE_WORDS):
        return False
    raise DataError(
        f"{path}:{line_number}: label {attribute.name!r} has value {token!r}; expected 0, 1 or ? (unknown)"
    )


@dataclass(frozen=True)
class _Encoder:
    """Maps one attribute's token to (column, value) pairs; see the module docstring for the rules."""

    attribute: Attribute
    offset: int
    mode: Literal["number", "boolean", "one_hot"]
    names: tuple[str, ...]

    @classmethod
    def for_attribute(cls, attribute: Attribute, *, offset: int) -> _Encoder:
        if attribute.kind == "numeric" or set(attribute.values) <= {"0", "1"}:
            return cls(attribute, offset, "number", (attribute.name,))
        lowered = {value.lower() for value in attribute.values}
        if len(lowered) == 2 and len(lowered & _TRUE_WORDS) == 1 and len(lowered & _FALSE_WORDS) == 1:
            return cls(attribute, offset, "boolean", (attribute.name,))
        names = tuple(f"{attribute.name}={value}" for value in attribute.values)
        return cls(attribute, offset, "one_hot", names)

    def encode_default(self) -> list[tuple[int, float]]:
        """The columns of an omitted sparse entry: 0 for a numeric attribute, else the first declared value, read by
        value (``{1,0}`` omitted is 1)."""
        if self.attribute.kind == "numeric":
            return []
        if self.mode == "number":
            return [(self.offset, float(self.attribute.values[0]))]
        return self._encode_checked(self.attribute.values[0])

    def encode(self, token: str, path: Path, line_number: int) -> list[tuple[int, float]]:
        if token == "?":
            raise DataError(
                f"{path}:{line_number}: feature {self.attribute.name!r} is missing ('?'); expected a value. "
                "Hint: impute missing values before loading"
            )
        if self.mode == "number":
            try:
                value = float(token)
            except ValueError:
                raise DataError(
                    f"{path}:{line_number}: feature {self.attribute.name!r} has value {token!r}; expected a number"
                ) from None
            if not math.isfinite(value):
                raise DataError(f"{path}:{line_number}: feature {self.attribute.name!r} has value {token!r}; "
                                "expected a finite number. Hint: impute or drop that row first")
            if abs(value) > _FLOAT32_MAX:
                raise DataError(
                    f"{path}:{line_number}: feature {self.attribute.name!r} has value {token!r}, beyond the float32 "
                    "range (|x| > 3.4e38); expected numbers float32 can hold. Hint: rescale the attribute"
                )
            return [(self.offset, value)]
        if token not in self.attribute.values:
            raise DataError(
                f"{path}:{line_number}: feature {self.attribute.name!r} has value {token!r}; expected one of "
                f"{{{','.join(self.attribute.values[:10])}{',...' if len(self.attribute.values) > 10 else ''}}}"
            )
        return self._encode_checked(token)

    def _encode_checked(self, token: str) -> list[tuple[int, float]]:
        if self.mode == "boolean":
            return [(self.offset, 1.0 if token.lower() in _TRUE_WORDS else 0.0)]
        return [(self.offset + self.attribute.values.index(token), 1.0)]
