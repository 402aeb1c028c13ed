# Sourced by conv-rounds.sh, conv2d-rounds.sh and mlp-rounds.sh with the rounds argument: checks it, finds
# PyTorch, builds the benchmark harness (unless KILN_BENCH_NO_BUILD), and sets rounds, python, coretype,
# malloc and out (the JSON lines file, named by the caller's NAME) in the repository root; defines tagged.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
rounds="${1:-4}"
[[ "$rounds" =~ ^[1-9][0-9]?$ ]] || { echo "ROUNDS must be a whole number from 1 to 99 (is '$rounds')" >&2; exit 1; }
python="${KILN_BENCH_PYTHON:-/usr/bin/python3}"
coretype="${KILN_BENCH_CORETYPE:-SkylakeX}"
"$python" -c 'import torch' 2>/dev/null \
  || { echo "PyTorch missing: apt-get install -y python3-torch libopenblas0-pthread" >&2; exit 1; }
[[ -n "${KILN_BENCH_NO_BUILD:-}" ]] || dotnet build -c Release benchmarks/Kiln.Benchmarks/Kiln.Benchmarks.csproj -nologo -v quiet >/dev/null
malloc=(MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=4294967296)   # as run.sh gives PyTorch
mkdir -p benchmarks/results
out="benchmarks/results/${NAME}-$(date -u +%Y%m%dT%H%M%SZ).jsonl"
echo "# $(date -u '+%Y-%m-%d %H:%M:%S') UTC, $(lscpu | sed -n 's/^Model name: *//p' | head -1), commit $(git rev-parse --short HEAD), load $(cut -d' ' -f1-3 /proc/loadavg)"

# tagged ROUND SIDE: the rows of stdin that match the caller's $rows, each tagged with its round and side.
tagged() { grep -E "$rows" | sed "s/^{/{\"round\": $1, \"side\": \"$2\", /"; }
