#!/usr/bin/env bash
# The Conv2D implicit-GEMM layer (32×32, 64 → 64, 3×3 same, batch 64; run.sh's "Conv2D forward/backward"
# rows) against PyTorch/oneDNN in interleaved rounds, for a host whose speed drifts between runs: each round
# runs Kiln at 2 threads, then PyTorch at 2 threads (its faster memory format), and the ratio is taken
# within the round (Kiln's GFLOP/s over PyTorch's). Prints each round's ratios and the median.
# Usage: bash benchmarks/conv2d-rounds.sh [ROUNDS]   (default 4; ~20 s a round on 2 CPUs)
#   KILN_BENCH_PYTHON and KILN_BENCH_NO_BUILD as in benchmarks/run.sh; KILN_BENCH_CORETYPE for OpenBLAS.
NAME=conv2d-rounds
source "$(dirname "${BASH_SOURCE[0]}")/rounds-setup.sh" "${1:-4}"
rows='"work": "conv32_64to64_b64_(fwd|bwd)"'
for r in $(seq 1 "$rounds"); do
  dotnet benchmarks/Kiln.Benchmarks/bin/Release/net10.0/Kiln.Benchmarks.dll --threads 2 --quick --only conv2d \
    | tagged "$r" kiln_t2
  env "${malloc[@]}" OPENBLAS_CORETYPE="$coretype" OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=2 "$python" benchmarks/pytorch/conv.py --threads 2 --quick --only conv2d \
    | tagged "$r" pytorch_t2
done | tee "$out" | "$python" -c '
import json, statistics, sys
rates = {}
for line in sys.stdin:
    row = json.loads(line)
    rates.setdefault(row["work"], {}).setdefault(row["round"], {})[row["side"]] = row["gflops"]
for work, by_round in rates.items():
    ratios = [s["kiln_t2"] / s["pytorch_t2"] for _, s in sorted(by_round.items()) if len(s) == 2]
    kiln = [s["kiln_t2"] for s in by_round.values() if "kiln_t2" in s]
    print(f"{work}: Kiln / PyTorch GFLOP/s at 2 threads per round " + ", ".join(f"{x:.2f}" for x in ratios)
          + (f"; median {statistics.median(ratios):.2f}x" if ratios else "")
          + (f"; Kiln {min(kiln):.0f}-{max(kiln):.0f} GFLOP/s" if kiln else ""))
'
echo "# JSON lines: $out"
