#!/usr/bin/env bash
# The Fashion CNN and CIFAR net train steps (batch 64, Adam) against PyTorch in interleaved rounds, for
# a host whose speed drifts between runs: each round runs Kiln at 2 threads, then PyTorch at 2 threads
# (OpenBLAS's own core type) and at 1 thread (OPENBLAS_CORETYPE, default SkylakeX), and the ratio is
# taken within the round (PyTorch's faster step over Kiln's). Prints each round's ratios and the median.
# Usage: bash benchmarks/conv-rounds.sh [ROUNDS]   (default 4; ~1.5 minutes a round on 2 CPUs)
#   KILN_BENCH_PYTHON and KILN_BENCH_NO_BUILD as in benchmarks/run.sh; KILN_BENCH_CORETYPE for the 1-thread run.
NAME=conv-rounds
source "$(dirname "${BASH_SOURCE[0]}")/rounds-setup.sh" "${1:-4}"
rows='"work": "(fashion_cnn_b64|cifar_b64)"'
for r in $(seq 1 "$rounds"); do
  dotnet benchmarks/Kiln.Benchmarks/bin/Release/net10.0/Kiln.Benchmarks.dll --threads 2 --quick --only conv \
    | tagged "$r" kiln_t2
  env "${malloc[@]}" OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=2 "$python" benchmarks/pytorch/conv.py --threads 2 --quick --only conv \
    | tagged "$r" pytorch_t2
  env "${malloc[@]}" OPENBLAS_CORETYPE="$coretype" OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 "$python" benchmarks/pytorch/conv.py --threads 1 --quick --only conv \
    | tagged "$r" pytorch_t1
done | tee "$out" | "$python" -c '
import json, statistics, sys
steps = {}
for line in sys.stdin:
    row = json.loads(line)
    steps.setdefault(row["work"], {}).setdefault(row["round"], {})[row["side"]] = row["ms_per_step"]
for work, by_round in steps.items():
    ratios = [min(s["pytorch_t1"], s["pytorch_t2"]) / s["kiln_t2"] for _, s in sorted(by_round.items()) if len(s) == 3]
    kiln = [s["kiln_t2"] for s in by_round.values() if "kiln_t2" in s]
    print(f"{work}: PyTorch faster step / Kiln 2-thread step per round " + ", ".join(f"{x:.2f}" for x in ratios)
          + (f"; median {statistics.median(ratios):.2f}x" if ratios else "")
          + (f"; Kiln {min(kiln):.2f}-{max(kiln):.2f} ms" if kiln else ""))
'
echo "# JSON lines: $out"
