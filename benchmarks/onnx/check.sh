#!/usr/bin/env bash
# A second opinion on Kiln's ONNX export, beside tests/Kiln.Onnx.Tests (which runs every model in
# ONNX Runtime and checks the checker's rules itself): ONNX's own checker, from Debian's python3-onnx
# (onnx 1.12, the release of opset 17), with full_check (strict shape inference) on every model the
# tests export, plain and with BatchNormalization folded. Not in CI: it needs the Debian package.
# Usage: bash benchmarks/onnx/check.sh   (apt-get install -y python3-onnx first)
# The exported files go to benchmarks/results/onnx/ (git-ignored).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here/../.."
python=/usr/bin/python3
"$python" -c "import onnx" 2>/dev/null || { echo "python3-onnx is missing: apt-get install -y python3-onnx" >&2; exit 1; }
models="$here/../results/onnx"
rm -rf "$models"
mkdir -p "$models"
KILN_ONNX_EXPORT_DIR="$models" dotnet test tests/Kiln.Onnx.Tests -c Release -nologo -v quiet \
  --filter "FullyQualifiedName~OnnxRuntimeComputesWhatPredictDoes|FullyQualifiedName~FoldedBatchNormalizationComputesTheSame"
"$python" - "$models" <<'PY'
import glob, os, sys
import onnx
from onnx import checker, shape_inference

files = sorted(glob.glob(os.path.join(sys.argv[1], "*.onnx")))
if not files:
    sys.exit("no exported models found")
failed = 0
for path in files:
    name = os.path.basename(path)
    try:
        model = onnx.load(path)
        checker.check_model(model, full_check=True)
        # Strict shape inference fails on any node whose input shapes or types its operator rejects.
        shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
        declared = {o.name: [d.dim_param or d.dim_value for d in o.type.tensor_type.shape.dim] for o in model.graph.output}
        opset = [(i.domain, i.version) for i in model.opset_import]
        assert opset == [("", 17)], f"opset {opset}"
        print(f"ok      {name}: {len(model.graph.node)} nodes, outputs {declared}")
    except Exception as e:  # report every file, then fail
        failed += 1
        print(f"FAILED  {name}: {e}")
print(f"onnx {onnx.__version__}: {len(files) - failed} of {len(files)} models pass the checker")
sys.exit(1 if failed else 0)
PY
