#!/usr/bin/env bash
# One prepared run on a machine with a CUDA GPU (the device tool's H200 here): the CUDA tests (tests/test_cuda.py,
# checked against the CPU), then the GPU timings (benchmarks/gpu.py). Runs from the source tree with the machine's
# own torch, torch-geometric and scientific stack (nothing is installed), in well under 8 minutes.
#
# Usage: OUT=FOLDER bash benchmarks/gpu_check.sh
# Writes into FOLDER: device.txt (GPU, torch, CUDA, torch-geometric), cuda_tests.log, cuda_report.json (the measured
# CPU/CUDA differences), gpu.log, and gpu.md / gpu.json (also written to benchmarks/results/).
set -u -o pipefail
OUT=${OUT:-gpu_check_output}
mkdir -p "$OUT"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
start=$(date +%s)
{ nvidia-smi -L; python3 -c "import torch, torch_geometric as g; print('torch', torch.__version__, 'cuda', \
torch.version.cuda, 'torch_geometric', g.__version__, 'tf32 matmul', torch.backends.cuda.matmul.allow_tf32)"; } \
  > "$OUT/device.txt" 2>&1
cat "$OUT/device.txt"
GNN_MLC_CUDA_REPORT="$OUT/cuda_report.json" timeout 200 python3 -m pytest -q -p no:cacheprovider tests/test_cuda.py \
  2>&1 | tee "$OUT/cuda_tests.log"
tests=$?
echo "cuda tests: exit $tests after $(( $(date +%s) - start )) s"
timeout 300 python3 benchmarks/gpu.py --work /tmp/gpu_work 2>&1 | tee "$OUT/gpu.log"
timings=$?
cp benchmarks/results/gpu.md benchmarks/results/gpu.json "$OUT/" 2>/dev/null
echo "gpu timings: exit $timings after $(( $(date +%s) - start )) s"
[ -f "$OUT/cuda_report.json" ] && cat "$OUT/cuda_report.json"
exit $(( tests != 0 || timings != 0 ))
