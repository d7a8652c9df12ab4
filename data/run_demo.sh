#!/usr/bin/env bash
# The demo `make demo` runs: train the label-graph model (with a label-only log of baskets that holds 8 interests no
# training user has) and the no-graph baseline on the embedded shop data, evaluate both side by side, show how the
# new interests are scored, run the batch scoring job for top-5 interests, and inspect what the model learned.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${DEMO_OUT:-demo_output}"
mkdir -p "$out"
start=$(date +%s)

echo "== 1/7 label graph of the training labels"
gnn-mlc graph --data data/shop_train.parquet --output "$out/label_graph.graphml"
echo
echo "== 2/7 train the label-graph model, with the baskets log (label-only rows)"
gnn-mlc train --data data/shop_train.parquet --graph-data data/shop_baskets.parquet --output "$out/model_gcn" \
    --overwrite --random-state 0 --quiet
echo
echo "== 3/7 train the no-graph baseline (same encoder, independent heads, no log)"
gnn-mlc train --data data/shop_train.parquet --output "$out/model_mlp" --no-graph --overwrite --random-state 0 --quiet
echo
echo "== 4/7 evaluate both on the held-out users (popularity beside them)"
gnn-mlc evaluate --compare "$out/model_gcn" "$out/model_mlp" --data data/shop_test.parquet --output "$out/evaluation"
echo
echo "== 5/7 the new interests, which only the baskets log knows"
python data/demo_new_interests.py "$out"
echo
echo "== 6/7 batch job: top-5 interests of every user to score"
gnn-mlc score --model "$out/model_gcn" --input data/shop_score.parquet --output "$out/recommendations" --top-k 5 \
    --with-labels --overwrite --quiet
python - "$out/recommendations" <<'PY'
import sys
import pyarrow.parquet as pq
table = pq.read_table(sys.argv[1]).slice(0, 3).to_pylist()
for row in table:
    print(f"  {row['id']}: " + ", ".join(f"{label} ({score:.2f})" for label, score in zip(row["labels"], row["scores"])))
PY
echo
echo "== 7/7 inspect the label embeddings"
gnn-mlc inspect --model "$out/model_gcn" --label camping -k 5
gnn-mlc inspect --model "$out/model_gcn" --baseline "$out/model_mlp" --output "$out/inspection" > /dev/null
grep -A 4 "^| model |" "$out/inspection/report.md"

echo
echo "demo finished in $(( $(date +%s) - start )) s; everything is in $out/:"
echo "  label graph (GraphML, open in Gephi):  $out/label_graph.graphml"
echo "  models:                                $out/model_gcn/  $out/model_mlp/"
echo "  evaluation:                            $out/evaluation/ (metrics.json, metrics.md, per-label CSVs)"
echo "  recommendations (Parquet shards):      $out/recommendations/"
echo "  inspection (report, PNGs, projector):  $out/inspection/report.md"
