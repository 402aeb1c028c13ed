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
#   there: bash benchmarks/portable.sh probe DIR [OUT] unpacks them, then only the short probes of what limits
#                                                      the rows run.sh leaves short (~5 min, no PyTorch): the
#                                                      micro-kernels on L1 panels, sgemm under other cache
#                                                      blocks, the MLP step phase by phase, the pool's wake-up,
#                                                      paired settings, ONNX Runtime at 1 and 2 threads
# PyTorch there is the first python3 on PATH (KILN_BENCH_PYTHON overrides it); a pip wheel's torch runs on
# MKL and oneDNN, which report.py says in its header.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
mode="${1:-}" dir="${2:-}"
[[ "$mode" =~ ^(pack|run|probe)$ && -n "$dir" ]] || { echo "usage: bash benchmarks/portable.sh pack|run|probe DIR [OUT]" >&2; exit 2; }
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
kiln=(dotnet benchmarks/Kiln.Benchmarks/bin/Release/net10.0/Kiln.Benchmarks.dll)

if [[ "$mode" == probe ]]; then
  # Each probe is short and separately timed out, so a slow machine loses the last ones, not the log.
  stage "FMA peak and the micro-kernels on L1-resident panels (1 thread)"
  timeout 60 "${kiln[@]}" --threads 1 --quick --only peak,kernelloop

  # The machine's own blocks first (the header names them), then others around them, each its own process,
  # twice in turn so that drift in the host's speed reaches every configuration.
  stage "sgemm under other GEMM cache blocks (KC,MC,NC; 1 and 2 threads)"
  for round in 1 2; do
    for blocks in "" 192,384,8192 384,384,8192 256,192,8192 256,768,8192 128,384,8192; do
      for t in 1 2; do
        echo "# blocks '${blocks:-default}' threads $t round $round"
        KILN_GEMM_BLOCKING=$blocks timeout 60 "${kiln[@]}" --threads "$t" --quick --only sgemm | grep -v '"header"'
      done
    done
  done; save

  stage "the MLP step phase by phase (1 and 2 threads; then on 256-bit vectors where the CPU has 512)"
  for t in 1 2; do timeout 60 "${kiln[@]}" --threads "$t" --quick --only phases,mlpops | grep -v '"header"'; done
  # Stop 40 read the Intel part's batch-32 forward at 254 µs for 17 MFLOP, where Zen 3's 2 threads take 159:
  # whether the 512-bit tiles are what costs it on products only 32 rows tall, and which dense call (mlpops).
  if grep -qw avx512f /proc/cpuinfo; then
    for t in 1 2; do KILN_SIMD=avx256 timeout 60 "${kiln[@]}" --threads "$t" --quick --only phases,mlpops | grep -v '"header"'; done
  fi

  stage "the worker pool's wake-up after serial gaps (2 threads)"
  timeout 60 "${kiln[@]}" --threads 2 --quick --only wake | grep -v '"header"'

  stage "paired settings on the MLP step (2 threads): the optimizer on one thread, the batch-32 products on one, a worker that sleeps at once"
  timeout 40 "${kiln[@]}" --threads 2 --paired mlp32,optimizer-parallel-min,32768,1000000000,15 | grep -v '"header"'
  timeout 40 "${kiln[@]}" --threads 2 --paired mlp256,optimizer-parallel-min,32768,1000000000,15 | grep -v '"header"'
  timeout 40 "${kiln[@]}" --threads 2 --paired mlp32,parallel-min-flops,1048576,67108864,15 | grep -v '"header"'
  timeout 40 "${kiln[@]}" --threads 2 --paired mlp32,pool-yield-us,2000,0,15 | grep -v '"header"'

  # Stop 46 kept the F(4×4) transforms in registers from Zen 5's figures alone (CIFAR net 1.06, CNN 1.02;
  # 0.86 where the JIT has only 16 vector registers): whether the Intel part with its 32 agrees.
  stage "paired settings on the conv steps (2 threads): the Winograd transforms in registers against scratch"
  timeout 40 "${kiln[@]}" --threads 2 --paired cifar,winograd-registers,0,1,15 | grep -v '"header"'
  timeout 40 "${kiln[@]}" --threads 2 --paired cnn,winograd-registers,0,1,15 | grep -v '"header"'

  stage "ONNX Runtime against Predict, 1 and 2 threads"
  timeout 120 dotnet benchmarks/OnnxRuntimeBench/bin/Release/net10.0/OnnxRuntimeBench.dll --runs 9

  stage "single Predict calls (2 threads)"
  timeout 60 "${kiln[@]}" --threads 2 --quick --only calls | grep -v '"header"'
  stage "done"
  exit 0
fi

"$KILN_BENCH_PYTHON" -c 'import torch; print("torch", torch.__version__); print(torch.__config__.show())' | head -12

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
