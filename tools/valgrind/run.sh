#!/bin/sh
# Runs tools/valgrind/engine.R under valgrind's memcheck on rgru built with debug
# information, and fails on any memcheck error. Run it before releases (it takes several
# minutes: valgrind runs the code ~50 times slower):
#
#   sh tools/valgrind/run.sh            # from the package root; RGRU_CUDA=no is implied
#
# Leaks are not checked (R does not free everything at exit). On a CPU with AVX-512,
# valgrind hides those instructions and rgru runs its AVX2 kernels.
set -u
cd "$(dirname "$0")/../.."
command -v valgrind >/dev/null 2>&1 || { echo "rgru valgrind: install valgrind (apt-get install valgrind)" >&2; exit 1; }
out=${TMPDIR:-/tmp}/rgru-valgrind
rm -rf "${out}"
mkdir -p "${out}/lib"
echo "rgru valgrind: building with debug information"
root=$(pwd)
if ! (cd "${out}" && R CMD build --no-build-vignettes --no-manual "${root}" > build.log 2>&1); then
  tail -n 30 "${out}/build.log"
  exit 1
fi
if ! RGRU_CUDA=no RGRU_DEBUG=yes R CMD INSTALL --no-test-load --library="${out}/lib" \
    "${out}"/rgru_*.tar.gz > "${out}/install.log" 2>&1; then
  tail -n 30 "${out}/install.log"
  exit 1
fi
echo "rgru valgrind: running tools/valgrind/engine.R"
R_LIBS="${out}/lib${R_LIBS:+:${R_LIBS}}" R --vanilla --quiet \
  -d "valgrind --tool=memcheck --error-exitcode=1 --leak-check=no --track-origins=yes" \
  -f tools/valgrind/engine.R > "${out}/valgrind.log" 2>&1
status=$?
grep "ERROR SUMMARY" "${out}/valgrind.log" | tail -n 1
grep -q "valgrind script: done" "${out}/valgrind.log" || { tail -n 40 "${out}/valgrind.log"; status=1; }
if [ "${status}" -ne 0 ]; then
  grep -B 2 -A 20 "Invalid\|uninitialised\|Mismatched\|Conditional jump" "${out}/valgrind.log" | head -n 80
  echo "rgru valgrind: errors (full log: ${out}/valgrind.log)"
  exit 1
fi
echo "rgru valgrind: no errors"
