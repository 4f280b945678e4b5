# The two commands of the README. Everything else is CMake presets (see CMakePresets.json).
#   make demo   build everything and play the local demo (control plane, Azure emulator, nodes, pods)
#   make test   install what is missing, build with ASan+UBSan, run every test (unit, integration, root)
SHELL := /bin/bash
PRESET ?= asan
JOBS ?= $(shell nproc)

.PHONY: all deps controlplane build test test-tsan demo format tidy clean

all: build

deps:
	./.ci/install-deps.sh

controlplane:
	@tests/controlplane/build.sh >/dev/null

build: deps
	cmake --preset $(PRESET) >/dev/null
	cmake --build --preset $(PRESET) -j $(JOBS)

test: build controlplane
	PODID_CONTROLPLANE_DIR=$$(tests/controlplane/build.sh) ctest --preset $(PRESET) -j 1

test-tsan:
	$(MAKE) test PRESET=tsan

demo: build controlplane
	PODID_CONTROLPLANE_DIR=$$(tests/controlplane/build.sh) ./tests/demo/run-demo.sh $(if $(KEEP),--keep,)

format:
	git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

tidy:
	cmake --preset tidy >/dev/null && cmake --build --preset tidy -j $(JOBS)

clean:
	rm -rf build
