#!/usr/bin/python3
"""Writes the Keras weight files that tests/Kiln.Keras.Tests loads, without Keras.

Keras and TensorFlow are not installed where Kiln is built, so this script writes the HDF5
layouts that Keras' own source writes, with h5py (Debian: apt-get install python3-h5py
python3-numpy; run with /usr/bin/python3):

- Keras 2 `model.save_weights('x.h5')` / ModelCheckpoint(save_weights_only=True): keras 2.x
  keras/saving/legacy/hdf5_format.py `save_weights_to_hdf5_group`. Root attributes
  `layer_names` (numpy array of fixed-length byte strings, model.layers order), `backend` and
  `keras_version` (byte strings); one group per layer, created in sorted name order, with
  attribute `weight_names` (byte strings such as b'dense/kernel:0'; an empty float64 array for a
  layer without weights) and each weight created as a dataset under its own name, so
  'dense/kernel:0' becomes the dataset dense/dense/kernel:0; then an empty group
  `top_level_model_weights`.
- Keras 2 `model.save('x.h5')`: the same under a `model_weights` group; root attributes
  `keras_version`, `backend`, `model_config`, `training_config` as str (variable-length), and an
  `optimizer_weights` group.
- Keras 3 `model.save('x.h5')`: keras/src/legacy/saving/legacy_h5_format.py: weight names are
  variable paths without ':0' ('dense/kernel').
- Keras 3 `model.save_weights('x.weights.h5')`: keras/src/saving/saving_lib.py `H5IOStore`.
  Each layer's variables sit in `layers/<key>/vars/<i>`, i = 0, 1, ... over trainable then
  non-trainable variables (BatchNormalization: gamma, beta, moving_mean, moving_variance). The
  key is NOT the layer's name: `_save_container_state` names the entries of model.layers by
  their class, snake-cased (Conv2D -> conv2d, ReLU -> re_lu), numbered per class in
  model.layers order (dense, dense_1, ...). Every layer (weights or not) and the model itself
  (`/vars`) get a `vars` group: Keras 3.0-3.5 through `H5Entry(mode="w")`, 3.6 and later through
  `make(path, metadata={"name": layer.name})`, which also writes the layer's name as the
  group's `name` attribute. A compiled model adds `optimizer/vars/...`.

For each model the script also writes <model>.expected.json: fixed inputs and the outputs of a
numpy reference forward pass (float64 on the float32 weights), which the tests compare with
Kiln's Predict. The Kiln declarations of the models are in tests/Kiln.Keras.Tests/KerasModels.cs
(and tests/Kiln.EndToEnd.Tests/GraphModels.cs for TinyResNet and InceptionLike).
"""

import json
import os
import re
import sys

import h5py
import numpy as np

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "Kiln.Keras.Tests", "Fixtures")


# ---------------------------------------------------------------- models (Keras' model.layers order)

class L:
    def __init__(self, name, cls, inbound, **cfg):
        self.name, self.cls, self.inbound, self.cfg = name, cls, inbound, cfg
        self.weights = []  # (weight name, array), in Keras' variable order

    def __repr__(self):
        return f"{self.name}({self.cls})"


def dense(name, inbound, units, act="linear", bias=True):
    return L(name, "Dense", inbound, units=units, act=act, bias=bias)


def conv(name, inbound, filters, k, s=1, pad="valid", act="linear", bias=True, cls="Conv2D"):
    return L(name, cls, inbound, filters=filters, k=k, s=s, pad=pad, act=act, bias=bias)


def bn(name, inbound):
    return L(name, "BatchNormalization", inbound, eps=1e-3)


def simple(name, cls, inbound, **cfg):
    return L(name, cls, inbound, **cfg)


def kiln_order(layers):
    return layers  # declaration order, used to build shapes


def keras_functional_order(layers, outputs):
    """keras/src/ops/function.py map_graph: operations by decreasing depth (longest path to an
    output), ties by first visit in a depth-first walk from the outputs."""
    by_name = {l.name: l for l in layers}
    index = {}

    def visit(n):
        if n not in by_name:
            return
        if n not in index:
            index[n] = len(index)
        for i in by_name[n].inbound:
            visit(i)

    for o in outputs:
        visit(o)
    depth = {}
    order = sorted(index, key=lambda n: index[n])  # nodes in visit order approximate a reverse topological order
    # longest path from each node to an output, by relaxation over a topological order
    topo = []
    seen = set()

    def topo_visit(n):
        if n in seen or n not in by_name:
            return
        seen.add(n)
        for i in by_name[n].inbound:
            topo_visit(i)
        topo.append(n)

    for o in outputs:
        topo_visit(o)
    for n in reversed(topo):
        depth.setdefault(n, 0)
        for i in by_name[n].inbound:
            if i in by_name:
                depth[i] = max(depth.get(i, 0), depth[n] + 1)
    return sorted((by_name[n] for n in order), key=lambda l: (-depth[l.name], index[l.name]))


def mlp():
    return [
        dense("dense", ["input"], 8, "relu"),
        dense("dense_1", ["dense"], 5, "tanh"),
        dense("dense_2", ["dense_1"], 3, "softmax"),
    ], (6,)


def cnn():
    return [
        conv("conv2d", ["input"], 3, 3, pad="same"),
        bn("batch_normalization", ["conv2d"]),
        simple("re_lu", "ReLU", ["batch_normalization"]),
        simple("max_pooling2d", "MaxPooling2D", ["re_lu"], pool=2, s=2, pad="valid"),
        conv("conv2d_1", ["max_pooling2d"], 4, 2, bias=False),
        bn("batch_normalization_1", ["conv2d_1"]),
        simple("re_lu_1", "ReLU", ["batch_normalization_1"]),
        simple("flatten", "Flatten", ["re_lu_1"]),
        dense("dense", ["flatten"], 3, "softmax"),
    ], (6, 6, 2)


def decoder():
    return [
        dense("dense", ["input"], 12, "relu"),
        simple("reshape", "Reshape", ["dense"], shape=(2, 2, 3)),
        conv("conv2d_transpose", ["reshape"], 2, 3, s=2, pad="same", act="tanh", cls="Conv2DTranspose"),
        conv("conv2d_transpose_1", ["conv2d_transpose"], 1, 2, act="sigmoid", cls="Conv2DTranspose"),
    ], (4,)


def normalized():
    return [
        simple("normalization", "Normalization", ["input"]),
        dense("dense", ["normalization"], 3, "softmax"),
    ], (5,)


def tiny_resnet():
    # tests/Kiln.EndToEnd.Tests/GraphModels.cs TinyResNet, in declaration order.
    ls = [
        conv("conv2d", ["input"], 2, 3, pad="same", bias=False), bn("batch_normalization", ["conv2d"]),
        simple("stem", "ReLU", ["batch_normalization"]),
        conv("conv2d_1", ["stem"], 2, 3, pad="same", bias=False), bn("batch_normalization_1", ["conv2d_1"]),
        simple("re_lu", "ReLU", ["batch_normalization_1"]),
        conv("conv2d_2", ["re_lu"], 2, 3, pad="same", bias=False), bn("b1", ["conv2d_2"]),
        simple("add", "Add", ["b1", "stem"]), simple("block1", "ReLU", ["add"]),
        conv("conv2d_3", ["block1"], 3, 3, s=2, pad="same", bias=False), bn("batch_normalization_2", ["conv2d_3"]),
        simple("re_lu_1", "ReLU", ["batch_normalization_2"]),
        conv("conv2d_4", ["re_lu_1"], 3, 3, pad="same", bias=False), bn("main", ["conv2d_4"]),
        conv("conv2d_5", ["block1"], 3, 1, s=2, bias=False), bn("shortcut", ["conv2d_5"]),
        simple("add_1", "Add", ["main", "shortcut"]), simple("re_lu_2", "ReLU", ["add_1"]),
        simple("global_average_pooling2d", "GlobalAveragePooling2D", ["re_lu_2"]),
        dense("dense", ["global_average_pooling2d"], 3, "softmax"),
    ]
    return ls, (4, 4, 1)


def inception():
    # tests/Kiln.EndToEnd.Tests/GraphModels.cs InceptionLike, in declaration order. 'b1' and
    # 'conv2d' are both 1x1 convolutions of 'in' with 2 filters: Keras 3 files without layer
    # names tell them apart only by Keras' layer order.
    ls = [
        simple("in", "MaxPooling2D", ["input"], pool=2, s=1, pad="same"),
        conv("b1", ["in"], 2, 1, act="relu"),
        conv("conv2d", ["in"], 2, 1, act="relu"), conv("b3", ["conv2d"], 3, 3, pad="same"),
        simple("average_pooling2d", "AveragePooling2D", ["in"], pool=3, s=1, pad="same"),
        conv("bp", ["average_pooling2d"], 2, 1),
        simple("mixed", "Concatenate", ["b1", "b3", "bp"], axis=-1),
        conv("top", ["mixed"], 2, 1), conv("bottom", ["mixed"], 2, 1),
        simple("concatenate", "Concatenate", ["top", "bottom"], axis=1),
        simple("flatten", "Flatten", ["concatenate"]),
        dense("dense", ["flatten"], 2, "sigmoid"),
    ]
    return ls, (4, 4, 3)


# ---------------------------------------------------------------- weights and the reference forward

def shapes_and_weights(layers, input_shape, rng):
    shapes = {"input": input_shape}
    for l in layers:
        x = [shapes[i] for i in l.inbound]
        c = l.cfg
        if l.cls == "Dense":
            n = int(np.prod(x[0]))
            l.weights = [("kernel", rng.uniform(-0.6, 0.6, (n, c["units"])))]
            if c["bias"]:
                l.weights.append(("bias", rng.uniform(-0.3, 0.3, (c["units"],))))
            shapes[l.name] = (c["units"],)
        elif l.cls in ("Conv2D", "Conv2DTranspose"):
            h, w, ch = x[0]
            k, s, f = c["k"], c["s"], c["filters"]
            if l.cls == "Conv2D":
                l.weights = [("kernel", rng.uniform(-0.5, 0.5, (k, k, ch, f)))]
                oh, ow = ((-(-h // s), -(-w // s)) if c["pad"] == "same" else ((h - k) // s + 1, (w - k) // s + 1))
            else:
                l.weights = [("kernel", rng.uniform(-0.5, 0.5, (k, k, f, ch)))]
                oh, ow = ((h * s, w * s) if c["pad"] == "same" else ((h - 1) * s + max(k, s), (w - 1) * s + max(k, s)))
            if c["bias"]:
                l.weights.append(("bias", rng.uniform(-0.2, 0.2, (f,))))
            shapes[l.name] = (oh, ow, f)
        elif l.cls == "BatchNormalization":
            ch = x[0][-1]
            l.weights = [("gamma", rng.uniform(0.5, 1.5, (ch,))), ("beta", rng.uniform(-0.3, 0.3, (ch,))),
                         ("moving_mean", rng.uniform(-0.3, 0.3, (ch,))), ("moving_variance", rng.uniform(0.4, 1.6, (ch,)))]
            shapes[l.name] = x[0]
        elif l.cls == "Normalization":
            # Adapted statistics; Keras also keeps the sample count, an int64 scalar, last.
            ch = x[0][-1]
            l.weights = [("mean", rng.uniform(-1, 1, (ch,))), ("variance", rng.uniform(0.5, 2.0, (ch,))), ("count", np.int64(37))]
            shapes[l.name] = x[0]
        elif l.cls in ("MaxPooling2D", "AveragePooling2D"):
            h, w, ch = x[0]
            p, s = c["pool"], c["s"]
            shapes[l.name] = ((-(-h // s), -(-w // s), ch) if c["pad"] == "same" else ((h - p) // s + 1, (w - p) // s + 1, ch))
        elif l.cls == "Flatten":
            shapes[l.name] = (int(np.prod(x[0])),)
        elif l.cls == "Reshape":
            shapes[l.name] = c["shape"]
        elif l.cls == "GlobalAveragePooling2D":
            shapes[l.name] = (x[0][-1],)
        elif l.cls == "Concatenate":
            axis = c["axis"] if c["axis"] >= 0 else len(x[0]) + 1 + c["axis"]
            out = list(x[0])
            out[axis - 1] = sum(s[axis - 1] for s in x)
            shapes[l.name] = tuple(out)
        else:
            shapes[l.name] = x[0]
        l.weights = [(n, v if n == "count" else v.astype(np.float32)) for n, v in l.weights]
    return shapes


def activation(x, act):
    if act == "relu":
        return np.maximum(x, 0)
    if act == "tanh":
        return np.tanh(x)
    if act == "sigmoid":
        return 1 / (1 + np.exp(-x))
    if act == "softmax":
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    return x


def same_pad(n, k, s):
    out = -(-n // s)
    total = max((out - 1) * s + k - n, 0)
    return total // 2, total - total // 2


def conv2d(x, k, s, pad):
    # x (n, h, w, c), k (kh, kw, c, f): Keras/TF cross-correlation, 'same' pads left total//2.
    n, h, w, c = x.shape
    kh, kw, _, f = k.shape
    if pad == "same":
        (t, b), (lft, r) = same_pad(h, kh, s), same_pad(w, kw, s)
        x = np.pad(x, ((0, 0), (t, b), (lft, r), (0, 0)))
    oh, ow = (x.shape[1] - kh) // s + 1, (x.shape[2] - kw) // s + 1
    y = np.zeros((n, oh, ow, f))
    for i in range(oh):
        for j in range(ow):
            patch = x[:, i * s:i * s + kh, j * s:j * s + kw, :]
            y[:, i, j, :] = np.tensordot(patch, k, axes=([1, 2, 3], [0, 1, 2]))
    return y


def conv2d_transpose(x, k, s, pad):
    # The transpose of conv2d: input pixel i spreads over outputs i*s + a - pad_left, kernel (kh, kw, f, c).
    n, h, w, c = x.shape
    kh, kw, f, _ = k.shape
    if pad == "same":
        oh, ow = h * s, w * s
        top, left = max(kh - s, 0) // 2, max(kw - s, 0) // 2
    else:
        oh, ow = (h - 1) * s + max(kh, s), (w - 1) * s + max(kw, s)
        top, left = 0, 0
    y = np.zeros((n, oh, ow, f))
    for i in range(h):
        for j in range(w):
            for a in range(kh):
                for b in range(kw):
                    oi, oj = i * s + a - top, j * s + b - left
                    if 0 <= oi < oh and 0 <= oj < ow:
                        y[:, oi, oj, :] += x[:, i, j, :] @ k[a, b].T
    return y


def pool(x, p, s, pad, kind):
    n, h, w, c = x.shape
    if pad == "same":
        (t, b), (lft, r) = same_pad(h, p, s), same_pad(w, p, s)
    else:
        t = b = lft = r = 0
    padded = np.pad(x, ((0, 0), (t, b), (lft, r), (0, 0)), constant_values=np.nan)
    oh, ow = (padded.shape[1] - p) // s + 1, (padded.shape[2] - p) // s + 1
    y = np.zeros((n, oh, ow, c))
    for i in range(oh):
        for j in range(ow):
            win = padded[:, i * s:i * s + p, j * s:j * s + p, :]
            # Padding never wins a max and is not counted in an average (TF's pools).
            y[:, i, j, :] = np.nanmax(win, axis=(1, 2)) if kind == "max" else np.nanmean(win, axis=(1, 2))
    return y


def forward(layers, x):
    values = {"input": x.astype(np.float64)}
    for l in layers:
        xs = [values[i] for i in l.inbound]
        c = l.cfg
        w = {n: v.astype(np.float64) for n, v in l.weights}
        if l.cls == "Dense":
            y = xs[0].reshape(len(x), -1) @ w["kernel"] + w.get("bias", 0)
            y = activation(y, c["act"])
        elif l.cls == "Conv2D":
            y = activation(conv2d(xs[0], w["kernel"], c["s"], c["pad"]) + w.get("bias", 0), c["act"])
        elif l.cls == "Conv2DTranspose":
            y = activation(conv2d_transpose(xs[0], w["kernel"], c["s"], c["pad"]) + w.get("bias", 0), c["act"])
        elif l.cls == "BatchNormalization":
            y = (xs[0] - w["moving_mean"]) / np.sqrt(w["moving_variance"] + c["eps"]) * w["gamma"] + w["beta"]
        elif l.cls == "Normalization":
            y = (xs[0] - w["mean"]) / np.maximum(np.sqrt(w["variance"]), 1e-7)
        elif l.cls == "ReLU":
            y = np.maximum(xs[0], 0)
        elif l.cls == "MaxPooling2D":
            y = pool(xs[0], c["pool"], c["s"], c["pad"], "max")
        elif l.cls == "AveragePooling2D":
            y = pool(xs[0], c["pool"], c["s"], c["pad"], "avg")
        elif l.cls == "Flatten":
            y = xs[0].reshape(len(x), -1)
        elif l.cls == "Reshape":
            y = xs[0].reshape((len(x),) + tuple(c["shape"]))
        elif l.cls == "GlobalAveragePooling2D":
            y = xs[0].mean(axis=(1, 2))
        elif l.cls == "Add":
            y = sum(xs)
        elif l.cls == "Concatenate":
            y = np.concatenate(xs, axis=c["axis"])
        else:
            raise ValueError(l.cls)
        values[l.name] = y
    return values[layers[-1].name]


# ---------------------------------------------------------------- the writers (Keras' layouts)

def to_snake_case(name):
    # keras/src/utils/naming.py
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    name = re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()
    return name


def save_attributes(group, name, data, chunks=1):
    """save_attributes_to_hdf5_group: one attribute, or (past HDF5's 64 KB object header limit)
    np.array_split into name0, name1, ...; chunks > 1 forces the split on a small model."""
    data = np.asarray(data)
    if chunks == 1:
        group.attrs[name] = data
    else:
        for i, chunk in enumerate(np.array_split(data, chunks)):
            group.attrs["%s%d" % (name, i)] = chunk


def legacy_weights_group(f, keras_layers, keras_version, backend, suffix, chunks=1):
    """save_weights_to_hdf5_group: suffix ':0' for Keras 2 (tf.Variable names), '' for Keras 3 (variable paths)."""
    save_attributes(f, "layer_names", [l.name.encode("utf8") for l in keras_layers], chunks)
    f.attrs["backend"] = backend.encode("utf8")
    f.attrs["keras_version"] = keras_version.encode("utf8")
    for l in sorted(keras_layers, key=lambda l: l.name):
        g = f.create_group(l.name)
        names = [f"{l.name}/{n}{suffix}".encode("utf8") for n, _ in l.weights]
        # np.asarray([]) for a layer without weights: an empty float64 array, as Keras writes it.
        save_attributes(g, "weight_names", names, chunks if len(names) >= chunks else 1)
        for name, (_, value) in zip(names, l.weights):
            d = g.create_dataset(name, value.shape, dtype=value.dtype)
            if not value.shape:
                d[()] = value  # a scalar (Normalization's count)
            else:
                d[:] = value
    top = f.create_group("top_level_model_weights")
    top.attrs["weight_names"] = np.asarray([])


def model_config(keras_layers, model_class):
    return json.dumps({"class_name": model_class, "config": {
        "name": "model", "layers": [{"class_name": l.cls, "config": {"name": l.name}} for l in keras_layers]}})


def write_keras2_weights(path, keras_layers, chunks=1):
    with h5py.File(path, "w") as f:
        legacy_weights_group(f, keras_layers, "2.15.0", "tensorflow", ":0", chunks)


def write_legacy_model(path, keras_layers, keras_version, suffix, model_class):
    """save_model_to_hdf5: metadata as str attributes (h5py: variable-length strings), weights under model_weights."""
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = keras_version
        f.attrs["backend"] = "tensorflow"
        f.attrs["model_config"] = model_config(keras_layers, model_class)
        f.attrs["training_config"] = json.dumps({"loss": "sparse_categorical_crossentropy", "optimizer_config": {
            "class_name": "Adam", "config": {"learning_rate": 0.001}}})
        legacy_weights_group(f.create_group("model_weights"), keras_layers, keras_version, "tensorflow", suffix)
        opt = f.create_group("optimizer_weights")
        opt.attrs["weight_names"] = np.asarray([b"Adam/iter:0"])
        opt.create_dataset("Adam/iter:0", data=np.int64(12))


def write_keras3_weights(path, keras_layers, with_names, model_name):
    """H5IOStore via save_weights_only: layers/<class key>/vars/<i>; with_names: Keras 3.6+, else 3.0-3.5."""
    with h5py.File(path, "w") as f:
        root = f.create_group("vars")
        if with_names:
            root.attrs["name"] = model_name
        used = {}
        for l in keras_layers:
            base = to_snake_case(l.cls)
            if base in used:
                used[base] += 1
                key = f"{base}_{used[base]}"
            else:
                used[base] = 0
                key = base
            g = f.create_group(f"layers/{key}").create_group("vars")
            if with_names:
                g.attrs["name"] = l.name
            for i, (_, value) in enumerate(l.weights):
                g[str(i)] = value
        # A compiled, trained model also saves its optimizer (Adam: iterations, learning rate, moments).
        opt = f.create_group("optimizer").create_group("vars")
        opt["0"] = np.int64(12)
        opt["1"] = np.float32(0.001)


def write_keras3_subclassed(path, keras_layers, attributes, with_names):
    """A subclassed model (keras.Model with layers in attributes): _walk_saveable visits the
    model's attributes in sorted order, `layers` (model.layers) among them. A layer held in an
    attribute sorting before 'layers' is saved under the attribute's name; the `layers` container
    then keys every layer by class (a visited layer still takes its key) and saves the others."""
    with h5py.File(path, "w") as f:
        root = f.create_group("vars")
        if with_names:
            root.attrs["name"] = "mlp"
        visited = set()

        def save(l, at):
            g = f.create_group(at).create_group("vars")
            if with_names:
                g.attrs["name"] = l.name
            for i, (_, value) in enumerate(l.weights):
                g[str(i)] = value
            visited.add(l.name)

        for attr in sorted(list(attributes) + ["layers"]):
            if attr == "layers":
                used = {}
                for l in keras_layers:
                    base = to_snake_case(l.cls)
                    used[base] = used.get(base, -1) + 1
                    key = base if used[base] == 0 else f"{base}_{used[base]}"
                    if l.name not in visited:
                        save(l, f"layers/{key}")
            else:
                l = next(l for l in keras_layers if l.name == attributes[attr])
                if l.name not in visited:
                    save(l, attr)
        opt = f.create_group("optimizer").create_group("vars")
        opt["0"] = np.int64(12)


def keras_layers_of(layers, input_shape, functional, keras3):
    """model.layers as Keras lists it: a Sequential omits its InputLayer, a Functional model lists it."""
    ordered = keras_functional_order(layers, [layers[-1].name])
    if functional:
        inp = L("input_layer" if keras3 else "input_1", "InputLayer", [])
        ordered = [inp] + ordered
    return ordered


def write_expected(path, layers, input_shape, rng, batch=3):
    x = rng.uniform(-1, 1, (batch,) + tuple(input_shape)).astype(np.float32)
    y = forward(layers, x)
    with open(path, "w") as f:
        json.dump({"inputs": [[float(v) for v in row.ravel()] for row in x],
                   "outputs": [[round(float(v), 9) for v in row.ravel()] for row in y]}, f, indent=None)
        f.write("\n")


def main():
    os.makedirs(OUT, exist_ok=True)
    models = {
        "mlp": (mlp, 1, False),
        "cnn": (cnn, 2, False),
        "decoder": (decoder, 3, False),
        "tiny_resnet": (tiny_resnet, 4, True),
        "normalized": (normalized, 6, False),
        "inception": (inception, 5, True),
    }
    built = {}
    for key, (make, seed, functional) in models.items():
        layers, input_shape = make()
        rng = np.random.default_rng(seed)
        shapes_and_weights(layers, input_shape, rng)
        write_expected(os.path.join(OUT, f"{key}.expected.json"), layers, input_shape, rng)
        built[key] = (layers, input_shape, functional)

    def k2(key):
        layers, shape, functional = built[key]
        return keras_layers_of(layers, shape, functional, keras3=False)

    def k3(key):
        layers, shape, functional = built[key]
        return keras_layers_of(layers, shape, functional, keras3=True)

    # The InceptionLike trap: Keras' order is not the declaration order.
    order = [l.name for l in k3("inception")]
    assert order == ["input_layer", "in", "conv2d", "average_pooling2d", "b1", "b3", "bp", "mixed",
                     "top", "bottom", "concatenate", "flatten", "dense"], order

    write_keras2_weights(os.path.join(OUT, "mlp.keras2.h5"), k2("mlp"))
    write_keras2_weights(os.path.join(OUT, "mlp.chunked.keras2.h5"), k2("mlp"), chunks=2)
    write_legacy_model(os.path.join(OUT, "mlp.keras2-model.h5"), k2("mlp"), "2.15.0", ":0", "Sequential")
    write_legacy_model(os.path.join(OUT, "mlp.keras3-model.h5"), k3("mlp"), "3.6.0", "", "Sequential")
    write_keras3_weights(os.path.join(OUT, "mlp.weights.h5"), k3("mlp"), True, "sequential")
    write_keras2_weights(os.path.join(OUT, "cnn.keras2.h5"), k2("cnn"))
    write_keras3_weights(os.path.join(OUT, "cnn.weights.h5"), k3("cnn"), False, "sequential")
    write_keras2_weights(os.path.join(OUT, "decoder.keras2.h5"), k2("decoder"))
    write_keras3_weights(os.path.join(OUT, "decoder.weights.h5"), k3("decoder"), True, "sequential")
    write_keras2_weights(os.path.join(OUT, "tiny_resnet.keras2.h5"), k2("tiny_resnet"))
    write_keras3_weights(os.path.join(OUT, "tiny_resnet.weights.h5"), k3("tiny_resnet"), True, "functional")
    write_keras2_weights(os.path.join(OUT, "inception.keras2.h5"), k2("inception"))
    write_keras2_weights(os.path.join(OUT, "normalized.keras2.h5"), k2("normalized"))
    write_keras3_weights(os.path.join(OUT, "normalized.weights.h5"), k3("normalized"), False, "sequential")
    write_keras3_weights(os.path.join(OUT, "inception.weights.h5"), k3("inception"), False, "functional")
    # Error cases: a float64 and a float16 copy (converted on load), a copy with one layer's kernel of the wrong shape.
    write_dtype_variant(os.path.join(OUT, "mlp.float64.keras2.h5"), built["mlp"][0], np.float64)
    write_dtype_variant(os.path.join(OUT, "mlp.float16.weights.h5"), built["mlp"][0], np.float16, keras3=True)
    write_dtype_variant(os.path.join(OUT, "mlp.int32.keras2.h5"), built["mlp"][0], np.int32)
    write_keras_archive(os.path.join(OUT, "mlp.keras"), k3("mlp"))
    # class Mlp(keras.Model) holding its layers as self.encoder, self.mid, self.out: 'encoder'
    # sorts before 'layers', so dense is saved at /encoder, the others at layers/dense_1, dense_2.
    subclassed = {"encoder": "dense", "mid": "dense_1", "out": "dense_2"}
    write_keras3_subclassed(os.path.join(OUT, "mlp.subclassed.weights.h5"), k3("mlp"), subclassed, True)
    write_keras3_subclassed(os.path.join(OUT, "mlp.subclassed-3.5.weights.h5"), k3("mlp"), subclassed, False)
    with h5py.File(os.path.join(OUT, "not_keras.h5"), "w") as f:
        f["x"] = np.arange(4, dtype=np.float32)
    for name in sorted(os.listdir(OUT)):
        print(f"{os.path.getsize(os.path.join(OUT, name)):7d}  {name}")


def write_keras_archive(path, keras_layers):
    """saving_lib.save_model: a zip of config.json, metadata.json and model.weights.h5 (H5IOStore)."""
    import zipfile
    weights = os.path.join(OUT, ".model.weights.h5")
    write_keras3_weights(weights, keras_layers, True, "sequential")
    with open(weights, "rb") as f:
        data = f.read()
    os.remove(weights)
    with zipfile.ZipFile(path, "w") as z:
        # A fixed time stamp, so that running the script again rewrites the same bytes.
        for name, content in [("metadata.json", json.dumps({"keras_version": "3.6.0", "date_saved": "2026-01-01@00:00:00"})),
                              ("config.json", model_config(keras_layers, "Sequential")), ("model.weights.h5", data)]:
            z.writestr(zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0)), content)


def write_dtype_variant(path, layers, dtype, keras3=False):
    copies = []
    for l in layers:
        c = L(l.name, l.cls, l.inbound, **l.cfg)
        c.weights = [(n, v.astype(dtype)) for n, v in l.weights]
        copies.append(c)
    if keras3:
        write_keras3_weights(path, copies, True, "sequential")
    else:
        write_keras2_weights(path, copies)


if __name__ == "__main__":
    main()
