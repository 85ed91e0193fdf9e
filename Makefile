# Developer entry points (hidden from the R package by .Rbuildignore).
#   make demo          install rgru from this checkout and run the quick-start script
#   make check         build the source tarball and run R CMD check --as-cran on it, tests included
#   make cpp-tests     the C++ engine's checks without R (tools/cpp-tests/)
#   make linkingto     a package built on rgru's public headers alone (tools/linkingto-example/),
#                      against the rgru that `make check` installed
#   make sanitize      the test suite under AddressSanitizer and UBSan (tools/sanitize/)
#   make valgrind      a focused script under valgrind's memcheck (tools/valgrind/), before releases
# RGRU_CUDA=no|yes and CUDA_HOME pass through to configure (see README.md).

R ?= R
BUILD ?= build
VERSION := $(shell sed -n 's/^Version:[[:space:]]*//p' DESCRIPTION)
TARBALL := $(BUILD)/rgru_$(VERSION).tar.gz

.PHONY: deps tarball install demo check cpp-tests linkingto sanitize valgrind clean

deps:
	@sh tools/install-deps.sh

tarball: deps
	@mkdir -p $(BUILD)
	cd $(BUILD) && $(R) CMD build --no-manual --no-build-vignettes "$(CURDIR)"

install: tarball
	@sh tools/install-package.sh $(TARBALL)

demo: install
	Rscript -e 'source(system.file("examples", "quickstart.R", package = "rgru"))'

# --as-cran, offline: CRAN's incoming checks (the package's name, URLs, spelling against
# CRAN) need the network; everything else CRAN checks runs.
check: tarball
	cd $(BUILD) && NOT_CRAN=true _R_CHECK_FORCE_SUGGESTS_=false _R_CHECK_SYSTEM_CLOCK_=0 \
		_R_CHECK_CRAN_INCOMING_=false _R_CHECK_CRAN_INCOMING_REMOTE_=false \
		$(R) CMD check --as-cran --no-manual rgru_$(VERSION).tar.gz || true
	@sh tools/check-summary.sh $(BUILD)/rgru.Rcheck

cpp-tests:
	sh tools/cpp-tests/run.sh

linkingto:
	sh tools/linkingto-example/check.sh $(BUILD)/rgru.Rcheck

sanitize:
	sh tools/sanitize/run.sh

valgrind:
	sh tools/valgrind/run.sh

clean:
	rm -rf $(BUILD)
	sh ./cleanup
