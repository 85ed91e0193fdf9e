#!/bin/sh
# Prints "PASSED FAILED" from an R CMD check directory's testthat transcript
# (tests/testthat.Rout, or tests/testthat.Rout.fail when the tests failed).
set -eu
check_dir=$1
for transcript in "${check_dir}/tests/testthat.Rout.fail" "${check_dir}/tests/testthat.Rout"; do
  if [ -f "${transcript}" ]; then
    line=$(grep -E '^\[ FAIL [0-9]+ \| WARN [0-9]+ \| SKIP [0-9]+ \| PASS [0-9]+ \]' "${transcript}" | tail -n 1)
    if [ -n "${line}" ]; then
      echo "${line}" | sed -E 's/^\[ FAIL ([0-9]+) \| WARN [0-9]+ \| SKIP [0-9]+ \| PASS ([0-9]+) \]$/\2 \1/'
      exit 0
    fi
  fi
done
# No transcript with a summary: the tests did not run to the end.
echo "0 1"
