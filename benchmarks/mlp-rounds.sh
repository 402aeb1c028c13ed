#!/usr/bin/env bash
# The MLP train steps (batch 32 and 256, SGD) against PyTorch in interleaved rounds, for a host whose speed
# drifts between runs: each round runs Kiln at 2 threads, then PyTorch at 1 thread (its faster count on 2
# CPUs) under OPENBLAS_CORETYPE (default SkylakeX) and under OpenBLAS's own choice, then Kiln's coherence
# probe (`--only coherence`: how long one core takes to rewrite 1 MiB the other core has just read, the
# figure that tells this host's slow minutes from its fast ones). The ratio is taken within the round
# (Kiln's throughput over PyTorch's faster). Prints each round's ratios and the median.
# Usage: bash benchmarks/mlp-rounds.sh [ROUNDS]   (default 4; ~1 minute a round on 2 CPUs)
#   KILN_BENCH_PYTHON and KILN_BENCH_NO_BUILD as in benchmarks/run.sh; KILN_BENCH_CORETYPE for the named core type.
NAME=mlp-rounds
source "$(dirname "${BASH_SOURCE[0]}")/rounds-setup.sh" "${1:-4}"
kiln=benchmarks/Kiln.Benchmarks/bin/Release/net10.0/Kiln.Benchmarks.dll
rows='"work": "train_b(32|256)"'
for r in $(seq 1 "$rounds"); do
  dotnet "$kiln" --threads 2 --quick --only mlp | tagged "$r" kiln_t2
  env "${malloc[@]}" OPENBLAS_CORETYPE="$coretype" OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 "$python" benchmarks/pytorch/mlp.py --threads 1 --quick \
    | tagged "$r" pytorch_t1_named
  env "${malloc[@]}" OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 "$python" benchmarks/pytorch/mlp.py --threads 1 --quick \
    | tagged "$r" pytorch_t1_auto
  dotnet "$kiln" --only coherence --quick | grep '"coherence_rewrite_1mib"' | sed "s/^{/{\"round\": $r, \"side\": \"host\", /"
done | tee "$out" | "$python" -c '
import json, statistics, sys
rates, host = {}, {}
for line in sys.stdin:
    row = json.loads(line)
    if row["side"] == "host":
        host[row["round"]] = row["after_other_core_read_median_us"]
        continue
    rates.setdefault(row["work"], {}).setdefault(row["round"], {})[row["side"]] = row["samples_per_s"]
for work, by_round in rates.items():
    full = [(r, s) for r, s in sorted(by_round.items()) if len(s) == 3]
    ratios = [s["kiln_t2"] / max(s["pytorch_t1_named"], s["pytorch_t1_auto"]) for _, s in full]
    print(f"{work}: Kiln 2-thread / PyTorch faster 1-thread per round " + ", ".join(f"{x:.2f}" for x in ratios)
          + (f"; median {statistics.median(ratios):.2f}x" if ratios else "")
          + "; Kiln " + ", ".join(format(s["kiln_t2"], ",.0f") for _, s in full) + " samples/s")
if host:
    print("coherence probe per round (µs to rewrite 1 MiB the other core read; own read ~10): " + ", ".join(f"{host[r]:.0f}" for r in sorted(host)))
'
echo "# JSON lines: $out"
