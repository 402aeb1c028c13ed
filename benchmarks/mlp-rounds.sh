#!/usr/bin/env bash
# The MLP train steps (batch 32 and 256, SGD) against PyTorch in interleaved rounds, for a host whose speed
# drifts between runs: each round runs Kiln at 2 threads, then PyTorch at 1 thread (its faster count on 2
# CPUs) under OPENBLAS_CORETYPE (default SkylakeX) and under OpenBLAS's own choice, then Kiln's coherence
# probe (`--only coherence`: how long one core takes to rewrite 1 MiB the other core has just read, the
# figure that tells this host's slow minutes from its fast ones) and the FMA peak (`--only peak`). The ratio
# is taken within the round (Kiln's throughput over PyTorch's faster). Prints each round's ratios and the
# median, and the step's products as shares of that round's peak: Kiln's, PyTorch's, and what issue 15's bar needs.
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
  dotnet "$kiln" --only peak --quick | grep '"fma_peak_' | sed "s/^{/{\"round\": $r, \"side\": \"peak\", /"
done | tee "$out" | "$python" -c '
import json, statistics, sys
rates, host, peaks, flops = {}, {}, {}, {}
for line in sys.stdin:
    row = json.loads(line)
    if row["side"] == "host":
        host[row["round"]] = row["after_other_core_read_median_us"]
        continue
    if row["side"] == "peak":  # the faster vector width per thread count, this round
        key = (row["round"], row["threads"])
        peaks[key] = max(peaks.get(key, 0), row["gflops"])
        continue
    rates.setdefault(row["work"], {}).setdefault(row["round"], {})[row["side"]] = row["samples_per_s"]
    if "product_flops_per_sample" in row:
        flops[row["work"]] = row["product_flops_per_sample"]
bars = {"train_b32": 4, "train_b256": 2}  # issue 15
for work, by_round in rates.items():
    full = [(r, s) for r, s in sorted(by_round.items()) if len(s) == 3]
    ratios = [s["kiln_t2"] / max(s["pytorch_t1_named"], s["pytorch_t1_auto"]) for _, s in full]
    print(f"{work}: Kiln 2-thread / PyTorch faster 1-thread per round " + ", ".join(f"{x:.2f}" for x in ratios)
          + (f"; median {statistics.median(ratios):.2f}x" if ratios else "")
          + "; Kiln " + ", ".join(format(s["kiln_t2"], ",.0f") for _, s in full) + " samples/s")
    # The step products (product_flops_per_sample, as in report.py) as shares of the FMA peaks of the round, and what the bar asks.
    f, shares = flops.get(work), []
    for r, s in full:
        p1, p2 = peaks.get((r, 1)), peaks.get((r, 2))
        if f and p1 and p2:
            pytorch = max(s["pytorch_t1_named"], s["pytorch_t1_auto"]) * f / 1e9
            shares.append((s["kiln_t2"] * f / 1e9 / p2, pytorch / p1, bars.get(work, 0) * pytorch / p2))
    if shares:
        print(f"  products at a share of the FMA peak of the round: Kiln (2 thr) " + ", ".join(f"{k:.0%}" for k, _, _ in shares)
              + "; PyTorch (1 thr) " + ", ".join(f"{p:.0%}" for _, p, _ in shares)
              + f"; {bars.get(work, 0)}x PyTorch needs " + ", ".join(f"{n:.0%}" for _, _, n in shares) + " of the 2-thread peak")
if host:
    print("coherence probe per round (µs to rewrite 1 MiB the other core read; own read ~10): " + ", ".join(f"{host[r]:.0f}" for r in sorted(host)))
'
echo "# JSON lines: $out"
