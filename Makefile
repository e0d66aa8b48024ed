# kubectl-llmbench
GO        ?= go
BIN       := bin/kubectl-llmbench
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X github.com/llmbench/kubectl-llmbench/pkg/plugin.version=$(VERSION)
FUZZTIME  ?= 3s

.PHONY: build demo test unit fuzz vet bench clean

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
	@for f in $$($(GO) test -list '^Fuzz' ./pkg/bench/ | grep '^Fuzz'); do \
		echo "fuzz $$f ($(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) ./pkg/bench/ || exit 1; \
	done

# Speed and memory figures quoted in the README.
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./pkg/bench/...

clean:
	rm -rf bin results
