#!/usr/bin/python3
"""samples/FashionMnistResNet in PyTorch with Keras' defaults: the same small ResNet (3x3 stem, 16
filters, BN, ReLU; three stages of one basic block with 16, 32, 64 filters, stages 2 and 3 with
strides 2 and a 1x1 conv + BN projection shortcut; global average pooling; Linear(64, 10)), convs
without bias, Glorot-uniform kernels and zero biases, BN momentum 0.01 in PyTorch terms (Keras
0.99) and epsilon 1e-3; pixels / 255, the first 5,000 training images held out for validation,
batch 128, Adam 1e-3 (epsilon 1e-7) with Keras' CosineDecay to 0 over all the steps of the run
(the rate of a step is 1e-3·½(1 + cos(π·min(t, T)/T)), t the steps taken before it), the last
batch of an epoch smaller, as Kiln's Fit. Prints each epoch's time and validation accuracy, then
the test accuracy of the final weights (as the Kiln sample reports).

--keras-adam replaces torch.optim.Adam by Keras' formula, w -= lr·√(1−β₂ᵗ)/(1−β₁ᵗ)·m/(√v + ε),
which Kiln implements (torch divides the bias-corrected moments: m̂/(√v̂ + ε)); see trajectory.py.
--channels-last trains in torch.channels_last; --threads N (default 2); --epochs N (default 12);
--width W multiplies the filters (16W, 32W, 64W; default 1, 2 for the modern recipe).

--recipe modern mirrors `FashionMnistResNet --recipe modern` (samples/FashionMnistResNet/FashionResNetModern.cs):
the same net at twice the filters (--width 2: 32, 64, 128), 30 epochs, Keras' RandomTranslation(0.1, 0.1, fill_mode="constant") and RandomFlip("horizontal"),
label smoothing 0.1, torch's AdamW (weight decay 0.05, not on biases or BatchNorm) with a linear warmup
from 0 to 2e-3 over the first epoch, then cosine to 0 (modern_recipe.py, shared with fashion_cnn_accuracy.py).

    OPENBLAS_CORETYPE=... /usr/bin/python3 benchmarks/pytorch/fashion_resnet.py [--recipe seed|modern] [--keras-adam] [--channels-last] [seeds...]
"""
import argparse
import gzip
import math
import os
import struct
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from modern_recipe import adamw, augment

DATA = "/usr/share/datasets/fashion-mnist"


def bn(c):
    # Keras' BatchNormalization: epsilon 1e-3, momentum 0.99 (PyTorch's momentum is 1 - Keras').
    return nn.BatchNorm2d(c, eps=1e-3, momentum=0.01)


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = bn(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = bn(cout)
        self.shortcut = None
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), bn(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + (x if self.shortcut is None else self.shortcut(x)))


def resnet(width=1):
    # Padding: Keras' 'same' with strides 2 on an even size pads 0 on the left and 1 on the right;
    # PyTorch's padding=1 pads 1 on both sides. The output size is the same (28 -> 14 -> 7); the
    # windows are shifted by one pixel, which changes nothing in what the net can learn.
    c1, c2, c3 = 16 * width, 32 * width, 64 * width
    model = nn.Sequential(
        nn.Conv2d(1, c1, 3, padding=1, bias=False), bn(c1), nn.ReLU(),
        BasicBlock(c1, c1, 1), BasicBlock(c1, c2, 2), BasicBlock(c2, c3, 2),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c3, 10))
    # Keras defaults, as Kiln: Glorot-uniform kernels, zero biases.
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return model


def cosine_rate(step, total, initial=1e-3):
    # Keras 3's CosineDecay with alpha 0 and no warmup.
    return initial * 0.5 * (1 + math.cos(math.pi * min(step, total) / total))


def idx(name):
    with gzip.open(f"{DATA}/{name}", "rb") as f:
        data = f.read()
    dims = struct.unpack(">I", data[:4])[0] & 0xFF
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


def accuracy(net, x, y, fmt, batch=1000):
    net.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            correct += (net(x[i:i + batch].contiguous(memory_format=fmt)).argmax(1) == y[i:i + batch]).sum().item()
    return correct / len(x)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--recipe", choices=("seed", "modern"), default="seed")
    ap.add_argument("--epochs", type=int, default=None, help="12 for the seed recipe, 30 for the modern one")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--width", type=int, default=None, help="1 for the seed recipe, 2 for the modern one")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--keras-adam", action="store_true")
    ap.add_argument("--channels-last", action="store_true")
    ap.add_argument("seeds", type=int, nargs="*", default=[1])
    args = ap.parse_args()
    modern = args.recipe == "modern"
    assert not (modern and args.keras_adam), "--keras-adam is the seed recipe's Adam; the modern recipe uses torch's AdamW"
    args.epochs = args.epochs or (30 if modern else 12)
    args.width = args.width or (2 if modern else 1)
    torch.set_num_threads(args.threads)
    fmt = torch.channels_last if args.channels_last else torch.contiguous_format

    x_all = torch.from_numpy(idx("train-images-idx3-ubyte.gz").astype(np.float32) / 255).unsqueeze(1)
    y_all = torch.from_numpy(idx("train-labels-idx1-ubyte.gz").astype(np.int64))
    x_test = torch.from_numpy(idx("t10k-images-idx3-ubyte.gz").astype(np.float32) / 255).unsqueeze(1)
    y_test = torch.from_numpy(idx("t10k-labels-idx1-ubyte.gz").astype(np.int64))
    x_valid, y_valid = x_all[:5000], y_all[:5000]
    x_train, y_train = x_all[5000:], y_all[5000:]
    steps_per_epoch = math.ceil(len(x_train) / args.batch)
    total = steps_per_epoch * args.epochs
    config = (f"recipe {args.recipe} width {args.width} batch {args.batch} epochs {args.epochs} threads {args.threads} "
              f"{'keras-adam' if args.keras_adam else 'torch-adam'} {'channels_last' if args.channels_last else 'nchw'} "
              f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '')} torch {torch.__version__}")
    print(config, flush=True)

    for seed in args.seeds:
        torch.manual_seed(seed)
        net = resnet(args.width).to(memory_format=fmt)
        n_params = sum(p.numel() for p in net.parameters())
        if modern:
            opt, schedule = adamw(net, steps_per_epoch, args.epochs)
        else:
            opt = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7)
        params = list(net.parameters())
        moments = [(torch.zeros_like(w), torch.zeros_like(w)) for w in params]
        loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1 if modern else 0.0)
        t = 0
        start = time.time()
        epoch_times = []
        for epoch in range(args.epochs):
            net.train()
            epoch_start = time.time()
            order = torch.randperm(len(x_train))
            for i in range(0, len(x_train), args.batch):
                j = order[i:i + args.batch]
                opt.zero_grad(set_to_none=True)
                xb = augment(x_train[j]) if modern else x_train[j]
                loss_fn(net(xb.contiguous(memory_format=fmt)), y_train[j]).backward()
                if modern:
                    opt.step()
                    schedule.step()
                    continue
                lr = cosine_rate(t, total)
                t += 1
                if args.keras_adam:
                    alpha = lr * (1 - 0.999 ** t) ** 0.5 / (1 - 0.9 ** t)
                    with torch.no_grad():
                        for w, (m, v) in zip(params, moments):
                            m.add_((w.grad - m) * 0.1)
                            v.add_((w.grad * w.grad - v) * 0.001)
                            w.sub_(alpha * m / (v.sqrt() + 1e-7))
                else:
                    for group in opt.param_groups:
                        group["lr"] = lr
                    opt.step()
            epoch_times.append(time.time() - epoch_start)
            val = accuracy(net, x_valid, y_valid, fmt)
            print(f"  seed {seed} epoch {epoch + 1}: {epoch_times[-1]:.1f}s, val accuracy {val:.4f}", flush=True)
        acc = accuracy(net, x_test, y_test, fmt)
        print(f"seed {seed} {config} params {n_params}: test accuracy {acc:.4f} "
              f"({time.time() - start:.0f}s, {sum(epoch_times) / len(epoch_times):.1f} s/epoch training)", flush=True)


if __name__ == "__main__":
    main()
