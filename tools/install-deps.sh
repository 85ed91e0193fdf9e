#!/bin/sh
# Makes sure R and the Debian packages rgru needs are present. As root on Debian/Ubuntu it
# installs what is missing with apt; otherwise it prints the exact command to run.
# devscripts gives R CMD check its checkbashisms (run on configure and cleanup).
set -eu

apt_packages="r-base-dev r-cran-rcpp r-cran-rcppeigen r-cran-cli r-cran-magrittr r-cran-r6 r-cran-hdf5r r-cran-jsonlite r-cran-testthat r-cran-withr libopenblas0-pthread devscripts"
r_packages="Rcpp RcppEigen cli magrittr R6 hdf5r jsonlite testthat withr"

missing_apt=""
if command -v dpkg-query >/dev/null 2>&1; then
  for pkg in ${apt_packages}; do
    if ! dpkg-query -W -f='${Status}' "${pkg}" 2>/dev/null | grep -q "install ok installed"; then
      missing_apt="${missing_apt} ${pkg}"
    fi
  done
fi

if [ -n "${missing_apt}" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "rgru: installing${missing_apt} with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends ${missing_apt} >/dev/null
  else
    echo "rgru: missing Debian packages:${missing_apt}" >&2
    echo "rgru: install them with: sudo apt-get install --no-install-recommends${missing_apt}" >&2
    exit 1
  fi
fi

if ! command -v Rscript >/dev/null 2>&1; then
  echo "rgru: R is not installed; install r-base-dev (Debian/Ubuntu) or R >= 4.2 from your vendor" >&2
  exit 1
fi

missing_r=$(Rscript -e "cat(setdiff(strsplit('${r_packages}', ' ')[[1]], rownames(installed.packages())))")
if [ -n "${missing_r}" ]; then
  echo "rgru: R packages missing: ${missing_r}" >&2
  echo "rgru: install them from your distribution (r-cran-<name>) or with install.packages()" >&2
  exit 1
fi
echo "rgru: dependencies present ($(Rscript -e 'cat(R.version.string)'))"
