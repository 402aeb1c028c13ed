"""Step-for-step comparison with Kiln: the Fashion CNN without dropout (benchmarks/Trajectory),
trained in PyTorch from the weights Kiln wrote, on the same batches, and each step's loss set
beside Kiln's. With --adam keras the update is Keras' Adam formula (what Kiln implements:
w -= lr·√(1−β₂ᵗ)/(1−β₁ᵗ) · m / (√v + ε)); with --adam torch it is torch.optim.Adam, which puts
ε after the bias correction (m̂ / (√v̂ + ε)), a visible difference in the first steps.

Then it checks what the losses cannot: the moving statistics Kiln ended with beside PyTorch's
running statistics after the same steps (BatchNorm2d's momentum 0.01 is Keras' 0.99; torch's
running variance is unbiased, Keras' biased, a factor (n−1)/n that is below 1e-4 here), and Kiln's
inference path (BatchNormalization folded into the convolutions) beside PyTorch's eval mode on
Kiln's trained weights, over the 10,000 test images.

    dotnet run -c Release --project benchmarks/Trajectory -- --steps 200
    /usr/bin/python3 benchmarks/pytorch/trajectory.py [--adam keras|torch] [--dir benchmarks/results/trajectory]
"""
import argparse, gzip, os, struct
import numpy as np
import torch
import torch.nn as nn

p = argparse.ArgumentParser()
p.add_argument("--adam", choices=["keras", "torch"], default="keras")
p.add_argument("--dir", default=os.path.join("benchmarks", "results", "trajectory"))
p.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
args = p.parse_args()
torch.set_num_threads(2)


def idx(name):
    with gzip.open(os.path.join(args.data, name), "rb") as f:
        data = f.read()
    dims = struct.unpack(">I", data[:4])[0] & 0xFF
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


# Kiln's Rescale multiplies by the float 1/255; so does this.
x_test = torch.from_numpy(idx("t10k-images-idx3-ubyte.gz").astype(np.float32) * np.float32(1 / 255)).unsqueeze(1)
y_test = torch.from_numpy(idx("t10k-labels-idx1-ubyte.gz").astype(np.int64))
x_train = torch.from_numpy(idx("train-images-idx3-ubyte.gz")[5000:].astype(np.float32) * np.float32(1 / 255)).unsqueeze(1)
y_train = torch.from_numpy(idx("train-labels-idx1-ubyte.gz")[5000:].astype(np.int64))
kiln_losses = [float(line) for line in open(os.path.join(args.dir, "kiln_losses.txt"))]
# Written by `Trajectory --dropout`: the sample's model, with the dropout masks Kiln drew (1 = kept).
masks_path = os.path.join(args.dir, "dropout_masks.bin")
masks = torch.from_numpy(np.fromfile(masks_path, dtype=np.uint8).reshape(-1, 32, 128).astype(np.float32)) if os.path.exists(masks_path) else None


def weight(name, shape, folder="weights"):
    return torch.from_numpy(np.fromfile(os.path.join(args.dir, folder, name + ".bin"), dtype=np.float32).reshape(shape).copy())


class FlattenChannelsLast(nn.Module):
    """Keras flattens (H, W, C): the Dense kernel Kiln wrote expects that order."""
    def forward(self, x):
        return x.permute(0, 2, 3, 1).flatten(1)


class KilnDropout(nn.Module):
    """Dropout(0.3) with Kiln's mask for the current step (inverted: kept units × 1/0.7); identity in eval mode or without masks."""
    mask = None

    def forward(self, x):
        return x * (self.mask / np.float32(0.7)) if self.training and self.mask is not None else x


def network():
    return nn.Sequential(
    nn.Conv2d(1, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32, eps=1e-3, momentum=0.01), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(32, 64, 3, padding=1, bias=False), nn.BatchNorm2d(64, eps=1e-3, momentum=0.01), nn.ReLU(), nn.MaxPool2d(2),
    FlattenChannelsLast(), nn.Linear(3136, 128), nn.ReLU(), KilnDropout(), nn.Linear(128, 10))


def load(net, folder):
    """Kiln's tensors from DIR/folder into net; the BatchNormalization ones when Kiln wrote them."""
    with torch.no_grad():
        net[0].weight.copy_(weight("conv2d.kernel", (3, 3, 1, 32), folder).permute(3, 2, 0, 1))
        net[4].weight.copy_(weight("conv2d_1.kernel", (3, 3, 32, 64), folder).permute(3, 2, 0, 1))
        net[9].weight.copy_(weight("dense.kernel", (3136, 128), folder).t())
        net[9].bias.copy_(weight("dense.bias", (128,), folder))
        net[12].weight.copy_(weight("dense_1.kernel", (128, 10), folder).t())
        net[12].bias.copy_(weight("dense_1.bias", (10,), folder))
        for i, name in ((1, "batch_normalization"), (5, "batch_normalization_1")):
            c = net[i].num_features
            net[i].weight.copy_(weight(name + ".gamma", (c,), folder))
            net[i].bias.copy_(weight(name + ".beta", (c,), folder))
            net[i].running_mean.copy_(weight(name + ".moving_mean", (c,), folder))
            net[i].running_var.copy_(weight(name + ".moving_variance", (c,), folder))


model = network()
load(model, "weights")

params = list(model.parameters())
torch_adam = torch.optim.Adam(params, lr=1e-3, eps=1e-7)
moments = [(torch.zeros_like(w), torch.zeros_like(w)) for w in params]


def keras_adam(t, lr=1e-3, b1=0.9, b2=0.999, eps=1e-7):
    alpha = lr * (1 - b2 ** t) ** 0.5 / (1 - b1 ** t)
    with torch.no_grad():
        for w, (m, v) in zip(params, moments):
            m.add_((w.grad - m) * (1 - b1))
            v.add_((w.grad * w.grad - v) * (1 - b2))
            w.sub_(alpha * m / (v.sqrt() + eps))


loss_fn = nn.CrossEntropyLoss()
model.train()
rows = []
for step, kiln in enumerate(kiln_losses):
    start = step * 32 % (len(x_train) - 32)
    for w in params:
        w.grad = None
    if masks is not None:
        model[11].mask = masks[step]
    loss = loss_fn(model(x_train[start:start + 32]), y_train[start:start + 32])
    loss.backward()
    if args.adam == "keras":
        keras_adam(step + 1)
    else:
        torch_adam.step()
    rows.append((step + 1, kiln, loss.item()))

print(f"{len(rows)} steps, Adam as {args.adam}, {'with Kiln' + chr(39) + 's dropout masks' if masks is not None else 'no dropout'}: step, Kiln loss, PyTorch loss, relative difference")
first_off = next((s for s, k, t in rows if abs(k - t) > 1e-4 * abs(t)), None)
for s, k, t in rows:
    if s <= 12 or s % 8 == 0 and s <= 96 or s % 50 == 0:
        print(f"{s:5d}  {k:.7f}  {t:.7f}  {(k - t) / t:+.1e}")
print(f"first step whose losses differ by more than 1e-4 (relative): {first_off}")


def relative(a, b):
    return ((a - b).abs().max() / b.abs().max()).item()


print(f"moving statistics after {len(rows)} steps, Kiln against PyTorch (max |difference| / max |PyTorch|):")
for i, name in ((1, "batch_normalization"), (5, "batch_normalization_1")):
    c = model[i].num_features
    print(f"  {name}: moving_mean {relative(weight(name + '.moving_mean', (c,), 'trained'), model[i].running_mean):.1e}, "
          f"moving_variance {relative(weight(name + '.moving_variance', (c,), 'trained'), model[i].running_var):.1e}")

trained = network()
load(trained, "trained")
trained.eval()
with torch.no_grad():
    torch_probabilities = torch.softmax(trained(x_test), dim=1)
kiln_probabilities = torch.from_numpy(np.fromfile(os.path.join(args.dir, "kiln_test_probabilities.bin"), dtype=np.float32).reshape(-1, 10))
agree = (kiln_probabilities.argmax(1) == torch_probabilities.argmax(1)).float().mean().item()
print(f"inference on Kiln's trained weights, 10,000 test images: max |probability difference| "
      f"{(kiln_probabilities - torch_probabilities).abs().max().item():.1e}, same class for {agree:.2%}, "
      f"test accuracy Kiln {(kiln_probabilities.argmax(1) == y_test).float().mean().item():.4f}, "
      f"PyTorch {(torch_probabilities.argmax(1) == y_test).float().mean().item():.4f}")
