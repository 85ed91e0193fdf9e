#!/bin/sh
# Builds and runs the CPU engine's checks without R (engine_check.cpp, and the convolution's,
# conv1d_check.cpp), twice:
# - on the public headers alone (inst/include) with Eigen's GEMM: what a package that
#   says `LinkingTo: rgru` gets;
# - with the R package's CPU setup (src/cpu/: SIMD kernels, AVX2 GEMM, block cache) and
#   OpenBLAS as the GEMM.
# Then checks that the files built for wider instruction sets share no out-of-line code
# with the rest of the library (src/cpu/simd.hpp), and checks the caching device allocator
# (src/cuda/device_pool.hpp) on a fake device, and the cuDNN backend's waits and algorithm
# retries (src/cuda/stream_wait.hpp, algorithm_policy.hpp) on stand-ins. Run from the
# package root; needs g++, Rscript (for RcppEigen's headers) and OpenBLAS
# (libopenblas0-pthread).
set -eu
out=${TMPDIR:-/tmp}/rgru-cpp-tests
mkdir -p "${out}"
eigen=$(Rscript -e 'cat(system.file("include", package = "RcppEigen"))')
flags="-std=c++17 -O2 -Wall -Wextra -fopenmp -DEIGEN_NO_DEBUG -DEIGEN_DONT_PARALLELIZE -isystem ${eigen}"

echo "== public headers, Eigen GEMM"
# shellcheck disable=SC2086
g++ ${flags} -Iinst/include tools/cpp-tests/engine_check.cpp -o "${out}/engine_check_headers"
"${out}/engine_check_headers"

echo "== the R package's CPU setup, OpenBLAS GEMM"
objects=""
for source in src/cpu/*.cpp; do
  object="${out}/$(basename "${source}" .cpp).o"
  # shellcheck disable=SC2086
  g++ ${flags} -fPIC -Iinst/include -c "${source}" -o "${object}"
  objects="${objects} ${object}"
done
# shellcheck disable=SC2086
g++ ${flags} -DRGRU_CPU_SETUP -Iinst/include -Isrc tools/cpp-tests/engine_check.cpp ${objects} \
  -o "${out}/engine_check_setup" -l:libopenblas.so.0
OPENBLAS_NUM_THREADS=1 "${out}/engine_check_setup"

echo "== 1-D convolution and max pooling (rgru/conv1d.hpp), public headers"
# shellcheck disable=SC2086
g++ ${flags} -Iinst/include tools/cpp-tests/conv1d_check.cpp -o "${out}/conv1d_check"
"${out}/conv1d_check"

echo "== 1-D convolution, the R package's CPU setup, OpenBLAS GEMM"
# shellcheck disable=SC2086
g++ ${flags} -DRGRU_CPU_SETUP -Iinst/include -Isrc tools/cpp-tests/conv1d_check.cpp ${objects} \
  -o "${out}/conv1d_check_setup" -l:libopenblas.so.0
OPENBLAS_NUM_THREADS=1 "${out}/conv1d_check_setup"

echo "== out-of-line code of the SIMD builds"
shared=""
for object in "${out}/kernels_avx2.o" "${out}/kernels_avx512.o" "${out}/eigen_gemm_avx2.o"; do
  # weak or unique symbols are the ones the linker may merge with other files' copies
  found=$(nm -C --defined-only "${object}" | awk '$2 ~ /^[WVu]$/' | grep -v 'rgru_eigen_avx2' |
    grep -v 'DW.ref.__gxx_personality_v0' || true)
  [ -z "${found}" ] || shared="${shared}${object}:\n${found}\n"
done
if [ -n "${shared}" ]; then
  printf 'FAIL mergeable symbols built for a wider instruction set:\n%b' "${shared}"
  exit 1
fi
echo "ok   no mergeable symbols outside the renamed Eigen"

echo "== the caching device allocator, on a fake device"
g++ -std=c++17 -O1 -Wall -Wextra -Isrc tools/cpp-tests/device_pool_check.cpp -o "${out}/device_pool_check"
"${out}/device_pool_check"

echo "== the cuDNN backend's waits and algorithm retries, on stand-ins"
g++ -std=c++17 -O1 -Wall -Wextra -Isrc tools/cpp-tests/cuda_policy_check.cpp -o "${out}/cuda_policy_check"
"${out}/cuda_policy_check"
