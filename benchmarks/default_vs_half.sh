#!/usr/bin/env bash
# gnn-mlc evaluate on yeast and bibtex: the default decision strategy (global threshold) against 0.5.
# Trains two models per data set with the CLI (same seed, so the same scores) and compares them side by side.
# Writes benchmarks/results/default_vs_half.md.  Usage: bash benchmarks/default_vs_half.sh
set -euo pipefail
cd "$(dirname "$0")/.."
data=../shared/datasets
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
out=benchmarks/results/default_vs_half.md
{
    echo "# gnn-mlc evaluate: default decision strategy vs 0.5"
    echo
    echo "Command: \`bash benchmarks/default_vs_half.sh\`"
    echo
    echo "Machine: $(python -c 'import sys; sys.path.insert(0, "benchmarks"); from common import machine; print(machine())')"
    echo
    echo "Date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "Each model: \`gnn-mlc train --data DATA-train.arff --num-gcn-layers 1\` (the defaults of the time, seed 0); the"
    echo "\`-fixed-0.5\` one adds"
    echo "\`--threshold-strategy fixed\`. Scores are identical; only the decisions differ. Printed by"
    echo "\`gnn-mlc evaluate --compare DIR1 DIR2 --data DATA-test.arff\`:"
    for name in yeast bibtex; do
        gnn-mlc train --data "$data/$name/$name-train.arff" --output "$work/$name-default" --quiet \
            --num-gcn-layers 1 > /dev/null
        gnn-mlc train --data "$data/$name/$name-train.arff" --output "$work/$name-fixed-0.5" --quiet \
            --num-gcn-layers 1 --threshold-strategy fixed > /dev/null
        echo
        echo '```'
        (cd "$work" && gnn-mlc evaluate --compare "$name-default" "$name-fixed-0.5" --data "$OLDPWD/$data/$name/$name-test.arff") \
            | grep -v "^(add --output"
        echo '```'
    done
} > "$out.tmp"
mv "$out.tmp" "$out"
echo "wrote $out"
