"""Seed 004 in PyTorch with Keras' defaults, over several seeds: the accuracy a Keras-equivalent
run reaches, to compare with samples/FashionMnist (same data, scaler, model, init, optimizer).

    /usr/bin/python3 benchmarks/pytorch/fashion_accuracy.py [seeds...]
"""
import gzip, struct, sys, time
import numpy as np
import torch

torch.set_num_threads(1)
DATA = "/usr/share/datasets/fashion-mnist"


def idx(name):
    with gzip.open(f"{DATA}/{name}", "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    dims = magic & 0xFF
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


x_all = idx("train-images-idx3-ubyte.gz").astype(np.float32).reshape(-1, 784)
y_all = idx("train-labels-idx1-ubyte.gz").astype(np.int64)
x_test = idx("t10k-images-idx3-ubyte.gz").astype(np.float32).reshape(-1, 784)
y_test = idx("t10k-labels-idx1-ubyte.gz").astype(np.int64)
x_valid, x_train = x_all[:5000], x_all[5000:]
y_valid, y_train = y_all[:5000], y_all[5000:]
# StandardScaler on reshape(-1, 1): one mean and one (population) std over all training pixels.
mean, std = x_train.mean(dtype=np.float64), x_train.std(dtype=np.float64)
x_train, x_valid, x_test = [torch.from_numpy(((x - mean) / std).astype(np.float32)) for x in (x_train, x_valid, x_test)]
y_train, y_test = torch.from_numpy(y_train), torch.from_numpy(y_test)


def run(seed):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(784, 300), torch.nn.ReLU(), torch.nn.Linear(300, 100), torch.nn.ReLU(), torch.nn.Linear(100, 10))
    for m in model:
        if isinstance(m, torch.nn.Linear):  # Keras: glorot_uniform kernels, zero biases
            torch.nn.init.xavier_uniform_(m.weight)
            torch.nn.init.zeros_(m.bias)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = torch.nn.CrossEntropyLoss()
    n = len(x_train)
    for epoch in range(10):
        order = torch.randperm(n)
        for start in range(0, n, 32):
            i = order[start:start + 32]
            opt.zero_grad()
            loss_fn(model(x_train[i]), y_train[i]).backward()
            opt.step()
    with torch.no_grad():
        return (model(x_test).argmax(1) == y_test).float().mean().item()


seeds = [int(s) for s in sys.argv[1:]] or [1, 2, 3, 4, 5, 6]
accs = []
for s in seeds:
    t = time.time()
    accs.append(run(s))
    print(f"seed {s}: test accuracy {accs[-1]:.4f} ({time.time() - t:.0f}s)", flush=True)
print(f"mean {np.mean(accs):.4f} min {np.min(accs):.4f} max {np.max(accs):.4f} over {len(accs)} seeds")
