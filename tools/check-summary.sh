#!/bin/sh
# Summarises an R CMD check directory: its status line and the testthat counts.
# Fails when the check had an ERROR or WARNING or a test failed.
set -eu
check_dir=$1
log="${check_dir}/00check.log"
[ -f "${log}" ] || { echo "rgru: no check log at ${log}" >&2; exit 1; }
status=$(grep '^Status:' "${log}" | tail -n 1)
counts=$(sh "$(dirname "$0")/test-counts.sh" "${check_dir}")
passed=${counts% *}
failed=${counts#* }
grep -E '^\* checking .*\.\.\. (NOTE|WARNING|ERROR)' "${log}" || true
echo "R CMD check ${status:-Status: unknown (check did not finish)}"
echo "testthat: ${passed} passed, ${failed} failed"
case "${status}" in
  *ERROR*|*WARNING*|"") exit 1 ;;
esac
[ "${failed}" = 0 ] || exit 1
