#!/usr/bin/env bash
# Coverage-guided fuzzing of one Kiln reader with SharpFuzz + afl++ (Debian: apt-get install afl++;
# dotnet tool install --global SharpFuzz.CommandLine). Not CI: run by hand, read out/<target>/.
#   bash benchmarks/Fuzz/fuzz.sh images 600     # target (images|idx|weights|checkpoint), seconds
set -euo pipefail
target=${1:-images}; seconds=${2:-600}
here=$(cd "$(dirname "$0")" && pwd)
out=$here/out/$target; bin=$here/out/bin
mkdir -p "$out"
# A fresh publish each time: instrumenting twice, or not at all after a copy, breaks the run.
rm -rf "$bin"
dotnet publish "$here/Fuzz.csproj" -c Release -o "$bin" -v quiet -nologo
# Seeds first: instrumented code crashes when it runs outside afl.
rm -rf "$out/seeds"; dotnet "$bin/Fuzz.dll" "$target" --seeds "$out/seeds"
# Instrument what is fuzzed: Kiln's readers and the image decoder under them.
for dll in Kiln.Runtime.dll StbImageSharp.dll; do sharpfuzz "$bin/$dll"; done
export AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_SKIP_CPUFREQ=1 AFL_NO_AFFINITY=1
# -t: a 5 s hang limit, as the issue's run; -m none: .NET reserves far more than it uses.
timeout "$seconds" afl-fuzz -i "$out/seeds" -o "$out/findings" -t 5000 -m none -- dotnet "$bin/Fuzz.dll" "$target" || true
cat "$out/findings/default/fuzzer_stats" 2>/dev/null | grep -E "execs_done|execs_per_sec|corpus_count|saved_crashes|saved_hangs|bitmap_cvg|run_time" || true
