"""samples/FashionMnistCnn in PyTorch with Keras' defaults (Glorot-uniform kernels, zero biases,
BN momentum 0.99 / epsilon 1e-3, Adam 1e-3 with epsilon 1e-7, pixels / 255, the first 5,000
training images held out): the test accuracy a Keras-equivalent run of the same model reaches.
--keras-adam replaces torch.optim.Adam by Keras' formula, w -= lr·√(1−β₂ᵗ)/(1−β₁ᵗ)·m/(√v + ε),
which Kiln implements (torch divides the bias-corrected moments: m̂/(√v̂ + ε)); see trajectory.py.

--recipe modern mirrors `FashionMnistCnn --recipe modern` (samples/FashionMnistCnn/FashionCnnModern.cs):
two 3×3 convolutions per block (32, 32, pool, 64, 64, pool; `--convs-per-block 1` is the seed's
layers, the modern recipe's model until 2026-12-02), 30 epochs, Keras' RandomTranslation(0.1, 0.1, fill_mode="constant") and RandomFlip("horizontal") written in torch
(torchvision is not needed), label smoothing 0.1, torch's AdamW (weight decay 0.05, decoupled as Keras',
not on biases or BatchNorm) with Keras' CosineDecay: linear warmup from 0 to 2e-3 over the first epoch,
then cosine to 0 over the rest.

    /usr/bin/python3 benchmarks/pytorch/fashion_cnn_accuracy.py [--recipe seed|modern] [--convs-per-block 1|2] [--batch 32] [--keras-adam] [--epochs N] [--train N] [--threads T] [seeds...]
"""
import gzip, struct, sys, time
import numpy as np
import torch
import torch.nn as nn

from modern_recipe import adamw, augment

DATA = "/usr/share/datasets/fashion-mnist"

args = sys.argv[1:]
batch, recipe, epochs, train_count, threads, convs = 32, "seed", None, None, 2, None
while args[:1] in (["--recipe"], ["--convs-per-block"], ["--batch"], ["--epochs"], ["--train"], ["--threads"]):
    if args[0] == "--recipe":
        recipe = args[1]
        assert recipe in ("seed", "modern"), "--recipe takes seed or modern"
    elif args[0] == "--convs-per-block":
        convs = int(args[1])
        assert convs in (1, 2), "--convs-per-block takes 1 or 2"
    elif args[0] == "--batch":
        batch = int(args[1])
    elif args[0] == "--epochs":
        epochs = int(args[1])
    elif args[0] == "--threads":
        threads = int(args[1])
    else:
        train_count = int(args[1])  # a smoke run on the first N training images after the held-out 5,000
    args = args[2:]
keras_adam = args[:1] == ["--keras-adam"]
if keras_adam:
    args = args[1:]
seeds = [int(s) for s in args] or [1]
# The samples' defaults: the seed recipe is FashionCnn for 10 epochs, the modern one FashionCnnModern for 30.
epochs = epochs or (30 if recipe == "modern" else 10)
convs = convs or (2 if recipe == "modern" else 1)
torch.set_num_threads(threads)


def idx(name):
    with gzip.open(f"{DATA}/{name}", "rb") as f:
        data = f.read()
    dims = struct.unpack(">I", data[:4])[0] & 0xFF
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


x_all = torch.from_numpy(idx("train-images-idx3-ubyte.gz").astype(np.float32) / 255).unsqueeze(1)
y_all = torch.from_numpy(idx("train-labels-idx1-ubyte.gz").astype(np.int64))
x_test = torch.from_numpy(idx("t10k-images-idx3-ubyte.gz").astype(np.float32) / 255).unsqueeze(1)
y_test = torch.from_numpy(idx("t10k-labels-idx1-ubyte.gz").astype(np.int64))
x_train, y_train = x_all[5000:], y_all[5000:]
if train_count is not None:
    x_train, y_train = x_train[:train_count], y_train[:train_count]


def model():
    def block(c_in, c_out):
        layers = []
        for i in range(convs):   # Keras' layer order: Conv2D (no bias), BatchNormalization, ReLU
            layers += [nn.Conv2d(c_in if i == 0 else c_out, c_out, 3, padding=1, bias=False),
                       nn.BatchNorm2d(c_out, eps=1e-3, momentum=0.01), nn.ReLU()]
        return layers + [nn.MaxPool2d(2)]
    m = nn.Sequential(*block(1, 32), *block(32, 64),
        nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Dropout(0.3), nn.Linear(128, 10))
    for layer in m:
        if isinstance(layer, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(layer.weight)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
    return m


for seed in seeds:
    torch.manual_seed(seed)
    net, start = model(), time.time()
    steps_per_epoch = (len(x_train) + batch - 1) // batch
    if recipe == "modern":
        opt, schedule = adamw(net, steps_per_epoch, epochs)
    else:
        opt = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7)
    params = list(net.parameters())
    moments = [(torch.zeros_like(w), torch.zeros_like(w)) for w in params]
    t = 0

    def step():
        global t
        if not keras_adam or recipe == "modern":
            opt.step()
            if recipe == "modern":
                schedule.step()
            return
        t += 1
        alpha = 1e-3 * (1 - 0.999 ** t) ** 0.5 / (1 - 0.9 ** t)
        with torch.no_grad():
            for w, (m, v) in zip(params, moments):
                m.add_((w.grad - m) * 0.1)
                v.add_((w.grad * w.grad - v) * 0.001)
                w.sub_(alpha * m / (v.sqrt() + 1e-7))

    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1 if recipe == "modern" else 0.0)
    for epoch in range(epochs):
        net.train()
        order = torch.randperm(len(x_train))
        for i in range(0, len(x_train), batch):
            j = order[i:i + batch]
            opt.zero_grad()
            xb = augment(x_train[j]) if recipe == "modern" else x_train[j]
            loss_fn(net(xb), y_train[j]).backward()
            step()
    net.eval()
    with torch.no_grad():
        acc = (net(x_test).argmax(1) == y_test).float().mean().item()
    print(f"recipe {recipe} convs/block {convs} epochs {epochs} seed {seed} batch {batch}{' keras-adam' if keras_adam and recipe == 'seed' else ''}: test accuracy {acc:.4f} ({time.time() - start:.0f}s)", flush=True)
