#!/bin/sh
# The engine alone (bench/engine_only.cpp, no R) against PyTorch's nn.GRU, case by case
# in alternating turns (median of three each, one thread, process CPU time), to separate
# the engine's own speed from what a call from R adds (see README.md). The engine reuses
# its buffers across calls; PyTorch runs with glibc told to keep and reuse freed memory
# (MALLOC_*_THRESHOLD_), so that neither side pays for fresh pages. x86-64 with
# OpenBLAS (libopenblas0-pthread) and /usr/bin/python3 with torch; run from the package
# root:
#
#   sh bench/engine-vs-torch.sh "float32 inference 256 10 64 64" "float32 training 32 100 8 256" ...
set -e
out=${TMPDIR:-/tmp}/rgru-engine-vs-torch
mkdir -p "$out"
eigen=$(Rscript -e 'cat(system.file("include", package = "RcppEigen"))')
g++ -std=c++17 -O2 -w -fopenmp -DNDEBUG -DEIGEN_NO_DEBUG -DEIGEN_DONT_PARALLELIZE -Iinst/include \
  -Isrc -I"$eigen" bench/engine_only.cpp src/cpu/*.cpp -o "$out/engine_only" -l:libopenblas.so.0
export OPENBLAS_NUM_THREADS=1
median() { sort -g | sed -n 2p; }
echo "| dtype | mode | B | T | F | H | engine_ms | torch_ms | ratio |"
echo "|---|---|---|---|---|---|---|---|---|"
for case in "$@"; do
  set -- $case  # dtype mode B T F H
  : > "$out/ours"
  : > "$out/theirs"
  for turn in 1 2 3; do
    # ~0.3 s of engine calls: one timed call sizes the turn.
    one=$("$out/engine_only" "$3" "$4" "$5" "$6" "$2" "$1" 1 | sed 's/.*: \([0-9.]*\) ms.*/\1/')
    reps=$(awk -v t="$one" 'BEGIN { r = int(300 / (t + 1e-3)); print (r < 2 ? 2 : (r > 100000 ? 100000 : r)) }')
    "$out/engine_only" "$3" "$4" "$5" "$6" "$2" "$1" "$reps" | sed 's/.*: \([0-9.]*\) ms.*/\1/' >> "$out/ours"
    echo "$1 $2 $3 $4 $5 $6 0.3" |
      MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=268435456 \
      /usr/bin/python3 bench/bench_torch.py 1 |
      awk '{ printf "%.3f\n", $8 * 1e3 }' >> "$out/theirs"
  done
  ours=$(median < "$out/ours")
  theirs=$(median < "$out/theirs")
  awk -v o="$ours" -v t="$theirs" -v c="$*" 'BEGIN { split(c, f, " ");
    printf "| %s | %s | %s | %s | %s | %s | %.3f | %.3f | %.2f |\n", f[1], f[2], f[3], f[4], f[5], f[6], o, t, o / t }'
done
