#!/bin/sh
# Builds rgru with AddressSanitizer and UndefinedBehaviorSanitizer and runs its testthat
# suite; fails on any sanitizer report, test failure or crash. R itself is not built with
# the sanitizers, so gcc's libasan is preloaded (it must come first) and leak detection is
# off (R does not free everything at exit). UBSan reports go to stderr without stopping
# the run, so the script reads them there; an ASan report stops R, which the exit status
# shows. Under ASan the engine's block cache hands every block straight back
# (src/cpu/block_cache.cpp), so reads and writes past a request are caught.
#
#   sh tools/sanitize/run.sh            # from the package root; RGRU_CUDA=no is implied
#
# Logs stay in ${TMPDIR:-/tmp}/rgru-sanitize/.
set -u
cd "$(dirname "$0")/../.."
out=${TMPDIR:-/tmp}/rgru-sanitize
rm -rf "${out}"
mkdir -p "${out}/lib"

flags="-g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined"
cat > "${out}/Makevars" <<MAKEVARS
CXX17FLAGS = ${flags}
CXXFLAGS = ${flags}
CFLAGS = ${flags}
LDFLAGS = -fsanitize=address,undefined
MAKEVARS

# From a source tarball, so that no object file of an ordinary build is reused.
echo "rgru sanitize: building with ${flags}"
root=$(pwd)
if ! (cd "${out}" && R CMD build --no-build-vignettes --no-manual "${root}" > build.log 2>&1); then
  tail -n 30 "${out}/build.log"
  exit 1
fi
if ! R_MAKEVARS_USER="${out}/Makevars" RGRU_CUDA=no RGRU_DEBUG=yes \
    R CMD INSTALL --no-test-load --library="${out}/lib" "${out}"/rgru_*.tar.gz > "${out}/install.log" 2>&1; then
  tail -n 30 "${out}/install.log"
  echo "rgru sanitize: build failed (${out}/install.log)"
  exit 1
fi

libasan=$(gcc -print-file-name=libasan.so)
echo "rgru sanitize: running the tests with ${libasan} preloaded"
cd tests
LD_PRELOAD="${libasan}" \
  ASAN_OPTIONS="detect_leaks=0:allocator_may_return_null=1:abort_on_error=0" \
  UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=0" \
  R_LIBS="${out}/lib${R_LIBS:+:${R_LIBS}}" NOT_CRAN=true RGRU_SANITIZE=1 \
  Rscript -e '
    res <- as.data.frame(testthat::test_dir("testthat", package = "rgru",
      load_package = "installed", reporter = "summary", stop_on_failure = FALSE))
    failed <- sum(res$failed) + sum(res$error)
    cat(sprintf("testthat: %d passed, %d failed\n", sum(res$passed), failed))
    quit(status = if (failed > 0) 1 else 0)
  ' > "${out}/tests.log" 2> "${out}/stderr.log"
status=$?
cd ..

ubsan=$(grep -c "runtime error:" "${out}/stderr.log" "${out}/tests.log" | awk -F: '{ n += $2 } END { print n }')
asan=$(grep -c "ERROR: AddressSanitizer" "${out}/stderr.log" "${out}/tests.log" | awk -F: '{ n += $2 } END { print n }')
grep -h "^testthat:" "${out}/tests.log" || echo "testthat: the run did not finish"
echo "rgru sanitize: ${asan} AddressSanitizer and ${ubsan} UndefinedBehaviorSanitizer reports"
if [ "${ubsan}" -gt 0 ] || [ "${asan}" -gt 0 ]; then
  grep -h -A 12 "runtime error:\|ERROR: AddressSanitizer" "${out}/stderr.log" "${out}/tests.log" | head -n 80
  exit 1
fi
if [ "${status}" -ne 0 ]; then
  tail -n 40 "${out}/tests.log"
  tail -n 20 "${out}/stderr.log"
  echo "rgru sanitize: the test run failed (exit status ${status})"
  exit 1
fi
echo "rgru sanitize: clean"
