# Developer entry points. `make help` lists them. Builds use CMake presets (CMakePresets.json).
SHELL := /bin/bash
PRESET ?= asan
JOBS ?= $(shell nproc)

.PHONY: help deps controlplane build test test-tsan demo verify format tidy clean

help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 16

deps: ## Install the Debian packages the build and tests need (root)
	./.ci/install-deps.sh

controlplane: ## Build kube-apiserver, etcd and Helm from their Go modules into ~/.cache/podid (cached)
	@tests/controlplane/build.sh >/dev/null
	@tests/helm/build.sh >/dev/null

build: deps ## Configure and build (PRESET=asan by default; dev, release, tsan, tidy)
	cmake --preset $(PRESET) >/dev/null
	cmake --build --preset $(PRESET) -j $(JOBS)

test: build controlplane ## Build with ASan+UBSan and run every test (unit, integration, root) through CTest
	PODID_CONTROLPLANE_DIR=$$(tests/controlplane/build.sh) ctest --preset $(PRESET) -j 1

# The concurrent parts: the event log (appends from several threads, decoding on a helper thread), the HTTP
# client/server, the node proxy's snapshot source and token cache, metrics, the projection they feed.
TSAN_TESTS := core_unit_tests podid_store_unit_tests podid_property_tests http_unit_tests nodeproxy_unit_tests
empty :=
space := $(empty) $(empty)

test-tsan: deps ## Build and run the concurrent parts' tests under ThreadSanitizer
	cmake --preset tsan >/dev/null
	cmake --build --preset tsan -j $(JOBS) --target $(TSAN_TESTS)
	ctest --preset tsan -R '^($(subst $(space),|,$(TSAN_TESTS)))$$'


demo: deps controlplane ## Play the local demo as root (KEEP=1 keeps the cluster running)
	cmake --preset $(PRESET) >/dev/null
	cmake --build --preset $(PRESET) -j $(JOBS) --target podid-demo
	PODID_CONTROLPLANE_DIR=$$(tests/controlplane/build.sh) PRESET=$(PRESET) ./tests/demo/run-demo.sh $(if $(KEEP),--keep,)

verify: ## Formatting, clang-tidy, and generated files unchanged
	git ls-files '*.cpp' '*.hpp' | xargs -r clang-format --dry-run -Werror
	cd tests/controlplane && GOWORK=off GOFLAGS=-mod=mod go mod verify >/dev/null
	cd tests/helm && GOWORK=off GOFLAGS=-mod=mod go mod verify >/dev/null
	$(MAKE) tidy

format: ## Format every C++ file
	git ls-files '*.cpp' '*.hpp' | xargs -r clang-format -i

tidy: ## Build with clang-tidy
	cmake --preset tidy >/dev/null && cmake --build --preset tidy -j $(JOBS)

clean: ## Remove the build trees
	rm -rf build
