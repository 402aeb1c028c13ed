#!/usr/bin/python3
"""PyTorch baseline for the convolution rows of benchmarks/run.sh, with the same harness as
Kiln.Benchmarks (measure() from mlp.py: untimed warm-up, RUNS timed runs, the MEDIAN reported).

Rows (one JSON object per line on stdout):
- fashion_cnn_b64: samples/FashionMnistCnn's model (Conv2d(1,32,3,pad 1,no bias)+BatchNorm2d(eps 1e-3,
  momentum 0.01)+ReLU, MaxPool2d(2), Conv2d(32,64,...)+BN+ReLU, MaxPool2d(2), Flatten, Linear(3136,128)+ReLU,
  Dropout(0.3), Linear(128,10)), CrossEntropyLoss, Adam(1e-3, eps=1e-7); train step at batch 64.
- cifar_b64: 32x32x3 input; conv 64, 64, max pool 2, conv 128, 128, max pool 2 (3x3 same, no bias, + BN + ReLU);
  global average pooling; Linear(128, 10); CrossEntropyLoss; Adam(1e-3, eps=1e-7); train step at batch 64.
- fashion_resnet_b128: samples/FashionMnistResNet's ResNet (resnet() in fashion_resnet.py: 3x3 stem 16, basic
  blocks 16, 32 (stride 2, 1x1 projection), 64 (stride 2, projection), global average pooling, Linear(64, 10)),
  CrossEntropyLoss, Adam(1e-3, eps=1e-7); train step at batch 128.
- fashion_resnet_modern_b128: `FashionMnistResNet --recipe modern`'s model: resnet(2) (filters 32, 64, 128) behind
  modern_recipe.augment (RandomTranslation + RandomFlip), CrossEntropyLoss(label_smoothing=0.1); Adam as above.
- conv32_64to64_b64_fwd / _bwd: the CIFAR net's 64->64 layer at 32x32, batch 64: F.conv2d, and
  aten.convolution_backward with the input and weight gradients (no bias).

Every row runs in both memory formats (contiguous NCHW and channels_last); the faster is the row's
figure ("memory_format" says which; the other is kept as "other_format_*").

usage: conv.py [--threads N] [--runs N] [--quick] [--only conv,resnet,conv2d]   (--quick: 3 runs; conv2d: the
Conv2D layer rows alone, without the train steps)
"""
import argparse
import os
import platform
import statistics

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from fashion_resnet import resnet
from modern_recipe import augment
from mlp import DATA_BATCHES, blas_library, emit, measure

FORMATS = (("nchw", torch.contiguous_format), ("channels_last", torch.channels_last))


def init_keras(model):
    # Keras defaults, as Kiln: Glorot-uniform kernels, zero biases.
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return model


def bn(c):
    # Keras' BatchNormalization: epsilon 1e-3, momentum 0.99 (PyTorch's momentum is 1 - Keras').
    return nn.BatchNorm2d(c, eps=1e-3, momentum=0.01)


def fashion_cnn():
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1, bias=False), bn(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1, bias=False), bn(64), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Dropout(0.3), nn.Linear(128, 10))


def cifar_net():
    def block(i, o):
        return [nn.Conv2d(i, o, 3, padding=1, bias=False), bn(o), nn.ReLU()]
    return nn.Sequential(
        *block(3, 64), *block(64, 64), nn.MaxPool2d(2),
        *block(64, 128), *block(128, 128), nn.MaxPool2d(2),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, 10))


def make_data(batch, shape, seed, fmt):
    rng = np.random.default_rng(seed)
    x = (rng.uniform(-1.0, 1.0, size=(DATA_BATCHES, batch) + shape) * 1.7).astype(np.float32)
    y = rng.integers(0, 10, size=(DATA_BATCHES, batch)).astype(np.float32)
    xs = [torch.from_numpy(x[i].copy()).contiguous(memory_format=fmt) for i in range(DATA_BATCHES)]
    ys = [torch.from_numpy(y[i].copy()).long() for i in range(DATA_BATCHES)]
    return xs, ys


def train_one(make, shape, batch, runs, min_ops, fmt, augment=None, label_smoothing=0.0):
    torch.manual_seed(1)
    model = init_keras(make()).to(memory_format=fmt)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=label_smoothing)
    xs, ys = make_data(batch, shape, 1234, fmt)

    def step(i):
        b = i % DATA_BATCHES
        opt.zero_grad(set_to_none=True)
        x = xs[b] if augment is None else augment(xs[b]).contiguous(memory_format=fmt)
        loss = loss_fn(model(x), ys[b])
        loss.backward()
        opt.step()
        return loss

    first_loss = step(0).item()
    last = [None]

    def op(i):
        last[0] = step(i + 1)

    times, steps, warmup = measure(op, runs, min_ops, 1000)
    loss_after = step(0).item()
    per_step = statistics.median(times) / steps
    return {
        "batch": batch, "steps_per_run": steps, "median_s": statistics.median(times),
        "ms_per_step": per_step * 1e3, "samples_per_s": batch / per_step,
        "min_ms_per_step": min(times) / steps * 1e3, "max_ms_per_step": max(times) / steps * 1e3,
        "warmup_steps": warmup, "loss_first": first_loss, "loss_last": last[0].item(), "loss_batch0_after": loss_after,
    }


def best_of_formats(work, run_one, better):
    results = {name: run_one(fmt) for name, fmt in FORMATS}
    (a, ra), (b, rb) = results.items()
    (win, rw), (lose, rl) = ((a, ra), (b, rb)) if better(ra, rb) else ((b, rb), (a, ra))
    row = {"impl": "pytorch", "work": work, "memory_format": win, **rw, "other_format": lose}
    for k in ("samples_per_s", "ms_per_step", "gflops", "ms_per_call"):
        if k in rl:
            row["other_format_" + k] = rl[k]
    emit(row)


def train(work, make, shape, batch, runs, min_ops, **recipe):
    best_of_formats(work, lambda fmt: train_one(make, shape, batch, runs, min_ops, fmt, **recipe),
                    lambda r1, r2: r1["samples_per_s"] >= r2["samples_per_s"])


def conv_layer(batch, size, cin, cout, runs):
    g = torch.Generator().manual_seed(11)
    name = f"conv{size}_{cin}to{cout}_b{batch}"
    flops = 2.0 * batch * size * size * 9 * cin * cout

    def tensors(fmt):
        x = (torch.rand(batch, cin, size, size, generator=g) * 2 - 1).contiguous(memory_format=fmt)
        w = (torch.rand(cout, cin, 3, 3, generator=g) * 2 - 1).contiguous(memory_format=fmt)
        dy = (torch.rand(batch, cout, size, size, generator=g) * 2 - 1).contiguous(memory_format=fmt)
        return x, w, dy

    def row(times, calls, warmup, flops_per_call):
        median = statistics.median(times)
        return {"calls_per_run": calls, "warmup_calls": warmup, "median_s": median, "ms_per_call": median / calls * 1e3,
                "gflops": flops_per_call * calls / median / 1e9, "max_gflops": flops_per_call * calls / min(times) / 1e9,
                "min_gflops": flops_per_call * calls / max(times) / 1e9}

    def fwd(fmt):
        x, w, _ = tensors(fmt)
        with torch.no_grad():
            return row(*measure(lambda i: F.conv2d(x, w, padding=1), runs, 2, 1000), flops)

    def bwd(fmt):
        x, w, dy = tensors(fmt)
        op = torch.ops.aten.convolution_backward
        with torch.no_grad():
            return row(*measure(lambda i: op(dy, x, w, None, [1, 1], [1, 1], [1, 1], False, [0, 0], 1, [True, True, False]),
                                runs, 2, 1000), 2 * flops)

    faster = lambda r1, r2: r1["gflops"] >= r2["gflops"]
    best_of_formats(f"{name}_fwd", fwd, faster)
    best_of_formats(f"{name}_bwd", bwd, faster)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", default="conv,resnet")
    args = ap.parse_args()
    groups = set(args.only.split(","))
    torch.set_num_threads(args.threads)
    if args.quick:
        args.runs = 3
    emit({
        "impl": "pytorch", "kind": "header_conv", "torch": torch.__version__, "threads": torch.get_num_threads(),
        "mkldnn": torch.backends.mkldnn.is_available(), "python": platform.python_version(),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"), "blas": blas_library(), "runs": args.runs,
    })
    if "conv" in groups:
        train("fashion_cnn_b64", fashion_cnn, (1, 28, 28), 64, args.runs, 2)
        train("cifar_b64", cifar_net, (3, 32, 32), 64, args.runs, 1)
    if "resnet" in groups:
        train("fashion_resnet_b128", resnet, (1, 28, 28), 128, args.runs, 2)
        train("fashion_resnet_modern_b128", lambda: resnet(2), (1, 28, 28), 128, args.runs, 1,
              augment=augment, label_smoothing=0.1)
    if "conv" in groups or "conv2d" in groups:
        conv_layer(64, 32, 64, 64, args.runs)


if __name__ == "__main__":
    main()
