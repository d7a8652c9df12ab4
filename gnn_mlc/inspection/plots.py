"""Pictures of what a model learned about labels, as PNGs (matplotlib, Agg backend; ``pip install gnn-mlc[plot]``).

* :func:`plot_embedding_map`: the label embeddings in 2-D (PCA of the unit vectors), points sized by training
  frequency and coloured by co-occurrence community (a legend for both), names on the most frequent labels; labels
  with no positive training row are left out and counted in the title.
* :func:`plot_label_graph`: the strongest co-occurrence edges (each label's few most lifted partners) around the
  most frequent labels (about :data:`DRAWN_LABELS` labels drawn), communities coloured, so the picture stays
  readable rather than a hairball; the title says how many labels were left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np
import scipy.sparse as sp
from sklearn.decomposition import PCA

from gnn_mlc.errors import GnnMlcError
from gnn_mlc.fitted import as_fitted_model
from gnn_mlc.inspection.neighbours import lifted_pairs, unit_vectors
from gnn_mlc.outputs import atomic_path

if TYPE_CHECKING:
    from gnn_mlc.fitted import FittedModel

_PALETTE = "tab20"
DRAWN_LABELS = 300
"""About this many labels are drawn in the label-graph picture: the most frequent with a strong partner, with
their partners."""


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise GnnMlcError(
            "pictures need matplotlib, which is not installed; expected it for inspect's PNGs. "
            "Hint: pip install 'gnn-mlc[plot]'"
        ) from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def strongest_edges_graph(
    model: FittedModel, *, neighbours_per_label: int = 3, min_count: int = 3
) -> nx.Graph:
    """Undirected graph of each label's ``neighbours_per_label`` partners with the highest lift
    (``P(j | i) / P(j)``), among pairs seen together at least ``min_count`` times; edge ``weight`` is the lift.
    Vectorised: built in bulk from the lifted pairs, at most ``neighbours_per_label`` x num_labels edges."""
    names = [str(name) for name in model.label_names]
    counts = sp.csr_matrix(model.cooccurrence, dtype=np.float64)
    frequency = counts.diagonal()
    pairs = lifted_pairs(counts, num_rows=int(model.cooccurrence_rows), min_count=min_count).tocoo()
    order = np.lexsort((pairs.col, -pairs.data, pairs.row))  # by label, then lift descending
    row, col, lift = pairs.row[order], pairs.col[order], pairs.data[order]
    rank = np.arange(len(row)) - np.searchsorted(row, row)  # position among the label's partners
    keep = rank < neighbours_per_label
    row, col, lift = row[keep], col[keep], lift[keep]
    together = np.asarray(counts[row, col]).ravel().astype(np.int64) if len(row) else np.zeros(0, np.int64)
    graph = nx.Graph()
    graph.add_nodes_from((name, {"frequency": int(count)}) for name, count in zip(names, frequency.tolist()))
    graph.add_edges_from((names[source], names[target], {"weight": weight, "count": count}) for
                         source, target, weight, count in zip(row.tolist(), col.tolist(), lift.tolist(),
                                                               together.tolist()))
    return graph


def label_communities(graph: nx.Graph) -> list[set[str]]:
    """Louvain communities of ``graph`` (seeded), largest first; isolated labels are their own community."""
    communities = nx.community.louvain_communities(graph, weight="weight", seed=0)
    return sorted(communities, key=lambda members: (-len(members), sorted(members)[0]))


LEGEND_COMMUNITIES = 8
"""The embedding map's colour legend names at most this many communities (the largest drawn)."""


def plot_embedding_map(model: FittedModel, path: str | Path, *, max_names: int = 60,
                       communities: list[set[str]] | None = None,
                       display_names: Mapping[str, str] | None = None) -> Path:
    """Write a 2-D PCA map of the label embeddings to ``path`` (PNG), coloured by ``communities`` (by default
    :func:`label_communities` of :func:`strongest_edges_graph`) and sized by training frequency, with a legend for
    both. Labels with no positive training row (cold labels: their vectors come from the graph sources) are left
    out and counted in the title; ``display_names`` (label -> name) replaces the names written."""
    model = as_fitted_model(model)
    plt = _pyplot()
    frequency_all = np.asarray(model.label_counts, dtype=np.float64)
    drawn = np.flatnonzero(frequency_all > 0)
    names = [str(model.label_names[index]) for index in drawn]
    shown_as = [(display_names or {}).get(name, name) for name in names]
    unit = unit_vectors(model.label_embeddings[drawn])
    points = PCA(n_components=2, random_state=0).fit_transform(unit) if len(names) > 2 else np.c_[
        np.arange(len(names)), np.zeros(len(names))]
    frequency = frequency_all[drawn]
    if communities is None:
        communities = label_communities(strongest_edges_graph(model))
    colour = _community_colours(communities, names)
    figure, axes = plt.subplots(figsize=(11, 9), dpi=150)
    largest = max(frequency.max(), 1) if len(frequency) else 1
    sizes = 20 + 600 * np.sqrt(frequency / largest)
    axes.scatter(points[:, 0], points[:, 1], s=sizes, c=colour, cmap=_PALETTE, vmin=0, vmax=19, alpha=0.75,
                 edgecolors="white", linewidths=0.6)
    shown_names = np.argsort(-frequency, kind="stable")[:max_names]
    _place_names(axes, points[shown_names], [shown_as[index] for index in shown_names])
    _embedding_legends(axes, plt, communities, names, shown_as, frequency, largest)
    shown = min(max_names, len(names))
    cold = len(frequency_all) - len(drawn)
    left_out = f"; {cold} labels with no positive training row left out" if cold else ""
    axes.set_title(f"Label embeddings (PCA of unit vectors): size = training frequency, colour = co-occurrence "
                   f"community; {shown} of {len(names)} names shown{left_out}", fontsize=9)
    axes.set_xlabel("PC 1")
    axes.set_ylabel("PC 2")
    return _save(figure, plt, path)


def _embedding_legends(axes: Any, plt: Any, communities: list[set[str]], names: list[str], shown_as: list[str],
                       frequency: np.ndarray, largest: float) -> None:
    """Two legends: colour (the largest communities drawn, each by its two most frequent members) and size (three
    training frequencies, drawn as the map draws them)."""
    cmap = plt.get_cmap(_PALETTE)
    position = {name: index for index, name in enumerate(names)}
    handles = []
    for index, members in enumerate(communities):
        present = sorted((position[name] for name in members if name in position), key=lambda i: -frequency[i])
        if not present:
            continue
        more = f" +{len(present) - 2}" if len(present) > 2 else ""
        label = f"{index + 1}: {', '.join(shown_as[i][:18] for i in present[:2])}{more}"
        handles.append(axes.scatter([], [], s=60, color=cmap((index % 20) / 19), label=label))
        if len(handles) == LEGEND_COMMUNITIES:
            break
    if handles:
        legend = axes.legend(handles=handles, title="community (colour)", loc="upper left", fontsize=6,
                             title_fontsize=7, framealpha=0.8)
        axes.add_artist(legend)
    counts = sorted({int(largest), int(np.median(frequency)) if len(frequency) else 1, 1}, reverse=True)
    sizes = [axes.scatter([], [], s=20 + 600 * np.sqrt(count / largest), color="#999999", alpha=0.75,
                          label=f"{count:,} rows") for count in counts]
    axes.legend(handles=sizes, title="training frequency (size)", loc="lower right", fontsize=6, title_fontsize=7,
                labelspacing=1.6, borderpad=1.0, framealpha=0.8)


def plot_label_graph(model: FittedModel, path: str | Path, *, neighbours_per_label: int = 3,
                     display_names: Mapping[str, str] | None = None) -> Path:
    """Write a drawing of the strongest co-occurrence edges, communities coloured, to ``path`` (PNG);
    ``display_names`` (label -> name) replaces the names written."""
    model = as_fitted_model(model)
    plt = _pyplot()
    graph = strongest_edges_graph(model, neighbours_per_label=neighbours_per_label)
    partnered = sorted((node for node in graph if graph.degree(node) > 0),
                       key=lambda node: -graph.nodes[node]["frequency"])
    chosen: dict[str, None] = {}  # the most frequent labels with their partners, until DRAWN_LABELS are in
    centres = 0
    for node in partnered:
        if len(chosen) >= DRAWN_LABELS:
            break
        partners = sorted(graph[node].items(), key=lambda item: -item[1]["weight"])[:neighbours_per_label]
        chosen.update(dict.fromkeys([node, *(partner for partner, _ in partners)]))
        centres += 1
    drawn = graph.subgraph(chosen)
    names = list(drawn.nodes)
    communities = label_communities(drawn)
    colour = _community_colours(communities, names)
    figure, axes = plt.subplots(figsize=(12, 12), dpi=150)
    if names:
        layout = _component_layout(drawn)
        weights = np.array([data["weight"] for _, _, data in drawn.edges(data=True)])
        widths = 0.5 + 2.5 * (weights / weights.max()) if len(weights) else []
        nx.draw_networkx_edges(drawn, layout, ax=axes, width=widths, alpha=0.35, edge_color="#555555")
        frequency = np.array([drawn.nodes[name]["frequency"] for name in names], dtype=np.float64)
        nx.draw_networkx_nodes(drawn, layout, ax=axes, node_size=30 + 500 * np.sqrt(frequency / frequency.max()),
                               node_color=colour, cmap=plt.get_cmap(_PALETTE), vmin=0, vmax=19, alpha=0.85)
        _place_names(axes, np.array([layout[name] for name in names]),
                     [(display_names or {}).get(name, name) for name in names])
    isolated = graph.number_of_nodes() - len(partnered)
    sampled = (f";\nsampled: the {centres} most frequent of the {len(partnered)} labels with a partner, and their "
               f"partners" if len(partnered) > len(names) else "")
    axes.set_title(f"Label co-occurrence: each label's {neighbours_per_label} most lifted partners "
                   f"({drawn.number_of_edges()} edges; {isolated} labels without such a partner not drawn{sampled})",
                   fontsize=9)
    axes.axis("off")
    return _save(figure, plt, path)


def _component_layout(graph: nx.Graph) -> dict[str, np.ndarray]:
    """Lay out each connected component on its own (Kamada-Kawai) and pack them in rows, each in a square of side
    proportional to the square root of its size: a disconnected graph neither drifts apart nor overlaps itself."""
    components = sorted(nx.connected_components(graph), key=lambda nodes: (-len(nodes), sorted(nodes)[0]))
    row_width = 1.3 * np.sqrt(graph.number_of_nodes())
    layout: dict[str, np.ndarray] = {}
    x = y = row_height = 0.0
    for component in components:
        side = np.sqrt(len(component))
        if x > 0 and x + side > row_width:
            x, y, row_height = 0.0, y - row_height, 0.0
        sub = graph.subgraph(component)
        # Kamada-Kawai spaces a connected graph's nodes evenly by graph distance: dense communities stay legible.
        local = nx.kamada_kawai_layout(sub) if len(sub) > 2 else nx.circular_layout(sub)
        points = np.array([local[name] for name in sub])
        low, span = points.min(axis=0), np.ptp(points, axis=0)
        span = np.where(span > 0, span, 1.0)
        for name, point in zip(sub, points):
            layout[name] = np.array([x, y]) + 0.8 * side * ((point - low) / span - 0.5) + side / 2
        x, row_height = x + side, max(row_height, side)
    return layout


def _place_names(axes: Any, points: np.ndarray, names: list[str]) -> None:
    """Write each name beside its point, on the side (of eight) farthest from the names already placed, so that
    names in dense regions fan out instead of piling up."""
    span = np.ptp(points, axis=0) if len(points) > 1 else np.ones(2)
    span = np.where(span > 0, span, 1.0)
    directions = [(1, 1), (1, -1), (-1, 1), (-1, -1), (1, 0), (-1, 0), (0, 1), (0, -1)]
    placed = np.zeros((0, 2))
    for point, name in zip(points, names):
        anchors = point / span + np.array([[dx * 0.02 * (1 + len(name) / 8), dy * 0.02] for dx, dy in directions])
        if len(placed):
            distance = np.linalg.norm(anchors[:, None, :] - placed[None, :, :], axis=2).min(axis=1)
            best = int(np.argmax(distance))  # the first of equally far sides, as before
        else:
            best = 0
        dx, dy = directions[best]
        placed = np.vstack([placed, anchors[best]])
        axes.annotate(name, point, xytext=(5 * dx, 5 * dy), textcoords="offset points", fontsize=7,
                      ha="left" if dx > 0 else "right" if dx < 0 else "center",
                      va="bottom" if dy > 0 else "top" if dy < 0 else "center", alpha=0.9)


def _community_colours(communities: list[set[str]], names: list[str]) -> list[int]:
    community_of = {name: index for index, members in enumerate(communities) for name in members}
    return [community_of.get(name, 0) % 20 for name in names]


def _save(figure: Any, plt: Any, path: str | Path) -> Path:
    figure.tight_layout()
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png")
    plt.close(figure)
    return Path(path)
