#!/usr/bin/env bash
# One command: build Kiln's benchmarks (Release), measure this machine's fp32 FMA peak, run Kiln,
# PyTorch at its best (every OpenBLAS core type this CPU runs, 1 and 2 threads, both memory formats)
# and ONNX Runtime (inference, from C#), and print a markdown table (~15 minutes on an idle 2-CPU machine).
# Usage: bash benchmarks/run.sh [--quick]   (--quick: 3 timed runs instead of 7)
#   KILN_BENCH_CORETYPES="Haswell SkylakeX"   only these OPENBLAS_CORETYPE values (default: every one
#                                             this CPU can run, plus OpenBLAS' own detection)
#   KILN_BENCH_ROUNDS=2                       run the Kiln/PyTorch interleave this many times (default 1);
#                                             each cell is the best of its rounds, on both sides
#   KILN_BENCH_PYTHON=/opt/venv/bin/python3   the Python whose PyTorch is the peer (default /usr/bin/python3,
#                                             Debian's torch on OpenBLAS); a pip wheel brings MKL and oneDNN
#   KILN_BENCH_NO_BUILD=1                     time the Release builds already in benchmarks/*/bin (a machine
#                                             with the .NET runtime but no SDK)
# Raw JSON lines go to benchmarks/results/ (git-ignored).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"
extra=()
[[ "${1:-}" == "--quick" ]] && extra=(--quick)
rounds="${KILN_BENCH_ROUNDS:-1}"
[[ "$rounds" =~ ^[1-9][0-9]?$ ]] || { echo "KILN_BENCH_ROUNDS must be a whole number from 1 to 99 (is '$rounds')" >&2; exit 1; }
python="${KILN_BENCH_PYTHON:-/usr/bin/python3}"
out="$here/results"
mkdir -p "$out"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
results="$out/results-$stamp.jsonl"
meta="$out/meta-$stamp.txt"

for project in Kiln.Benchmarks OnnxRuntimeBench; do
  [[ -n "${KILN_BENCH_NO_BUILD:-}" ]] && break
  dotnet build -c Release "benchmarks/$project/$project.csproj" -nologo -v quiet >"$out/build-$project-$stamp.log" 2>&1 \
    || { cat "$out/build-$project-$stamp.log"; echo "build of $project failed" >&2; exit 1; }
done
kiln=(dotnet benchmarks/Kiln.Benchmarks/bin/Release/net10.0/Kiln.Benchmarks.dll)
ort=(dotnet benchmarks/OnnxRuntimeBench/bin/Release/net10.0/OnnxRuntimeBench.dll)
"$python" -c 'import torch' 2>/dev/null \
  || { echo "PyTorch missing: apt-get install -y python3-torch libopenblas0-pthread" >&2; exit 1; }

# OpenBLAS 0.3.21's x86-64 core types with AVX2 or AVX-512 kernels (its DYNAMIC_ARCH list), kept when
# this CPU has the instructions they need. A name OpenBLAS cannot force falls back to its own
# detection, so each is probed (OPENBLAS_VERBOSE=2 prints the core it really loaded) and a core
# already covered is not run twice. "auto" is OpenBLAS' own choice (OPENBLAS_CORETYPE unset).
flags=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2) "
has() { for f in "$@"; do [[ "$flags" == *" $f "* ]] || return 1; done; }
candidates=(auto)
if [[ -n "${KILN_BENCH_CORETYPES:-}" ]]; then
  read -r -a wanted <<<"$KILN_BENCH_CORETYPES"
  candidates=("${wanted[@]}")
elif "$python" -c 'import sys, torch; sys.exit(0 if torch.backends.mkl.is_available() else 1)' 2>/dev/null; then
  # A pip wheel's torch multiplies on MKL: OPENBLAS_CORETYPE would only move numpy's OpenBLAS, and a second
  # "core type" would run the same PyTorch again and keep the faster of two noisy runs.
  :
else
  has avx2 fma && candidates+=(Haswell Zen)
  has avx512f avx512bw avx512vl avx512dq avx512cd && candidates+=(SkylakeX)
  has avx512f avx512bw avx512vl avx512dq avx512cd avx512_bf16 && candidates+=(Cooperlake)
fi
coretypes=()   # "requested:loaded" pairs, one per distinct loaded core
seen=" "
for c in "${candidates[@]}"; do
  if [[ "$c" == auto ]]; then probe=(env -u OPENBLAS_CORETYPE); else probe=(env "OPENBLAS_CORETYPE=$c"); fi
  loaded="$("${probe[@]}" OPENBLAS_VERBOSE=2 "$python" -c 'import torch; torch.mm(torch.ones(64, 64), torch.ones(64, 64))' 2>&1 \
            | sed -n 's/^Core: *//p' | head -1)"
  loaded="${loaded:-unknown}"
  if [[ "$seen" == *" $loaded "* ]]; then
    echo "OPENBLAS_CORETYPE=$c loads $loaded, already measured: skipped" >&2
    continue
  fi
  seen+="$loaded "
  coretypes+=("$c:$loaded")
done

{
  echo "date_utc=$(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  echo "cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)"
  echo "cpu_family_model=$(lscpu | sed -n 's/^Vendor ID: *//p' | head -1) family $(lscpu | sed -n 's/^CPU family: *//p' | head -1) model $(lscpu | sed -n 's/^Model: *//p' | head -1)"
  echo "nproc=$(nproc)"
  echo "commit=$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src benchmarks 2>/dev/null || echo '+uncommitted changes in src/ or benchmarks/')"
  echo "dotnet=$(dotnet --version 2>/dev/null || echo "no SDK (KILN_BENCH_NO_BUILD)")"
  echo "command=bash benchmarks/run.sh${1:+ $1}${KILN_BENCH_CORETYPES:+ (KILN_BENCH_CORETYPES=$KILN_BENCH_CORETYPES)}${KILN_BENCH_ROUNDS:+ (KILN_BENCH_ROUNDS=$KILN_BENCH_ROUNDS)}${KILN_BENCH_PYTHON:+ (KILN_BENCH_PYTHON=$KILN_BENCH_PYTHON)}${KILN_BENCH_NO_BUILD:+ (KILN_BENCH_NO_BUILD=$KILN_BENCH_NO_BUILD)}"
  echo "rounds=$rounds"
  echo "coretypes=${coretypes[*]}"
  # Left as found (not set or unset by this script); printed for the record.
  echo "KILN_SIMD=${KILN_SIMD-<unset>}"
  echo "OPENBLAS_L2_SIZE=${OPENBLAS_L2_SIZE-<unset>}"
  echo "OMP_WAIT_POLICY=${OMP_WAIT_POLICY-<unset>}"
  echo "DOTNET_EnableAVX512=${DOTNET_EnableAVX512-<unset>}"
  echo "ATEN_CPU_CAPABILITY=${ATEN_CPU_CAPABILITY-<unset>}"
  echo "ONEDNN_MAX_CPU_ISA=${ONEDNN_MAX_CPU_ISA-<unset>}"
  echo "uptime_before=$(uptime)"
  echo "load_before=$(cut -d' ' -f1-3 /proc/loadavg)"
} >"$meta"

round=   # set per round below; the peak and ONNX Runtime rows run once, untagged
tag() { sed "s/\"impl\": \"$1\"/\"impl\": \"$1\", \"config\": \"$2\"${3:+, \"coretype\": \"$3\"}${round:+, \"round\": $round}/"; }

# The FMA peak first, again at the end: the kernels' rows are read as a fraction of it, and a
# difference between the two says the machine's state moved during the run.
"${kiln[@]}" --only peak "${extra[@]}" | tag kiln peak >"$results"

# PyTorch allocates its activations and gradients afresh every step. With glibc's defaults, blocks
# over 128 KiB are mmapped and every free trims the heap, so each step page-faults its buffers in
# again: its Fashion CNN step ran 4.6x and its ResNet step 2.2x faster with these two raised (the
# mmap threshold to glibc's 32 MiB ceiling, the trim threshold out of reach). Kiln allocates nothing
# per step. Printed in the header.
malloc=(MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=4294967296)
echo "pytorch_malloc=${malloc[*]}" >>"$meta"

# Interleaved so slow drift in machine load hits every side alike: per thread count, Kiln (the MLP
# rows, then the convolution rows, in one process), then PyTorch under each core type (mlp.py then
# conv.py; conv.py runs both memory formats and keeps the faster). With several rounds the whole
# interleave repeats, so a noisy few minutes on a shared machine spoil one round of each side, not the
# comparison (report.py keeps each side's best round).
for ((round = 1; round <= rounds; round++)); do
  for t in 2 1; do
    "${kiln[@]}" --threads "$t" "${extra[@]}" | tag kiln "t$t" >>"$results"
    for pair in "${coretypes[@]}"; do
      requested="${pair%%:*}" loaded="${pair#*:}"
      if [[ "$requested" == auto ]]; then env=(env -u OPENBLAS_CORETYPE); label="auto ($loaded)"; else env=(env "OPENBLAS_CORETYPE=$requested"); label="$loaded"; fi
      "${env[@]}" "${malloc[@]}" OPENBLAS_NUM_THREADS="$t" OMP_NUM_THREADS="$t" "$python" benchmarks/pytorch/mlp.py --threads "$t" "${extra[@]}" \
        | tag pytorch "t$t" "$label" >>"$results"
      "${env[@]}" "${malloc[@]}" OPENBLAS_NUM_THREADS="$t" OMP_NUM_THREADS="$t" "$python" benchmarks/pytorch/conv.py --threads "$t" "${extra[@]}" \
        | tag pytorch "t$t" "$label" >>"$results"
    done
  done
done
round=

# Inference against ONNX Runtime: Kiln's Predict and ORT on the same exported weights, 1 and 2 threads.
"${ort[@]}" "${extra[@]}" >>"$results"

"${kiln[@]}" --only peak "${extra[@]}" | tag kiln peak_end >>"$results"
echo "uptime_after=$(uptime)" >>"$meta"
echo "load_after=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$meta"

"$python" benchmarks/report.py "$meta" "$results"
