#!/usr/bin/env bash
# Two builds of Kiln side by side, for a change no in-process switch can pair (the worker pool's memory layout):
# builds the benchmark harness at two commits (git worktrees under a temporary folder), then runs `--only mlp
# --quick` (the MLP train steps at batch 32 and 256, and batch-1 Predict) of each in turn, the order alternating
# round by round, so a drift of the shared host's speed lands on both. Prints each build's figures per round,
# and the median over rounds of each round's ratio (first build's time over the second's: above 1, the second is faster).
# Usage: bash benchmarks/builds-rounds.sh BASE_COMMIT [NEW_COMMIT] [ROUNDS]   (NEW_COMMIT defaults to HEAD, ROUNDS to 10;
#   about 7 s a round on 2 CPUs)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
base="${1:?usage: builds-rounds.sh BASE_COMMIT [NEW_COMMIT] [ROUNDS]}"
new="${2:-HEAD}"
rounds="${3:-10}"
[[ "$rounds" =~ ^[1-9][0-9]?$ ]] || { echo "ROUNDS must be a whole number from 1 to 99 (is '$rounds')" >&2; exit 1; }
work="$(mktemp -d)"
trap 'git worktree remove --force "$work/a" 2>/dev/null || true; git worktree remove --force "$work/b" 2>/dev/null || true; rm -rf "$work"' EXIT
for side in a b; do
  commit=$([[ $side == a ]] && echo "$base" || echo "$new")
  git worktree add --detach -q "$work/$side" "$commit"
  dotnet build -c Release "$work/$side/benchmarks/Kiln.Benchmarks/Kiln.Benchmarks.csproj" -nologo -v quiet >/dev/null
done
echo "# $(date -u '+%Y-%m-%d %H:%M:%S') UTC, $(lscpu | sed -n 's/^Model name: *//p' | head -1), a = $(git rev-parse --short "$base"), b = $(git rev-parse --short "$new"), load $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$rounds"); do
  order=$( (( r % 2 )) && echo "a b" || echo "b a")
  for side in $order; do
    dotnet "$work/$side/benchmarks/Kiln.Benchmarks/bin/Release/net10.0/Kiln.Benchmarks.dll" --threads 2 --quick --only mlp \
      | grep -E '"work": "(train_b32|train_b256|infer_b1)"' | sed "s/^{/{\"round\": $r, \"side\": \"$side\", /"
  done
done | python3 -c '
import json, statistics, sys
t = {}
for line in sys.stdin:
    row = json.loads(line)
    us = row["ms_per_step"] * 1000 if "ms_per_step" in row else row["us_per_call"]
    t.setdefault(row["work"], {}).setdefault(row["round"], {})[row["side"]] = us
for work, by_round in t.items():
    full = [s for _, s in sorted(by_round.items()) if len(s) == 2]
    a, b = [s["a"] for s in full], [s["b"] for s in full]
    ratios = [x / y for x, y in zip(a, b)]
    q = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else ratios * 3
    print(f"{work}: a " + ", ".join(f"{x:.1f}" for x in a) + " µs; b " + ", ".join(f"{x:.1f}" for x in b)
          + f" µs; a/b per round: median {statistics.median(ratios):.3f}, quartiles {q[0]:.3f} and {q[2]:.3f}")
'
