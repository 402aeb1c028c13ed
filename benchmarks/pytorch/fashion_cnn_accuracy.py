"""samples/FashionMnistCnn in PyTorch with Keras' defaults (Glorot-uniform kernels, zero biases,
BN momentum 0.99 / epsilon 1e-3, Adam 1e-3 with epsilon 1e-7, pixels / 255, the first 5,000
training images held out): the test accuracy a Keras-equivalent run of the same model reaches.
--keras-adam replaces torch.optim.Adam by Keras' formula, w -= lr·√(1−β₂ᵗ)/(1−β₁ᵗ)·m/(√v + ε),
which Kiln implements (torch divides the bias-corrected moments: m̂/(√v̂ + ε)); see trajectory.py.

    /usr/bin/python3 benchmarks/pytorch/fashion_cnn_accuracy.py [--batch 32] [--keras-adam] [seeds...]
"""
import gzip, struct, sys, time
import numpy as np
import torch
import torch.nn as nn

torch.set_num_threads(2)
DATA = "/usr/share/datasets/fashion-mnist"
args = sys.argv[1:]
batch = 32
if args[:1] == ["--batch"]:
    batch, args = int(args[1]), args[2:]
keras_adam = args[:1] == ["--keras-adam"]
if keras_adam:
    args = args[1:]
seeds = [int(s) for s in args] or [1]


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


def model():
    m = nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32, eps=1e-3, momentum=0.01), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1, bias=False), nn.BatchNorm2d(64, eps=1e-3, momentum=0.01), nn.ReLU(), nn.MaxPool2d(2),
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
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7)
    params = list(net.parameters())
    moments = [(torch.zeros_like(w), torch.zeros_like(w)) for w in params]
    t = 0

    def step():
        global t
        if not keras_adam:
            opt.step()
            return
        t += 1
        alpha = 1e-3 * (1 - 0.999 ** t) ** 0.5 / (1 - 0.9 ** t)
        with torch.no_grad():
            for w, (m, v) in zip(params, moments):
                m.add_((w.grad - m) * 0.1)
                v.add_((w.grad * w.grad - v) * 0.001)
                w.sub_(alpha * m / (v.sqrt() + 1e-7))

    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(10):
        net.train()
        order = torch.randperm(len(x_train))
        for i in range(0, len(x_train), batch):
            j = order[i:i + batch]
            opt.zero_grad()
            loss_fn(net(x_train[j]), y_train[j]).backward()
            step()
    net.eval()
    with torch.no_grad():
        acc = (net(x_test).argmax(1) == y_test).float().mean().item()
    print(f"seed {seed} batch {batch}{' keras-adam' if keras_adam else ''}: test accuracy {acc:.4f} ({time.time() - start:.0f}s)", flush=True)
