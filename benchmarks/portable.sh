#!/usr/bin/env bash
# The benchmarks on a machine that has Python with PyTorch but no .NET SDK (a lent server with another
# CPU family): pack the .NET runtime and the Release builds here, copy the checkout there, run there.
#   here:  bash benchmarks/portable.sh pack DIR        builds Release and writes DIR/dotnet-runtime.tar.xz and
#                                                      DIR/builds.tar.xz (~35 MB; DIR is best git-ignored)
#   there: bash benchmarks/portable.sh run DIR [OUT]   unpacks them, then runs run.sh --quick, single Predict
#                                                      calls, the GAN rows and the CNN's inference layer by
#                                                      layer; with KILN_PORTABLE_WIDTHS=1 on an AVX-512 part,
#                                                      also sgemm on the 256-bit path beside the default. The
#                                                      log and the raw results go to OUT
# PyTorch there is the first python3 on PATH (KILN_BENCH_PYTHON overrides it); a pip wheel's torch runs on
# MKL and oneDNN, which report.py says in its header.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
mode="${1:-}" dir="${2:-}"
[[ "$mode" =~ ^(pack|run)$ && -n "$dir" ]] || { echo "usage: bash benchmarks/portable.sh pack|run DIR [OUT]" >&2; exit 2; }
projects=(Kiln.Benchmarks OnnxRuntimeBench GanBenchmark)

if [[ "$mode" == pack ]]; then
  set -e
  mkdir -p "$dir"
  for p in "${projects[@]}"; do dotnet build -c Release "benchmarks/$p/$p.csproj" -nologo -v quiet; done
  dotnet_root="$(dirname "$(readlink -f "$(command -v dotnet)")")"
  tar -C "$dotnet_root" -cf - dotnet host shared/Microsoft.NETCore.App | xz -T0 -6 >"$dir/dotnet-runtime.tar.xz"
  # ONNX Runtime's NuGet package brings every platform's native library; only linux-x64's travels.
  tar --exclude='*/runtimes/android' --exclude='*/runtimes/ios' --exclude='*/runtimes/linux-arm64' \
      --exclude='*/runtimes/osx-*' --exclude='*/runtimes/win-*' --exclude='*.pdb' --exclude='*.xml' -cf - \
      $(for p in "${projects[@]}"; do echo "benchmarks/$p/bin/Release"; done) | xz -T0 -6 >"$dir/builds.tar.xz"
  ls -la "$dir"
  exit 0
fi

out="${3:-$dir/out}"
mkdir -p "$out" benchmarks/results
exec > >(tee "$out/portable.log") 2>&1
save() { tar -czf "$out/results.tgz" benchmarks/results 2>/dev/null; }
t0=$(date +%s)
stage() { echo; echo "=== $1 at +$(( $(date +%s) - t0 )) s, load $(cut -d' ' -f1-3 /proc/loadavg)"; }

stage "machine"
date -u; uname -a; nproc; lscpu 2>/dev/null | grep -v '^Vulnerability' || head -30 /proc/cpuinfo
runtime="$(mktemp -d)"
tar -C "$runtime" -xJf "$dir/dotnet-runtime.tar.xz" && tar -xJf "$dir/builds.tar.xz" || exit 1
export PATH="$runtime:$PATH" DOTNET_ROOT="$runtime" DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
export KILN_BENCH_PYTHON="${KILN_BENCH_PYTHON:-$(command -v python3)}" KILN_BENCH_NO_BUILD=1
"$KILN_BENCH_PYTHON" -c 'import torch; print("torch", torch.__version__); print(torch.__config__.show())' | head -12
kiln=(dotnet benchmarks/Kiln.Benchmarks/bin/Release/net10.0/Kiln.Benchmarks.dll)

stage "run.sh --quick"
timeout "${KILN_PORTABLE_RUN_S:-420}" bash benchmarks/run.sh --quick; echo "run.sh rc $?"; save

stage "single Predict calls"
for t in 1 2; do timeout 60 "${kiln[@]}" --threads "$t" --quick --only calls; done; save

stage "GAN"
timeout "${KILN_PORTABLE_GAN_S:-180}" bash benchmarks/GanBenchmark/run.sh --quick; echo "GAN rc $?"; save

stage "Fashion CNN inference layer by layer"
timeout 60 "${kiln[@]}" --threads 1 --quick --only layers; save

if [[ -n "${KILN_PORTABLE_WIDTHS:-}" ]] && grep -qw avx512f /proc/cpuinfo; then
  stage "sgemm and the micro-kernel loop on the 256-bit path (KILN_SIMD=avx256), then the default"
  for simd in avx256 ""; do
    for t in 2 1; do KILN_SIMD=$simd timeout 60 "${kiln[@]}" --threads "$t" --quick --only sgemm,kernelloop; done
  done; save
fi
stage "done"
