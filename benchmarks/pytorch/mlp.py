#!/usr/bin/python3
"""PyTorch baseline for benchmarks/run.sh: the same MLP and the same harness as Kiln.Benchmarks.

Model: Flatten(28, 28) -> Linear(784, 300) ReLU -> Linear(300, 100) ReLU -> Linear(100, 10),
trained with CrossEntropyLoss on the logits (== softmax + sparse categorical cross-entropy) and
SGD(lr=0.01). Every row: untimed warm-up, then RUNS timed runs of a fixed number of operations
(time.perf_counter), the MEDIAN run reported; the warm-up and run-length rule is the same as
Bench.Measure in Kiln.Benchmarks/Program.cs (see measure()). One JSON object per line on stdout.

usage: mlp.py [--threads N] [--runs N] [--quick]   (--quick: 3 runs)
"""
import argparse
import json
import math
import os
import platform
import statistics
import time

import numpy as np
import torch
import torch.nn as nn

DATA_BATCHES = 8  # distinct batches cycled through, as in the Kiln harness


def measure(op, runs, min_ops, max_ops):
    """Warm-up: at least 20 ops and 0.3 s (at most 3 s) untimed, which also estimates one op's cost;
    then a fixed count per run chosen so a run takes about 0.25 s, for `runs` runs."""
    index = 0
    warm_start = time.perf_counter()
    elapsed = 0.0
    while (index < 20 or elapsed < 0.3) and elapsed < 3.0:
        op(index)
        index += 1
        elapsed = time.perf_counter() - warm_start
    warmup = index
    ops = int(min(max(math.ceil(0.25 / (elapsed / index)), min_ops), max_ops))
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        for _ in range(ops):
            op(index)
            index += 1
        times.append(time.perf_counter() - start)
    return times, ops, warmup


def emit(obj):
    print(json.dumps(obj), flush=True)


def make_model(seed):
    torch.manual_seed(seed)
    model = nn.Sequential(
        nn.Flatten(),
        nn.Linear(784, 300), nn.ReLU(),
        nn.Linear(300, 100), nn.ReLU(),
        nn.Linear(100, 10),
    )
    # Keras defaults, as Kiln: Glorot-uniform kernels, zero biases.
    for m in model:
        if isinstance(m, nn.Linear):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
    return model


def make_data(batch, seed):
    rng = np.random.default_rng(seed)
    x = (rng.uniform(-1.0, 1.0, size=(DATA_BATCHES, batch, 28, 28)) * 1.7).astype(np.float32)
    # Labels 0..9 stored as float like Kiln's targets; converted to int64 once, outside the timing.
    y = rng.integers(0, 10, size=(DATA_BATCHES, batch)).astype(np.float32)
    xs = [torch.from_numpy(x[i].copy()) for i in range(DATA_BATCHES)]
    ys = [torch.from_numpy(y[i].copy()).long() for i in range(DATA_BATCHES)]
    return xs, ys


def train(batch, runs):
    model = make_model(1)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()
    xs, ys = make_data(batch, 1234)

    def step(i):
        b = i % DATA_BATCHES
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(xs[b]), ys[b])
        loss.backward()
        opt.step()
        return loss

    first_loss = step(0).item()
    last = [None]

    def op(i):
        last[0] = step(i + 1)

    times, steps, warmup = measure(op, runs, 5, 5000)
    loss_after = step(0).item()

    median = statistics.median(times)
    per_step = median / steps
    emit({
        "impl": "pytorch", "work": f"train_b{batch}", "batch": batch, "steps_per_run": steps,
        "median_s": median, "ms_per_step": per_step * 1e3, "samples_per_s": batch / per_step,
        "min_ms_per_step": min(times) / steps * 1e3, "max_ms_per_step": max(times) / steps * 1e3,
        "warmup_steps": warmup, "loss_first": first_loss, "loss_last": last[0].item(), "loss_batch0_after": loss_after,
    })


def inference(runs):
    model = make_model(1)
    model.eval()
    xs, _ = make_data(1, 99)
    sink = 0.0
    out = [None]

    def op(i):
        out[0] = model(xs[i % DATA_BATCHES])

    with torch.no_grad():
        times, calls, warmup = measure(op, runs, 100, 200_000)
    sink += float(out[0][0, 0])
    median = statistics.median(times)
    emit({
        "impl": "pytorch", "work": "infer_b1", "calls_per_run": calls, "warmup_calls": warmup, "median_s": median,
        "us_per_call": median / calls * 1e6, "min_us_per_call": min(times) / calls * 1e6,
        "max_us_per_call": max(times) / calls * 1e6,
        "note": "returns logits (no softmax)", "sink": sink,
    })


def sgemm(size, runs):
    g = torch.Generator().manual_seed(7)
    a = torch.rand(size, size, generator=g) * 2 - 1
    b = torch.rand(size, size, generator=g) * 2 - 1
    c = torch.empty(size, size)
    times, calls, _ = measure(lambda i: torch.mm(a, b, out=c), runs, 2, 1000)
    median = statistics.median(times)
    flops = 2.0 * size ** 3 * calls
    emit({
        "impl": "pytorch", "work": f"sgemm_{size}", "calls_per_run": calls, "median_s": median,
        "gflops": flops / median / 1e9, "max_gflops": flops / min(times) / 1e9,
        "min_gflops": flops / max(times) / 1e9,
    })


def blas_library():
    """Which shared BLAS torch's process actually mapped (Debian's torch uses the system libblas)."""
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "blas" in line.lower() and "/" in line}
        return sorted(os.path.realpath(p) for p in libs)
    except OSError:
        return []


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.quick:
        args.runs = 3
    torch.mm(torch.ones(4, 4), torch.ones(4, 4))  # load BLAS before reporting it
    emit({
        "impl": "pytorch", "kind": "header", "torch": torch.__version__, "numpy": np.__version__,
        "python": platform.python_version(), "threads": torch.get_num_threads(),
        "interop_threads": torch.get_num_interop_threads(),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"), "openblas_num_threads": os.environ.get("OPENBLAS_NUM_THREADS"), "blas": blas_library(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability() if hasattr(torch.backends, "cpu") else None,
        "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE"),
        # A pip wheel links MKL into libtorch itself, so no shared BLAS shows in the maps.
        "mkl": torch.backends.mkl.is_available(), "mkldnn": torch.backends.mkldnn.is_available(),
        "runs": args.runs,
    })
    train(32, args.runs)
    train(256, args.runs)
    inference(args.runs)
    sgemm(1024, args.runs)
    sgemm(2048, args.runs)


if __name__ == "__main__":
    main()
