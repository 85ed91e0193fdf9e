#!/bin/sh
# Proves that rgru's public C++ headers are enough for another package: installs this
# example package (LinkingTo: rgru) against an installed rgru, and compares its engine
# call with rgru's own layer_gru(). Usage, from rgru's root:
#
#   sh tools/linkingto-example/check.sh [LIBRARY_WITH_RGRU]
#
# (default: the library R finds rgru in). The example builds in a temporary library.
set -eu
if [ $# -ge 1 ]; then
  R_LIBS="$1${R_LIBS:+:${R_LIBS}}"
  export R_LIBS
fi
lib=$(mktemp -d "${TMPDIR:-/tmp}/rgru-linkingto.XXXXXX")
trap 'rm -rf "${lib}"' EXIT
R CMD INSTALL --no-test-load --library="${lib}" tools/linkingto-example
R_LIBS="${lib}:${R_LIBS:-}" Rscript -e '
  library(rgru)
  set.seed(1)
  x <- array(stats::rnorm(5 * 7 * 3), c(5, 7, 3))
  g <- layer_gru(units = 4, dtype = "float64")
  y <- g(x)
  w <- get_weights(g)
  got <- rgrulinkingto::gru_final_state(x, w[[1]], w[[2]], w[[3]])
  stopifnot(identical(dim(got), dim(y)), max(abs(got - y)) < 1e-12)
  cat("rgrulinkingto: the engine from the public headers matches layer_gru()\n")
'
