# The two commands a fresh Debian 12 machine needs: `make up` and `make test`.
BUILD ?= build
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: deps build up down test unit e2e bench format clean

deps:
	$(SUDO) ./scripts/install-deps.sh

build: deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	ninja -C $(BUILD) berth berth_tests

up: build
	$(SUDO) ./scripts/up.sh

down:
	$(SUDO) ./scripts/down.sh

test: build
	$(SUDO) ./scripts/test.sh

bench: build
	$(SUDO) ./bench/run.sh

format:
	clang-format -i $$(git ls-files 'src/*.cpp' 'src/*.hpp' 'tests/*.cpp' 'tests/*.hpp')

clean:
	rm -rf $(BUILD)
