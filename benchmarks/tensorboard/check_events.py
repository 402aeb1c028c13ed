"""Reads a Kiln TensorBoard log folder with TensorBoard's own code and checks what it sees.

    python3 benchmarks/tensorboard/check_events.py runs/fashion-cnn/logs

Needs the `tensorboard` package (pip install tensorboard; TensorFlow is not needed). Each
event file goes through TensorBoard's record reader (which checks both masked CRC-32Cs of every
record) and its event accumulator, which migrates v1 summaries (simple_value, histo, image)
into the tensors its plugins serve, as `tensorboard --logdir` does. Then, per run:
scalars: tag, steps; histograms: the [left, right, count] bins TensorBoard draws, checked to
count `num` values and to run from `min` to `max`; images: PNG size against the summary's;
graph: the GraphDef TensorBoard's Graphs tab receives (through its own graph preparation),
every input naming a node. Exits 1 on the first thing TensorBoard would not show as written.
"""

import os
import struct
import sys

from tensorboard.backend import process_graph
from tensorboard.backend.event_processing import event_file_loader
from tensorboard.backend.event_processing import plugin_event_accumulator as pea
from tensorboard.util import tensor_util


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


def check_run(run_dir):
    files = [f for f in os.listdir(run_dir) if f.startswith("events.out.tfevents.")]
    if not files:
        return
    raw = {}
    for name in files:
        # The raw v1 values, as written, to compare with what the plugins get after migration.
        for event in event_file_loader.LegacyEventFileLoader(os.path.join(run_dir, name)).Load():
            for value in event.summary.value:
                if value.HasField("histo"):
                    raw[(value.tag, event.step)] = value.histo
    acc = pea.EventAccumulator(run_dir, size_guidance={pea.TENSORS: 0})
    acc.Reload()
    tags = acc.Tags()
    print(f"{run_dir}: {len(files)} file(s)")
    by_plugin = {}
    for tag in tags["tensors"]:
        plugin = acc.SummaryMetadata(tag).plugin_data.plugin_name
        by_plugin.setdefault(plugin, []).append(tag)
    for plugin, plugin_tags in sorted(by_plugin.items()):
        print(f"  {plugin}: {len(plugin_tags)} tag(s), e.g. {', '.join(sorted(plugin_tags)[:4])}")
    for tag in by_plugin.get("histograms", []):
        for t in acc.Tensors(tag):
            bins = tensor_util.make_ndarray(t.tensor_proto)
            h = raw[(tag, t.step)]
            if bins.ndim != 2 or bins.shape[1] != 3:
                fail(f"{tag} step {t.step}: bins of shape {bins.shape}")
            if bins[:, 2].sum() != h.num:
                fail(f"{tag} step {t.step}: the bins count {bins[:, 2].sum()}, num is {h.num}")
            if bins[0, 0] != h.min or bins[-1, 1] != h.max:
                fail(f"{tag} step {t.step}: bins span [{bins[0, 0]}, {bins[-1, 1]}], min/max are [{h.min}, {h.max}]")
    for tag in by_plugin.get("images", []):
        for t in acc.Tensors(tag):
            width, height, png = tensor_util.make_ndarray(t.tensor_proto)[:3]
            if png[:8] != b"\x89PNG\r\n\x1a\n":
                fail(f"{tag} step {t.step}: not a PNG")
            w, h = struct.unpack(">II", png[16:24])
            if (w, h) != (int(width), int(height)):
                fail(f"{tag} step {t.step}: the PNG is {w}x{h}, the summary says {width}x{height}")
            print(f"  image {tag} step {t.step}: {w}x{h} PNG, {len(png)} bytes")
    if tags["graph"]:
        graph = acc.Graph()
        process_graph.prepare_graph_for_ui(graph)
        names = {n.name for n in graph.node}
        for n in graph.node:
            for source in n.input:
                if source not in names:
                    fail(f"graph: node {n.name} reads {source}, which is no node")
        scopes = sorted({n.name.rsplit("/", 1)[0] for n in graph.node if "/" in n.name})
        print(f"  graph: {len(graph.node)} nodes, {sum(len(n.input) for n in graph.node)} edges, scopes: {', '.join(scopes)}")
        for n in graph.node[:4]:
            shape = [d.size for d in n.attr["_output_shapes"].list.shape[0].dim]
            print(f"    {n.name} ({n.op}) <- {list(n.input)} {shape}")


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    logdir = sys.argv[1]
    for run in sorted(os.listdir(logdir)):
        if os.path.isdir(os.path.join(logdir, run)):
            check_run(os.path.join(logdir, run))
    print("ok: TensorBoard reads every record and shows what was written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
