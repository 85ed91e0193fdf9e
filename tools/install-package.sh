#!/bin/sh
# Installs a built rgru tarball into the first writable R library, creating the
# user library (R_LIBS_USER) when no library is writable.
set -eu
tarball=$1
lib=$(Rscript -e 'writable <- .libPaths()[file.access(.libPaths(), 2) == 0]
  if (length(writable)) cat(writable[1]) else {
    user <- Sys.getenv("R_LIBS_USER"); dir.create(user, recursive = TRUE, showWarnings = FALSE); cat(user)
  }')
echo "rgru: installing into ${lib}"
R CMD INSTALL --no-multiarch -l "${lib}" "${tarball}"
