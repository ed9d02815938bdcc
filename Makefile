# gardener-extension-provider-metal
#
# `make start` runs the main job, `make test` runs all tests (see README.md).

REPO_ROOT := $(shell dirname $(realpath $(lastword $(MAKEFILE_LIST))))
VERSION   := $(shell cat $(REPO_ROOT)/VERSION)
LD_FLAGS  := -X github.com/gardener/gardener/pkg/version.gitVersion=$(VERSION)
BINARIES  := gardener-extension-provider-metal gardener-extension-admission-metal machine-controller-manager-provider-metal

.PHONY: all
all: build

.PHONY: build
build:
	@mkdir -p bin
	@for b in $(BINARIES); do \
		go build -ldflags "$(LD_FLAGS)" -o bin/$$b ./cmd/$$b || exit 1; \
	done

.PHONY: envtest
envtest:
	@hack/envtest.sh

.PHONY: generate
generate:
	@hack/generate.sh

.PHONY: check-generate
check-generate:
	@hack/check-generate.sh

.PHONY: check
check:
	@hack/check.sh

.PHONY: test
test:
	@hack/test.sh

# `make test-faults` runs the end-to-end test with more fault rounds: ROUNDS (default 3) from SEED (default: the
# current time, printed for a replay with ROUNDS=1 SEED=<seed of the failed round>).
.PHONY: test-faults
test-faults:
	@hack/test-faults.sh $(ROUNDS) $(SEED)

.PHONY: bench
bench:
	@hack/bench.sh

# `make bench-scale ARGS="10 50"` picks the shoot counts (default 10 50 200).
.PHONY: bench-scale
bench-scale:
	@hack/bench-scale.sh $(ARGS)

.PHONY: verify
verify: check check-generate test

.PHONY: start
start:
	@hack/start.sh $(ARGS)

.PHONY: clean
clean:
	rm -rf bin .cache/tools
