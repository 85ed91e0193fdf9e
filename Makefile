# Developer entry points (hidden from the R package by .Rbuildignore).
#   make demo    install rgru from this checkout and run the quick-start script
#   make check   build the source tarball and run R CMD check on it, tests included
# RGRU_CUDA=no|yes and CUDA_HOME pass through to configure (see README.md).

R ?= R
BUILD ?= build
VERSION := $(shell sed -n 's/^Version:[[:space:]]*//p' DESCRIPTION)
TARBALL := $(BUILD)/rgru_$(VERSION).tar.gz

.PHONY: deps tarball install demo check clean

deps:
	@sh tools/install-deps.sh

tarball: deps
	@mkdir -p $(BUILD)
	cd $(BUILD) && $(R) CMD build --no-manual --no-build-vignettes "$(CURDIR)"

install: tarball
	@sh tools/install-package.sh $(TARBALL)

demo: install
	Rscript -e 'source(system.file("examples", "quickstart.R", package = "rgru"))'

check: tarball
	cd $(BUILD) && NOT_CRAN=true _R_CHECK_FORCE_SUGGESTS_=false _R_CHECK_SYSTEM_CLOCK_=0 \
		$(R) CMD check --no-manual rgru_$(VERSION).tar.gz || true
	@sh tools/check-summary.sh $(BUILD)/rgru.Rcheck

clean:
	rm -rf $(BUILD)
	sh ./cleanup
