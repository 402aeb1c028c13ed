#!/usr/bin/env bash
# GAN steps per second, Kiln (GanBenchmark) against PyTorch (benchmarks/pytorch/gan.py), batch 32,
# seed 000's models at quarter width (samples/Gan's default) and at the seed's width.
# Usage: bash benchmarks/GanBenchmark/run.sh [--quick]   (--quick: 3 runs of ~2 s instead of 5 of ~4 s)
# Interleaved, narrow then seed, Kiln then PyTorch, at 2 threads; JSON lines and the load go to
# benchmarks/results/gan-<stamp>.jsonl (git-ignored) and are printed. KILN_BENCH_PYTHON and
# KILN_BENCH_NO_BUILD as in benchmarks/run.sh.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
runs=(--runs 5 --run-seconds 4)
[[ "${1:-}" == "--quick" ]] && runs=(--runs 3 --run-seconds 2)
python="${KILN_BENCH_PYTHON:-/usr/bin/python3}"   # as in benchmarks/run.sh
"$python" -c 'import torch' 2>/dev/null \
  || { echo "PyTorch missing: apt-get install -y python3-torch libopenblas0-pthread" >&2; exit 1; }
mkdir -p benchmarks/results
out="benchmarks/results/gan-$(date -u +%Y%m%dT%H%M%SZ).jsonl"
[[ -n "${KILN_BENCH_NO_BUILD:-}" ]] || dotnet build -c Release benchmarks/GanBenchmark/GanBenchmark.csproj -nologo -v quiet >/dev/null
{
  echo "{\"date_utc\": \"$(date -u '+%Y-%m-%d %H:%M:%S')\", \"cpu\": \"$(lscpu | sed -n 's/^Model name: *//p' | head -1)\", \"nproc\": $(nproc), \"commit\": \"$(git rev-parse --short HEAD)\", \"load_before\": \"$(cut -d' ' -f1-3 /proc/loadavg)\"}"
  for model in narrow seed; do
    dotnet benchmarks/GanBenchmark/bin/Release/net10.0/GanBenchmark.dll --models "$model" --threads 2 "${runs[@]}"
    MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=4294967296 OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 "$python" benchmarks/pytorch/gan.py --models "$model" --threads 2 "${runs[@]}"
  done
  echo "{\"load_after\": \"$(cut -d' ' -f1-3 /proc/loadavg)\"}"
} | tee "$out"
