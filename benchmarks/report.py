#!/usr/bin/python3
"""Turns the JSON lines written by run.sh into the markdown table (stdout).

usage: report.py META.txt RESULTS.jsonl
"""
import json
import sys

meta_path, results_path = sys.argv[1], sys.argv[2]
meta = dict(line.rstrip("\n").split("=", 1) for line in open(meta_path) if "=" in line)
rows = [json.loads(line) for line in open(results_path) if line.strip()]
by = {}
tried = {}  # (impl, config, work) -> every row measured for it (PyTorch: one per OpenBLAS core type)
for r in rows:
    key = (r["impl"], r.get("config", "?"), r.get("work", r.get("kind")))
    tried.setdefault(key, []).append(r)
    by[key] = r


# KILN_BENCH_ROUNDS: how many times run.sh repeated the Kiln/PyTorch interleave (each cell: the best round).
rounds = int(meta.get("rounds", "1"))


def higher_is_better(work):
    return not work.startswith("infer")


def get(impl, config, work):
    """The row for one side, configuration and work; where several core types or rounds were run, the fastest."""
    rs = tried.get((impl, config, work))
    if not rs:
        return None
    if len(rs) == 1 or "kind" in rs[0] or "ort_over_kiln_median" in rs[0]:
        return rs[0]
    metric = next(m for m in ("samples_per_s", "gflops", "us_per_call") if m in rs[0])
    return (max if metric != "us_per_call" else min)(rs, key=lambda r: r[metric])


# The fp32 FMA peak measured in the same run (register-only loop; Kiln.Benchmarks --only peak), per
# thread count: the faster vector width, at the start of the run ("peak") and at its end ("peak_end").
def peak(threads, config="peak"):
    vals = [r["gflops"] for (i, c, w), rs in tried.items() for r in rs
            if i == "kiln" and c == config and w.startswith("fma_peak_") and w.endswith(f"_t{threads}")]
    return max(vals) if vals else None


# (work key, label, metric, unit, higher is better)
WORK = [
    ("train_b32", "MLP train step, batch 32", "samples_per_s", "samples/s", True),
    ("train_b256", "MLP train step, batch 256", "samples_per_s", "samples/s", True),
    ("infer_b1", "MLP inference, batch 1", "us_per_call", "µs/call", False),
    ("sgemm_1024", "sgemm 1024³", "gflops", "GFLOP/s", True),
    ("sgemm_2048", "sgemm 2048³", "gflops", "GFLOP/s", True),
    ("fashion_cnn_b64", "Fashion CNN train step, batch 64, Adam", "samples_per_s", "samples/s", True),
    ("cifar_b64", "CIFAR net train step, batch 64, Adam", "samples_per_s", "samples/s", True),
    ("fashion_resnet_b128", "Fashion-MNIST ResNet train step, batch 128, Adam", "samples_per_s", "samples/s", True),
    ("fashion_resnet_modern_b128", "The same at twice the filters behind augmentation (`--recipe modern`'s model), batch 128, Adam", "samples_per_s", "samples/s", True),
    ("conv32_64to64_b64_fwd", "Conv2D forward, 32×32 64→64 3×3, batch 64", "gflops", "GFLOP/s", True),
    ("conv32_64to64_b64_bwd", "Conv2D backward (kernel + input gradients), same layer", "gflops", "GFLOP/s", True),
    # {algorithm}: the Winograd tiles Kiln's kernels chose for the layer, as Kiln.Benchmarks reports them.
    ("conv32_64to64_b64_winograd_fwd", "Conv2D forward, same layer, Kiln's Winograd {algorithm} (what the CIFAR net runs; effective GFLOP/s)", "gflops", "GFLOP/s", True),
    ("conv32_64to64_b64_winograd_bwd", "Conv2D backward, same layer, Kiln's Winograd: {algorithm} (effective GFLOP/s)", "gflops", "GFLOP/s", True),
]
# Kiln rows compared with another PyTorch row: the Winograd variants against PyTorch's own kernels for the same layer.
PYTORCH_WORK = {
    "conv32_64to64_b64_winograd_fwd": "conv32_64to64_b64_fwd",
    "conv32_64to64_b64_winograd_bwd": "conv32_64to64_b64_bwd",
}
TRAIN = ("train_b32", "train_b256", "fashion_cnn_b64", "cifar_b64", "fashion_resnet_b128", "fashion_resnet_modern_b128")


def algorithm_of(work):
    """The Winograd tiles Kiln.Benchmarks reported for a row (the kernels choose them by shape)."""
    for config in ("t2", "t1"):
        r = get("kiln", config, work)
        if r and "algorithm" in r:
            return r["algorithm"]
    return "(tiles not reported)"


WORK = [(w, label.replace("{algorithm}", algorithm_of(w)), m, u, h) for w, label, m, u, h in WORK]


def cell(r, metric, unit, threads=None):
    if r is None:
        return "—"
    v = r[metric]
    text = f"{v:,.0f}" if v >= 100 else f"{v:,.1f}"
    text += f" {unit}"
    p = peak(threads) if threads else None
    if metric == "gflops" and p:
        text += f", {100 * v / p:.0f}% of peak"
    if "ms_per_step" in r:
        text += f" ({r['ms_per_step']:.3f} ms/step)"
    elif "ms_per_call" in r:
        text += f" ({r['ms_per_call']:.2f} ms/call)"
    config = [x for x in (r.get("coretype"), r.get("memory_format")) if x]
    if config:
        text += f" [{', '.join(config)}]"
    return text


def speedup(kiln, other, metric, higher):
    if kiln is None or other is None:
        return None
    return kiln[metric] / other[metric] if higher else other[metric] / kiln[metric]


def fmt_ratio(x):
    return "—" if x is None else f"{x:.2f}×"


def peer_blas(header):
    """PyTorch's BLAS: MKL built into libtorch (a pip wheel; an OpenBLAS then mapped is numpy's), or
    the shared BLAS it mapped (Debian's torch on OpenBLAS)."""
    if not header:
        return "?"
    if header.get("mkl"):
        return "MKL" + (" and oneDNN" if header.get("mkldnn") else "") + " built into libtorch"
    return ", ".join(p.rsplit("/", 1)[-1] for p in header.get("blas", [])) or "no shared BLAS found"


kh, ph = get("kiln", "t2", "header"), get("pytorch", "t2", "header") or get("pytorch", "t2", "header_conv")
print(f"Date: {meta['date_utc']}  ")
print(f"Machine: {meta['cpu']} ({meta.get('cpu_family_model', '?')}), nproc {meta['nproc']}; load average before {meta['load_before']}, after {meta.get('load_after', '?')}  ")
print(f"Uptime before: `{meta.get('uptime_before', '?').strip()}`; after: `{meta.get('uptime_after', '?').strip()}`  ")
print(f"Command: `{meta['command']}` (commit {meta['commit']})  ")
print(f"Kiln: {kh['runtime'] if kh else '?'}, dotnet SDK {meta['dotnet']}, Server GC {kh['server_gc'] if kh else '?'}, "
      f"AVX-512 {kh['avx512'] if kh else '?'}, {kh.get('caches', '?') if kh else '?'}, {kh.get('gemm_blocking', '?') if kh else '?'}; PyTorch {ph['torch'] if ph else '?'} on "
      f"{peer_blas(ph)}  ")
print(f"Kiln kernels: {kh.get('kernel_choice', '?') if kh else '?'}; CPU profile: {kh.get('cpu_profile', '?') if kh else '?'}  ")
if ph and ph.get("mkl"):
    print(f"PyTorch's BLAS is MKL, so OPENBLAS_CORETYPE does not reach it; the core type in brackets ({meta.get('coretypes', '?')}) "
          "is what numpy's OpenBLAS loaded. The memory format in brackets is the faster one  ")
else:
    print(f"PyTorch's OpenBLAS core types tried (requested:loaded): {meta.get('coretypes', '?')}; each PyTorch cell is the fastest "
          "of them, its core type and memory format in brackets  ")
print(f"Env: KILN_SIMD={meta.get('KILN_SIMD', '?')}, OPENBLAS_L2_SIZE={meta['OPENBLAS_L2_SIZE']}, "
      f"OMP_WAIT_POLICY={meta['OMP_WAIT_POLICY']}, DOTNET_EnableAVX512={meta.get('DOTNET_EnableAVX512', '?')}, "
      f"ATEN_CPU_CAPABILITY={meta.get('ATEN_CPU_CAPABILITY', '?')}, ONEDNN_MAX_CPU_ISA={meta.get('ONEDNN_MAX_CPU_ISA', '?')}; "
      f"PyTorch runs with {meta.get('pytorch_malloc', 'glibc malloc defaults')}  ")
if meta.get("DOTNET_EnableAVX512") == "0" and meta.get("ONEDNN_MAX_CPU_ISA", "<unset>") == "<unset>":
    print("**Kiln runs without AVX-512 here, but PyTorch's convolutions (oneDNN) still use it: set ONEDNN_MAX_CPU_ISA=AVX2 "
          "to hold both sides to AVX2 (ONNX Runtime has no such switch).**  ")
peaks = []
for t in (1, 2):
    for bits in (512, 256):
        for cfg, when in (("peak", "start"), ("peak_end", "end")):
            r = get("kiln", cfg, f"fma_peak_{bits}_t{t}")
            if r:
                peaks.append(f"{bits}-bit {t} thr {r['gflops']:,.0f} ({when})")
print("fp32 FMA peak, register-only loop, same run (median GFLOP/s): " + ("; ".join(peaks) if peaks else "not measured")
      + ". Percentages of peak: against the faster width's start-of-run figure at the row's thread count.  ")
load1 = float(meta["load_before"].split()[0])
nproc = int(meta["nproc"])
if load1 > 0.5 * nproc:
    print(f"**WARNING: the machine was busy before the run (1-min load {load1:.2f} on {nproc} CPUs): other processes "
          "compete for the cores, spinning thread pools (OpenMP in PyTorch, Kiln's workers) suffer most, and the "
          "figures below are not a clean comparison.**  ")
print(f"Each figure: median of {kh['runs'] if kh else '?'} timed runs (~0.25 s each, but at least 2 steps for the Fashion "
      "CNN and 1 for the CIFAR net) after warm-up. Speedup > 1 means Kiln is faster. PyTorch's convolution rows run in "
      "both memory formats and show the faster, in brackets."
      + (f" The Kiln/PyTorch interleave ran {rounds} times (KILN_BENCH_ROUNDS); each cell is the best of its rounds, on both sides."
         if rounds > 1 else ""))
print()
print("| work | Kiln (2 thr) | PyTorch (2 thr) | speedup | Kiln (1 thr) | PyTorch (1 thr) | best Kiln vs best PyTorch (either thread count) | Kiln bytes allocated per step |")
print("|---|---|---|---|---|---|---|---|")
ratios = {}
best = {}  # work -> (Kiln's faster row, PyTorch's faster row); a row's "config" ("t1"/"t2") names its thread count
for work, label, metric, unit, higher in WORK:
    pwork = PYTORCH_WORK.get(work, work)
    k2, p2, k1, p1 = (get(i, c, w) for i, c, w in (("kiln", "t2", work), ("pytorch", "t2", pwork), ("kiln", "t1", work), ("pytorch", "t1", pwork)))
    r2 = speedup(k2, p2, metric, higher)
    pick = max if higher else min
    pts = [p for p in (p1, p2) if p is not None]
    kls = [k for k in (k1, k2) if k is not None]
    kb = pick(kls, key=lambda r: r[metric]) if kls else None
    pb = pick(pts, key=lambda r: r[metric]) if pts else None
    rb = speedup(kb, pb, metric, higher)
    ratios[work] = (r2, rb, k2)
    best[work] = (kb, pb)
    alloc = "—"
    if k2 is not None:
        key = "alloc_bytes_per_step" if "alloc_bytes_per_step" in k2 else "alloc_bytes_per_call" if "alloc_bytes_per_call" in k2 else None
        if key:
            proc = k2.get(key + "_process")
            alloc = f"{k2[key]:,.0f}" + (f" (process: {proc:,.0f})" if proc is not None else "")
    print(f"| {label} | {cell(k2, metric, unit, 2)} | {cell(p2, metric, unit, 2)} | {fmt_ratio(r2)} | "
          f"{cell(k1, metric, unit, 1)} | {cell(p1, metric, unit, 1)} | {fmt_ratio(rb)} | {alloc} |")

ORT_WORK = [
    ("infer_mlp_b1", "MLP inference, batch 1 (Predict)"),
    ("infer_fashion_cnn_b64", "Fashion CNN inference, batch 64 (Predict)"),
]
if any(get("ort", c, w) for w, _ in ORT_WORK for c in ("t1", "t2")):
    oh = get("ort", "?", "header")
    print()
    print(f"Inference against ONNX Runtime {oh['onnxruntime'] if oh else '?'} from C# (benchmarks/OnnxRuntimeBench: the model "
          "exported by Kiln's ExportOnnx, outputs checked against Kiln's Predict to 1e-5 before timing; ORT with every "
          "graph optimization and bound inputs and outputs). Ratio > 1 means Kiln is faster.")
    print()
    print("The medians are over runs; the four configurations take turns run by run, and the last column is the median "
          "over those rounds of each round's ratio (1 thr / 2 thr / faster vs faster): one side-by-side figure per round, "
          "so a change in the host's speed between runs does not land on one side only.")
    print()
    print("| work | Kiln (1 thr) | ORT (1 thr) | ratio | Kiln (2 thr) | ORT (2 thr) | ratio | best Kiln vs best ORT | per-round ratios (median) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for work, label in ORT_WORK:
        k1, o1, k2, o2 = (get(i, c, work) for i, c in (("kiln", "t1"), ("ort", "t1"), ("kiln", "t2"), ("ort", "t2")))
        kb = min((r for r in (k1, k2) if r), key=lambda r: r["us_per_call"], default=None)
        ob = min((r for r in (o1, o2) if r), key=lambda r: r["us_per_call"], default=None)

        def us(r):
            return "—" if r is None else f"{r['us_per_call']:,.1f} µs"
        pair = get("pair", "alternated", work)
        paired = "—" if pair is None else " / ".join(fmt_ratio(pair["ort_over_kiln_median"].get(key)) for key in ("t1", "t2", "best"))
        print(f"| {label} | {us(k1)} | {us(o1)} | {fmt_ratio(speedup(k1, o1, 'us_per_call', False))} | {us(k2)} | {us(o2)} | "
              f"{fmt_ratio(speedup(k2, o2, 'us_per_call', False))} | {fmt_ratio(speedup(kb, ob, 'us_per_call', False))} | {paired} |")

print()
print("PyTorch configurations tried (each row's figure per thread count and OpenBLAS core type; the faster memory "
      "format in brackets for convolution rows):")
for work, label, metric, unit, higher in WORK:
    parts = []
    for cfg in ("t2", "t1"):
        for r in tried.get(("pytorch", cfg, PYTORCH_WORK.get(work, work)), []):
            v = r[metric]
            when = f" (round {r['round']})" if rounds > 1 and "round" in r else ""
            parts.append(f"{cfg[1:]} thr {r.get('coretype', '?')}{when}: {v:,.0f}" + (f" [{r['memory_format']}]" if "memory_format" in r else ""))
    if parts and work not in PYTORCH_WORK:
        print(f"- {label} ({unit}): " + "; ".join(parts))

print()
print("Sanity (the work is really done):")
for impl in ("kiln", "pytorch"):
    for cfg in ("t2", "t1"):
        parts = []
        for work in TRAIN:
            r = get(impl, cfg, work)
            if r:
                parts.append(f"{work} loss on batch 0 {r['loss_first']:.3f} → {r['loss_batch0_after']:.3f} "
                             f"after {r['warmup_steps'] + r['steps_per_run'] * (kh['runs'] if kh else 0)} steps")
                if "fixed_batch_losses" in r:
                    parts.append(f"{work} fresh model on one fixed batch, loss per step "
                                 + " → ".join(f"{v:.2f}" for v in r["fixed_batch_losses"]))
        r = get(impl, cfg, "infer_b1")
        if r and "softmax_sum" in r:
            parts.append(f"softmax sums to {r['softmax_sum']:.6f}")
        r = get(impl, cfg, "sgemm_1024")
        if r and "spot_abs_error" in r:
            parts.append(f"sgemm spot |error| {r['spot_abs_error']:.1e}")
        for work in ("conv32_64to64_b64_fwd", "conv32_64to64_b64_bwd", "conv32_64to64_b64_winograd_fwd", "conv32_64to64_b64_winograd_bwd"):
            r = get(impl, cfg, work)
            if r and "spot_abs_error" in r:
                parts.append(f"{work} spot |error| {r['spot_abs_error']:.1e}")
        if parts:
            print(f"- {impl} {cfg}: " + "; ".join(parts))

print()
for work, label, metric, unit, higher in WORK:
    p1, p2 = get("pytorch", "t1", work), get("pytorch", "t2", work)
    if p1 and p2 and work in TRAIN and p2[metric] < p1[metric]:
        print(f"- NOTE: PyTorch at 2 threads is slower than at 1 thread on {label} "
              f"({p2[metric]:,.0f} vs {p1[metric]:,.0f} {unit}): its 2-thread figure is oversubscribed, "
              "so the 2-thread speedup overstates Kiln; read the 'best vs best' column.")

print()
print("Issue bars (speedup of Kiln 2 thr vs PyTorch 2 thr, and of the faster Kiln config vs the faster PyTorch config):")


def bar(text, ok):
    print(f"- {text}: {'met' if ok else 'NOT met'}")


r32, r32b, k32 = ratios["train_b32"]
r256, r256b, k256 = ratios["train_b256"]
_, _, kinf = ratios["infer_b1"]
_, _, kg = ratios["sgemm_1024"]
if r32 is not None:
    bar(f"train batch 32 ≥ 3× PyTorch 2 thr (is {r32:.2f}×)", r32 >= 3)
    bar(f"train batch 32 ≥ 3× faster config vs faster config (is {r32b:.2f}×)", r32b >= 3)
if r256 is not None:
    bar(f"train batch 256 ≥ 1.5× PyTorch 2 thr (is {r256:.2f}×)", r256 >= 1.5)
    bar(f"train batch 256 ≥ 1.5× faster config vs faster config (is {r256b:.2f}×)", r256b >= 1.5)
if k32 and k256:
    worst = max(k32["alloc_bytes_per_step"], k256["alloc_bytes_per_step"])
    bar(f"0 bytes allocated per train step (is {worst:,.0f})", worst == 0)
print("Later targets:")
if r32 is not None:
    bar(f"train batch 32 ≥ 5× PyTorch 2 thr (the issue's definition; is {r32:.2f}×)", r32 >= 5)
    bar(f"train batch 32 ≥ 5× faster config vs faster config (is {r32b:.2f}×)", r32b >= 5)
if r256 is not None:
    bar(f"train batch 256 ≥ 2× PyTorch 2 thr (the issue's definition; is {r256:.2f}×)", r256 >= 2)
    bar(f"train batch 256 ≥ 2× faster config vs faster config (is {r256b:.2f}×)", r256b >= 2)
if kinf:
    bar(f"inference batch 1 ≤ 10 µs (is {kinf['us_per_call']:.1f} µs)", kinf["us_per_call"] <= 10)
if kg:
    bar(f"sgemm 1024³ ≥ 300 GFLOP/s (is {kg['gflops']:.0f})", kg["gflops"] >= 300)

print()
print("Thread scaling (Kiln 2 thr ÷ Kiln 1 thr, same process settings, measured minutes apart):")
scaling = {}
for work, label, metric, unit, higher in [w for w in WORK if not w[0].startswith(("train_b", "infer_", "sgemm_"))]:
    k1, k2 = get("kiln", "t1", work), get("kiln", "t2", work)
    if k1 and k2:
        scaling[work] = k2[metric] / k1[metric]
        print(f"- {label}: {scaling[work]:.2f}×")

print()
print("Convolution issue bars (Kiln 2 thr vs PyTorch 2 thr, and faster config vs faster config):")
rf, rfb, kf = ratios["fashion_cnn_b64"]
rc, rcb, kc = ratios["cifar_b64"]
if rf is not None:
    bar(f"Fashion CNN ≥ 1.5× PyTorch (issue 3) 2 thr vs 2 thr (is {rf:.2f}×)", rf >= 1.5)
    bar(f"Fashion CNN ≥ 1.5× PyTorch (issue 3) faster vs faster (is {rfb:.2f}×)", rfb >= 1.5)
    bar(f"Fashion CNN ≥ 2× PyTorch (issue 4) 2 thr vs 2 thr (is {rf:.2f}×)", rf >= 2)
    bar(f"Fashion CNN ≥ 2× PyTorch (issue 4) faster vs faster (is {rfb:.2f}×)", rfb >= 2)
if rc is not None:
    bar(f"CIFAR net ≥ 1.5× PyTorch 2 thr vs 2 thr (is {rc:.2f}×)", rc >= 1.5)
    bar(f"CIFAR net ≥ 1.5× PyTorch faster vs faster (is {rcb:.2f}×)", rcb >= 1.5)
for work, name in (("fashion_resnet_b128", "Fashion-MNIST ResNet"), ("fashion_resnet_modern_b128", "Its modern recipe's model")):
    rr, rrb, kr = ratios[work]
    if rr is not None:
        bar(f"{name} ≥ 1.5× PyTorch 2 thr vs 2 thr (is {rr:.2f}×)", rr >= 1.5)
        bar(f"{name} ≥ 1.5× PyTorch faster vs faster (is {rrb:.2f}×)", rrb >= 1.5)
if "cifar_b64" in scaling:
    bar(f"CIFAR net Kiln 1 → 2 threads ≥ 1.8× (is {scaling['cifar_b64']:.2f}×)", scaling["cifar_b64"] >= 1.8)
conv_alloc = [get("kiln", c, w) for c in ("t2", "t1") for w in ("fashion_cnn_b64", "cifar_b64", "fashion_resnet_b128", "fashion_resnet_modern_b128")]
conv_alloc = [r for r in conv_alloc if r]
if conv_alloc:
    worst = max(max(r["alloc_bytes_per_step"], r["alloc_bytes_per_step_process"]) for r in conv_alloc)
    bar(f"0 bytes allocated per conv train step, both thread counts, thread + workers and whole process (is {worst:,.0f})", worst == 0)

print()
print("Issue 15 bars (the faster thread count on each side: Kiln's against PyTorch or ONNX Runtime at its best; "
      "the GAN row is `benchmarks/GanBenchmark/run.sh`'s):")


def threads_of(row):
    """The thread count a row ran at, from run.sh's tag ("t1" or "t2")."""
    return int(row["config"][1:])


def pct(v):
    return f"{100 * v:.0f}%"


for work, name in (("sgemm_1024", "sgemm 1024³"), ("sgemm_2048", "sgemm 2048³")):
    for t in (1, 2):
        k, p, pk = get("kiln", f"t{t}", work), get("pytorch", f"t{t}", work), peak(t)
        if not (k and p and pk):
            continue
        share, ratio = k["gflops"] / pk, k["gflops"] / p["gflops"]
        bar(f"{name} at {t} thr ≥ 85% of the FMA peak and ≥ 1.1× OpenBLAS at its best (is {pct(share)} and {ratio:.2f}×; "
            f"OpenBLAS at {pct(p['gflops'] / pk)} of the same peak, so 1.1× needs Kiln at {pct(1.1 * p['gflops'] / pk)})",
            share >= 0.85 and ratio >= 1.1)
for work, name, need in (("conv32_64to64_b64_fwd", "Conv2D implicit GEMM forward", 1.0), ("conv32_64to64_b64_bwd", "Conv2D implicit GEMM backward", 1.0),
                         ("fashion_cnn_b64", "Fashion CNN train step", 3.0), ("cifar_b64", "CIFAR net train step", 2.5)):
    rb = ratios[work][1]
    if rb is not None:
        bar(f"{name} ≥ {need:g}× PyTorch at its best (is {rb:.2f}×)", rb >= need)
for work, name, need in (("train_b32", "MLP train step, batch 32", 4.0), ("train_b256", "MLP train step, batch 256", 2.0)):
    (k, p), rb = best[work], ratios[work][1]
    if rb is None:
        continue
    kt, pt = threads_of(k), threads_of(p)
    text = f"{name} ≥ {need:g}× PyTorch at its best (is {rb:.2f}×)"
    flops, pk2 = k.get("product_flops_per_sample"), peak(2)
    if flops and pk2 and peak(kt) and peak(pt):
        kg, pg = k["samples_per_s"] * flops / 1e9, p["samples_per_s"] * flops / 1e9
        # What the bar asks of the hardware: its rate of the products alone, against the most Kiln's threads can do.
        text += (f"; the products ({flops * k['batch'] / 1e6:.1f} MFLOP a step) run at {kg:,.0f} GFLOP/s in Kiln ({pct(kg / peak(kt))} "
                 f"of its {kt}-thread peak) and {pg:,.0f} in PyTorch ({pct(pg / peak(pt))} of its {pt}-thread peak), so {need:g}× "
                 f"needs {need * pg:,.0f} GFLOP/s, {pct(need * pg / pk2)} of the 2-thread peak, with the rest of the step free")
    bar(text, rb >= need)
kb = best["infer_b1"][0]
if kb:
    bar(f"MLP inference, batch 1 ≤ 6 µs (is {kb['us_per_call']:.1f} µs at {threads_of(kb)} thr)", kb["us_per_call"] <= 6)
for work, name, need in (("infer_mlp_b1", "MLP inference, batch 1", 3.0), ("infer_fashion_cnn_b64", "Fashion CNN inference, batch 64", 1.5)):
    pair = get("pair", "alternated", work)
    if pair and pair["ort_over_kiln_median"].get("best") is not None:
        r = pair["ort_over_kiln_median"]["best"]
        bar(f"{name} ≥ {need:g}× ONNX Runtime at its best thread count (is {r:.2f}×, the median of the alternated rounds)", r >= need)
train_rows = [r for c in ("t2", "t1") for w in TRAIN for r in [get("kiln", c, w)] if r]
if train_rows:
    worst = max(max(r["alloc_bytes_per_step"], r["alloc_bytes_per_step_process"]) for r in train_rows)
    bar(f"0 bytes allocated per train step, every model and thread count, threads and whole process (is {worst:,.0f})", worst == 0)
