# The two commands a fresh Debian 12 machine needs: `make up` and `make test`.
BUILD ?= build
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: deps build up down test unit e2e bench format clean deb fuzz

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

# Each fuzz target for 60 s (FUZZ_SECONDS=N to change); inputs that reach new code join the corpus.
fuzz: deps
	./scripts/fuzz.sh $${FUZZ_SECONDS:-60} --grow

bench: build
	$(SUDO) ./bench/run.sh

format:
	clang-format -i $$(git ls-files 'src/*.cpp' 'src/*.hpp' 'tests/*.cpp' 'tests/*.hpp')

clean:
	rm -rf $(BUILD)

# The Debian package berth_VERSION_ARCH.deb (CPack; cmake/package.cmake), left in $(BUILD).
deb: build
	@cd $(BUILD) && { cpack -G DEB >cpack.log 2>&1 || { cat cpack.log; exit 1; }; } && \
	  sed -n 's/^CPack: - package: \(.*\) generated\.$$/\1/p' cpack.log
