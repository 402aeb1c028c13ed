#!/usr/bin/python3
"""PyTorch baseline for benchmarks/GanBenchmark: GAN steps per second for seed 000's models.

One step, batch 32, as Kiln's GanTrainer.Step (and the seed's loop):
- discriminator step: generator forward on 32 normal latent vectors under no_grad, cat with 32 real
  images, labels [1]*32 + [0]*32 + 0.05*U[0,1), BCE, backward, clip_grad_value_(1.0), RMSprop(8e-4);
- adversarial step: discriminator parameters requires_grad_(False) (Keras' trainable = False: no weight
  gradients, gradients still reach its input), generator forward on fresh latents, discriminator
  forward (dropout on), BCE against 0, backward, RMSprop(1e-3) on the generator, then requires_grad_(True).
The sigmoid output and the BCE are fused as BCEWithLogitsLoss (Kiln fuses them too). RMSprop: alpha 0.9;
PyTorch puts eps outside the square root and has no legacy decay (Keras' 1e-8 changes the rate by
< 1e-5 over these steps), which does not change the work done.

Models ("narrow" is samples/Gan's default, "seed" the seed's own; Keras 'same' padding written out):
  G: Linear(32, 16*16*C0) ReLU, view (C0, 16, 16), Conv(C0, C0, 3, p1) ReLU, Conv(C0, C1, 5, p2) ReLU,
     ConvTranspose(C1, C1, 4, s2, p1) ReLU, Conv(C1, C1, 5, p2) ReLU, Conv(C1, 3, 7, p3) Tanh
     narrow C0 = 32, C1 = 64; seed C0 = 128, C1 = 256
  D: Conv(3, F, 3, p1) LeakyReLU(0.3), 3x [Conv(F, F, 4, s2, p1) LeakyReLU(0.3)], Flatten, Dropout(0.4), Linear(16F, 1)
     narrow F = 64; seed F = 128
Glorot-uniform weights and zero biases, as Keras and Kiln.

Harness as GanBenchmark: untimed warm-up (at least 3 steps and 2 s), then RUNS timed runs of a fixed
step count chosen so a run lasts about --run-seconds; the median run, with min and max. Both memory
formats (NCHW and channels_last) are run; the faster is the row's figure, the other kept as other_*.

usage: gan.py [--models narrow,seed] [--threads N] [--runs N] [--run-seconds S]
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn as nn

BATCH = 32
LATENT = 32
FORMATS = (("nchw", torch.contiguous_format), ("channels_last", torch.channels_last))
WIDTHS = {"narrow": (32, 64, 64), "seed": (128, 256, 128)}


class Generator(nn.Module):
    def __init__(self, c0, c1):
        super().__init__()
        self.c0 = c0
        self.dense = nn.Linear(LATENT, 16 * 16 * c0)
        self.convs = nn.Sequential(
            nn.Conv2d(c0, c0, 3, padding=1), nn.ReLU(),
            nn.Conv2d(c0, c1, 5, padding=2), nn.ReLU(),
            nn.ConvTranspose2d(c1, c1, 4, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(c1, c1, 5, padding=2), nn.ReLU(),
            nn.Conv2d(c1, 3, 7, padding=3), nn.Tanh())

    def forward(self, z, fmt):
        x = torch.relu(self.dense(z)).view(-1, self.c0, 16, 16).contiguous(memory_format=fmt)
        return self.convs(x)


def discriminator(f):
    return nn.Sequential(
        nn.Conv2d(3, f, 3, padding=1), nn.LeakyReLU(0.3),
        nn.Conv2d(f, f, 4, stride=2, padding=1), nn.LeakyReLU(0.3),
        nn.Conv2d(f, f, 4, stride=2, padding=1), nn.LeakyReLU(0.3),
        nn.Conv2d(f, f, 4, stride=2, padding=1), nn.LeakyReLU(0.3),
        nn.Flatten(), nn.Dropout(0.4), nn.Linear(16 * f, 1))


def init_keras(model):
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
    return model


def bench(name, fmt, runs, run_seconds):
    torch.manual_seed(1)
    c0, c1, f = WIDTHS[name]
    g = init_keras(Generator(c0, c1)).to(memory_format=fmt)
    d = init_keras(discriminator(f)).to(memory_format=fmt)
    g.train()
    d.train()
    opt_d = torch.optim.RMSprop(d.parameters(), lr=8e-4, alpha=0.9, eps=1e-7)
    opt_g = torch.optim.RMSprop(g.parameters(), lr=1e-3, alpha=0.9, eps=1e-8)
    bce = nn.BCEWithLogitsLoss()
    gen = torch.Generator().manual_seed(1234)
    real = [torch.rand(BATCH, 3, 32, 32, generator=gen).contiguous(memory_format=fmt) for _ in range(8)]
    base_labels = torch.cat([torch.ones(BATCH, 1), torch.zeros(BATCH, 1)])
    mislead = torch.zeros(BATCH, 1)
    d_params = list(d.parameters())
    state = {"next": 0, "d": 0.0, "a": 0.0}

    def train_discriminator(x_real):
        with torch.no_grad():
            fake = g(torch.randn(BATCH, LATENT), fmt)
        combined = torch.cat([fake, x_real]).contiguous(memory_format=fmt)
        labels = base_labels + 0.05 * torch.rand(2 * BATCH, 1)
        opt_d.zero_grad(set_to_none=True)
        loss = bce(d(combined), labels)
        loss.backward()
        torch.nn.utils.clip_grad_value_(d_params, 1.0)
        opt_d.step()
        return loss

    def train_generator():
        for p in d_params:
            p.requires_grad_(False)
        opt_g.zero_grad(set_to_none=True)
        loss = bce(d(g(torch.randn(BATCH, LATENT), fmt)), mislead)
        loss.backward()
        opt_g.step()
        for p in d_params:
            p.requires_grad_(True)
        return loss

    def step():
        x_real = real[state["next"]]
        state["next"] = (state["next"] + 1) % len(real)
        state["d"] = train_discriminator(x_real)
        state["a"] = train_generator()

    warm_start = time.perf_counter()
    warm_steps = 0
    last = 0.0
    while warm_steps < 3 or time.perf_counter() - warm_start < 2:
        t = time.perf_counter()
        step()
        last = time.perf_counter() - t
        warm_steps += 1
    per_run = max(1, round(run_seconds / last))

    t = time.perf_counter()
    train_discriminator(real[0])
    d_ms = (time.perf_counter() - t) * 1e3
    t = time.perf_counter()
    train_generator()
    g_ms = (time.perf_counter() - t) * 1e3

    rates = []
    for _ in range(runs):
        t = time.perf_counter()
        for _ in range(per_run):
            step()
        rates.append(per_run / (time.perf_counter() - t))
    return {"steps_per_s": statistics.median(rates), "min": min(rates), "max": max(rates),
            "steps_per_run": per_run, "ms_d_step": d_ms, "ms_g_step": g_ms,
            "d_loss": float(state["d"]), "a_loss": float(state["a"])}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="narrow,seed")
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--run-seconds", type=float, default=4.0)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    for name in args.models.split(","):
        results = {fmt_name: bench(name, fmt, args.runs, args.run_seconds) for fmt_name, fmt in FORMATS}
        best = max(results, key=lambda k: results[k]["steps_per_s"])
        other = [k for k in results if k != best][0]
        row = {"impl": "pytorch", "row": f"gan_{name}_b32", "threads": args.threads, "memory_format": best,
               **{k: round(v, 4) if isinstance(v, float) else v for k, v in results[best].items()},
               "runs": args.runs, "other_format": other,
               "other_steps_per_s": round(results[other]["steps_per_s"], 4),
               "torch": torch.__version__}
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
