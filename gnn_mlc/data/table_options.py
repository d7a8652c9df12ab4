"""``TableOptions``: how a CSV/Parquet table's columns are read, chosen once (CLI flags or keywords), checked once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import get_args

from gnn_mlc._typing import DEFAULT_LABEL_COLUMN
from gnn_mlc.data.categories import DEFAULT_MAX_CATEGORIES
from gnn_mlc.data.items import ItemWeighting
from gnn_mlc.data.label_lists import DEFAULT_LABEL_DELIMITER
from gnn_mlc.errors import GnnMlcError


@dataclass(frozen=True)
class TableOptions:
    """The column choices of a CSV/Parquet table (ignored by ARFF and XC files, which refuse the column ones).

    Attributes:
        label_column: the column holding each row's labels (a list, or a delimited string).
        id_column: the identifier column (not a feature); ``None``: see
            :func:`~gnn_mlc.data.tabular.resolve_id_column`.
        label_delimiter: the separator of names in a string label, known-label or item column
            (:func:`~gnn_mlc.data.label_lists.read_label_lists`).
        feature_columns: the feature columns, in this order; ``None``: every column but the label and id columns.
        exclude_columns: columns that are not features.
        known_column: a column of each row's known labels (a user's history), read like the label column.
        item_columns: feature columns read as item lists besides the list-typed ones.
        item_weighting: ``"binary"`` or ``"tfidf"``, for the item columns fitted.
        max_categories: the most categories a text column fitted keeps (its most frequent values); the other values
            go to ``column=__other__`` (:mod:`gnn_mlc.data.categories`).

    Raises:
        GnnMlcError: an empty delimiter or column name, an unknown weighting, a cap below 1, or one column in two
            roles.
    """

    label_column: str = DEFAULT_LABEL_COLUMN
    id_column: str | None = None
    label_delimiter: str = DEFAULT_LABEL_DELIMITER
    feature_columns: tuple[str, ...] | None = None
    exclude_columns: tuple[str, ...] = ()
    known_column: str | None = None
    item_columns: tuple[str, ...] = ()
    item_weighting: ItemWeighting = "binary"
    max_categories: int = DEFAULT_MAX_CATEGORIES

    def __post_init__(self) -> None:
        # lists given by a caller become tuples: the options are frozen and hashable
        for name in ("feature_columns", "exclude_columns", "item_columns"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, tuple):
                object.__setattr__(self, name, tuple(value))
        if not isinstance(self.label_delimiter, str) or not self.label_delimiter:
            raise GnnMlcError(f"label_delimiter: got {self.label_delimiter!r}; expected a non-empty string "
                              "(CLI: --label-delimiter)")
        if self.item_weighting not in get_args(ItemWeighting):
            raise GnnMlcError(f"item_weighting: got {self.item_weighting!r}; expected one of "
                              f"{', '.join(get_args(ItemWeighting))}")
        if isinstance(self.max_categories, bool) or not isinstance(self.max_categories, int) \
                or self.max_categories < 1:
            raise GnnMlcError(f"max_categories: got {self.max_categories!r}; expected a positive integer "
                              "(CLI: --max-categories)")
        single = {"label_column": self.label_column, "id_column": self.id_column, "known_column": self.known_column}
        listed = [(option, column) for option in ("feature_columns", "exclude_columns", "item_columns")
                  for column in getattr(self, option) or ()]
        for name, value in [*single.items(), *listed]:
            if value is not None and (not isinstance(value, str) or not value):
                raise GnnMlcError(f"{name}: got {value!r}; expected a non-empty column name")
        roles = [(name, value) for name, value in single.items() if value is not None]
        for index, (name, value) in enumerate(roles):
            other = next((first for first, column in roles[:index] if column == value), None)
            if other is not None:
                raise GnnMlcError(f"{name}: names {value!r}, already the {other}; expected one role per column. "
                                  f"Hint: check --{name.replace('_', '-')}")
