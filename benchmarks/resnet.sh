#!/usr/bin/env bash
# The Fashion-MNIST ResNet train-step rows alone (samples/FashionMnistResNet's model and its --recipe modern model, batch 128, Adam),
# with run.sh's harness and order: Kiln 2 threads, PyTorch 2 threads, Kiln 1 thread, PyTorch 1 thread
# (PyTorch in both memory formats, the faster shown), then report.py's table (the other rows are
# empty). `bash benchmarks/run.sh` measures the same row among all the others.
# Usage: bash benchmarks/resnet.sh   Raw JSON lines go to benchmarks/results/ (git-ignored).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here/.."
python=/usr/bin/python3
out="$here/results"
mkdir -p "$out"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
dotnet build -c Release benchmarks/Kiln.Benchmarks/Kiln.Benchmarks.csproj -nologo -v quiet >"$out/build-$stamp.log" 2>&1 \
  || { cat "$out/build-$stamp.log"; echo "build failed" >&2; exit 1; }
kiln=(dotnet benchmarks/Kiln.Benchmarks/bin/Release/net10.0/Kiln.Benchmarks.dll)
{
  echo "date_utc=$(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  echo "cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)"
  echo "nproc=$(nproc)"
  echo "commit=$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src benchmarks 2>/dev/null || echo '+uncommitted changes in src/ or benchmarks/')"
  echo "dotnet=$(dotnet --version)"
  echo "command=bash benchmarks/resnet.sh"
  echo "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE-<unset>}"
  echo "OPENBLAS_L2_SIZE=${OPENBLAS_L2_SIZE-<unset>}"
  echo "OMP_WAIT_POLICY=${OMP_WAIT_POLICY-<unset>}"
  echo "load_before=$(cut -d' ' -f1-3 /proc/loadavg)"
} >"$out/meta-$stamp.txt"
r="$out/results-$stamp.jsonl"
# PyTorch with glibc's mmap and trim thresholds raised, as run.sh runs it (see there): fresh
# buffers every step otherwise page-fault in again (2.2x on this step).
malloc=(env MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=4294967296)
echo "pytorch_malloc=${malloc[*]:1}" >>"$out/meta-$stamp.txt"
"${kiln[@]}" --threads 2 --only resnet | sed 's/"impl": "kiln"/"impl": "kiln", "config": "t2"/' >"$r"
"${malloc[@]}" OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=2 "$python" benchmarks/pytorch/conv.py --threads 2 --only resnet \
  | sed 's/"impl": "pytorch"/"impl": "pytorch", "config": "t2"/' >>"$r"
"${kiln[@]}" --threads 1 --only resnet | sed 's/"impl": "kiln"/"impl": "kiln", "config": "t1"/' >>"$r"
"${malloc[@]}" OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 "$python" benchmarks/pytorch/conv.py --threads 1 --only resnet \
  | sed 's/"impl": "pytorch"/"impl": "pytorch", "config": "t1"/' >>"$r"
echo "load_after=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/meta-$stamp.txt"
"$python" benchmarks/report.py "$out/meta-$stamp.txt" "$r"
