#!/usr/bin/env bash
# One command: build Kiln's benchmark (Release), run Kiln and PyTorch on this machine, print a
# markdown table (~5 minutes). Usage: bash benchmarks/run.sh [--quick]   (--quick: 3 timed runs instead of 7)
# Raw JSON lines go to benchmarks/results/ (git-ignored).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"
extra=()
[[ "${1:-}" == "--quick" ]] && extra=(--quick)
python=/usr/bin/python3
out="$here/results"
mkdir -p "$out"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"

dotnet build -c Release benchmarks/Kiln.Benchmarks/Kiln.Benchmarks.csproj -nologo -v quiet >"$out/build-$stamp.log" 2>&1 \
  || { cat "$out/build-$stamp.log"; echo "build failed" >&2; exit 1; }
kiln=(dotnet benchmarks/Kiln.Benchmarks/bin/Release/net10.0/Kiln.Benchmarks.dll)
"$python" -c 'import torch' 2>/dev/null \
  || { echo "PyTorch missing: apt-get install -y python3-torch libopenblas0-pthread" >&2; exit 1; }

{
  echo "date_utc=$(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  echo "cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)"
  echo "nproc=$(nproc)"
  echo "commit=$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src benchmarks 2>/dev/null || echo '+uncommitted changes in src/ or benchmarks/')"
  echo "dotnet=$(dotnet --version)"
  echo "command=bash benchmarks/run.sh${1:+ $1}"
  # Left as found (not set or unset by this script); printed for the record.
  echo "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE-<unset>}"
  echo "OPENBLAS_L2_SIZE=${OPENBLAS_L2_SIZE-<unset>}"
  echo "OMP_WAIT_POLICY=${OMP_WAIT_POLICY-<unset>}"
  echo "load_before=$(cut -d' ' -f1-3 /proc/loadavg)"
} >"$out/meta-$stamp.txt"

# Interleaved so slow drift in machine load hits both sides alike. The main comparison is at
# 2 threads (Kiln: KilnSettings.Threads = 2; PyTorch: torch.set_num_threads(2) and OpenBLAS 2
# threads); the 1-thread runs are a reference (torch 1 thread + OpenBLAS 1 thread). Kiln runs the MLP
# rows and then the convolution rows in one process; PyTorch's are mlp.py then conv.py.
"${kiln[@]}" --threads 2 "${extra[@]}" | sed 's/"impl": "kiln"/"impl": "kiln", "config": "t2"/' >"$out/results-$stamp.jsonl"
OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=2 "$python" benchmarks/pytorch/mlp.py --threads 2 "${extra[@]}" \
  | sed 's/"impl": "pytorch"/"impl": "pytorch", "config": "t2"/' >>"$out/results-$stamp.jsonl"
OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=2 "$python" benchmarks/pytorch/conv.py --threads 2 "${extra[@]}" \
  | sed 's/"impl": "pytorch"/"impl": "pytorch", "config": "t2"/' >>"$out/results-$stamp.jsonl"
"${kiln[@]}" --threads 1 "${extra[@]}" | sed 's/"impl": "kiln"/"impl": "kiln", "config": "t1"/' >>"$out/results-$stamp.jsonl"
OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 "$python" benchmarks/pytorch/mlp.py --threads 1 "${extra[@]}" \
  | sed 's/"impl": "pytorch"/"impl": "pytorch", "config": "t1"/' >>"$out/results-$stamp.jsonl"
OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 "$python" benchmarks/pytorch/conv.py --threads 1 "${extra[@]}" \
  | sed 's/"impl": "pytorch"/"impl": "pytorch", "config": "t1"/' >>"$out/results-$stamp.jsonl"
echo "load_after=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/meta-$stamp.txt"

"$python" benchmarks/report.py "$out/meta-$stamp.txt" "$out/results-$stamp.jsonl"
