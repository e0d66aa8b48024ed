# kubectl-llmbench
GO        ?= go
BIN       := bin/kubectl-llmbench
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X github.com/llmbench/kubectl-llmbench/pkg/plugin.version=$(VERSION)
FUZZTIME  ?= 3s

.PHONY: build demo test unit fuzz vet bench e2e duckdb browser clean

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/kubectl-llmbench

# The whole experience with no cluster: simulated vLLM, TGI and Ollama.
demo: build
	./$(BIN) run --simulate --preset quick

# What CI runs: vet, every test (race detector on), and a short fuzz of each
# stream parser.
test: vet unit fuzz

vet:
	$(GO) vet ./...

unit:
	$(GO) test -race -count=1 ./...

fuzz:
	@for pkg in ./pkg/bench/ ./pkg/export/; do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "fuzz $$pkg $$f ($(FUZZTIME))"; \
			$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
		done; \
	done

# A real Ollama (built once from the Go module proxy and cached under
# $$LLMBENCH_CACHE or ~/.cache/kubectl-llmbench) and the simulator, checked
# the same way through the real binary. The first build takes ~4 minutes.
e2e:
	$(GO) test -tags e2e -count=1 -timeout 40m ./test/ollama/...

# DuckDB, an independent Parquet reader, checks the Parquet and CSV exports
# of a simulated run against summary.json.
duckdb:
	bash test/duckdb/run.sh

# Headless Chromium opens report.html offline: it renders, requests
# nothing from the network, and hostile model text stays text.
browser:
	$(GO) test -tags browser -count=1 ./test/browser/

# Speed and memory figures quoted in the README.
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./pkg/bench/...

clean:
	rm -rf bin results
