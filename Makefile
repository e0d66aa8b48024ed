# kubectl-llmbench
GO        ?= go
BIN       := bin/kubectl-llmbench
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X github.com/llmbench/kubectl-llmbench/pkg/plugin.version=$(VERSION)
# A count, not a duration: with -fuzztime 3s, go1.26's fuzz coordinator can
# report a spurious "context deadline exceeded" at the deadline under CPU
# load (golang/go#75804, fixed in go1.27); a count has no deadline to race.
FUZZTIME  ?= 50000x

.PHONY: build demo test unit fuzz vet bench fidelity e2e duckdb browser vendor-uplot cluster cluster-netns envtest-assets helm clean dist krew image

# A real kube-apiserver, etcd and kube-controller-manager for the cluster
# tests, built from the Go module proxy through the wrapper module in
# hack/envtest-assets and cached; ~8 minutes cold on 2 cores, nothing when
# cached.
K8S_VERSION   ?= v1.37.2
ENVTEST_ASSETS ?= $(or $(LLMBENCH_CACHE),$(HOME)/.cache/kubectl-llmbench)/envtest-$(K8S_VERSION)
K8S_LDFLAGS := -s -w \
	-X k8s.io/component-base/version.gitVersion=$(K8S_VERSION) \
	-X k8s.io/component-base/version.gitMajor=1 \
	-X k8s.io/component-base/version.gitMinor=$(word 2,$(subst ., ,$(K8S_VERSION))) \
	-X k8s.io/component-base/version.gitTreeState=clean \
	-X k8s.io/client-go/pkg/version.gitVersion=$(K8S_VERSION) \
	-X k8s.io/client-go/pkg/version.gitMajor=1 \
	-X k8s.io/client-go/pkg/version.gitMinor=$(word 2,$(subst ., ,$(K8S_VERSION)))

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
	@for pkg in ./pkg/bench/engine/ ./pkg/bench/scrape/ ./pkg/bench/workload/ ./pkg/export/; do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "fuzz $$pkg $$f ($(FUZZTIME))"; \
			$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
		done; \
	done

# A real Ollama of each release in OLLAMA_VERSIONS (built once from the Go
# module proxy and cached under $$LLMBENCH_CACHE or ~/.cache/kubectl-llmbench)
# and the simulator imitating that release, checked the same way through the
# real binary. A cold build takes ~4 minutes (v0.11.4) and ~6–11 (v0.24.0).
OLLAMA_VERSIONS ?= 0.11.4 0.24.0

e2e:
	@for v in $(OLLAMA_VERSIONS); do \
		echo "e2e: Ollama v$$v"; \
		LLMBENCH_OLLAMA_VERSION=$$v $(GO) test -tags e2e -count=1 -timeout 40m ./test/ollama/... || exit 1; \
	done

# DuckDB, an independent Parquet reader, checks the Parquet and CSV exports
# of a simulated run against summary.json.
duckdb:
	bash test/duckdb/run.sh

# Headless Chromium opens report.html offline: it renders, requests
# nothing from the network, and hostile model text stays text.
browser:
	$(GO) test -tags browser -count=1 ./test/browser/

# uPlot, which draws report.html's interactive charts, is committed in
# templates/vendor/uplot (nothing is fetched at build or view time). This
# fetches the pinned version again with npm and fails unless every file
# matches its recorded sha256 (templates/vendor/uplot/README.md).
UPLOT_VERSION := 1.6.32
UPLOT_DIR     := templates/vendor/uplot
UPLOT_SUMS    := \
	19c8d4c6ad88929a79f4ae49d6f7161566dfd0ba3d15cc495e974f787eb78f1f=uPlot.iife.min.js \
	df630c6a8d6f8eeaff264b50f73ce5b114f646ffd9a0bb74f049b0a00135fa04=uPlot.min.css \
	8f989229699b4fe2f1a0432d0e9edc338a8a911e250e2d1b01ecd770a5f5b1bd=LICENSE

vendor-uplot:
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	(cd "$$tmp" && npm pack --silent uplot@$(UPLOT_VERSION) >/dev/null && tar xzf uplot-$(UPLOT_VERSION).tgz); \
	for f in uPlot.iife.min.js uPlot.min.css; do cp "$$tmp/package/dist/$$f" $(UPLOT_DIR)/$$f; done; \
	cp "$$tmp/package/LICENSE" $(UPLOT_DIR)/LICENSE; \
	for s in $(UPLOT_SUMS); do sum=$${s%%=*}; f=$${s#*=}; \
		echo "$$sum  $(UPLOT_DIR)/$$f" | sha256sum --check --quiet - || { echo "vendor-uplot: $$f does not match its recorded sha256"; exit 1; }; \
	done; \
	echo "vendor-uplot: uPlot $(UPLOT_VERSION) in $(UPLOT_DIR), sha256 verified"

# How far the client's stamps sit from the true emission of each byte
# (TTFT, every token, ITL, E2E) for vLLM SSE, TGI generate_stream and Ollama
# NDJSON in their nasty framings, against loopback servers that log each
# write; bounded by the loopback's own read latency, measured in the same
# run. Without the race detector and one package at a time, so that the
# figures are the client's, not the instrumentation's.
fidelity:
	$(GO) test -tags fidelity -count=1 -p 1 -v ./test/fidelity/

# Speed and memory figures quoted in the README.
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./pkg/bench/...

envtest-assets: $(ENVTEST_ASSETS)/kube-apiserver $(ENVTEST_ASSETS)/etcd $(ENVTEST_ASSETS)/kube-controller-manager

$(ENVTEST_ASSETS)/kube-apiserver:
	mkdir -p $(ENVTEST_ASSETS)
	cd hack/envtest-assets && CGO_ENABLED=0 $(GO) build -ldflags '$(K8S_LDFLAGS)' -o $@.tmp k8s.io/kubernetes/cmd/kube-apiserver && mv $@.tmp $@

# The real Job controller and garbage collector for the --in-cluster
# tests; ~1 minute more once kube-apiserver is built (shared packages).
$(ENVTEST_ASSETS)/kube-controller-manager:
	mkdir -p $(ENVTEST_ASSETS)
	cd hack/envtest-assets && CGO_ENABLED=0 $(GO) build -ldflags '$(K8S_LDFLAGS)' -o $@.tmp k8s.io/kubernetes/cmd/kube-controller-manager && mv $@.tmp $@

$(ENVTEST_ASSETS)/etcd:
	mkdir -p $(ENVTEST_ASSETS)
	cd hack/envtest-assets && CGO_ENABLED=0 $(GO) build -ldflags '-s -w' -o $@.tmp go.etcd.io/etcd/server/v3 && mv $@.tmp $@

# Discovery, access (Route, Ingress, NodePort, port-forward through a fake
# kubelet, service proxy into a network namespace when root) and validate,
# against the real API server.
cluster: envtest-assets
	KUBEBUILDER_ASSETS=$(ENVTEST_ASSETS) LLMBENCH_HELM=$$(HELM_VERSION=$(HELM_VERSION) bash test/helm/run.sh --bin) \
		$(GO) test -tags cluster -count=1 -timeout 20m ./test/cluster/...

# The API server's service proxy, into simulators in network namespaces
# the script creates and deletes (root; skipped otherwise).
cluster-netns: envtest-assets
	KUBEBUILDER_ASSETS=$(ENVTEST_ASSETS) bash test/cluster/netns.sh

# Real helm (built once from the Go module proxy, cached; ~3 minutes cold on
# 2 cores): helm lint --strict of the four charts with default and OpenShift
# values, and the rendered manifests checked (anti-affinity, GPU requests =
# limits, labels, schema errors, discovery and validate on them). make
# cluster applies them to the real API server.
HELM_VERSION ?= v3.22.0

helm:
	HELM_VERSION=$(HELM_VERSION) bash test/helm/run.sh

# Release archives for every krew platform, and their checksums, in dist/.
# With the worker image built first (make image), the binaries pin it:
# run --in-cluster then defaults to REPO:VERSION@sha256:….
IMAGE_DIGEST ?= $(shell [ "$$(cat dist/image/version 2>/dev/null)" = "$(VERSION)" ] && cat dist/image/digest)

dist:
	VERSION=$(VERSION) GO=$(GO) IMAGE_DIGEST=$(IMAGE_DIGEST) bash hack/dist.sh

# The krew manifest proven with krew itself (built from the Go module proxy
# and cached): validated, installed offline from dist/, and run through
# kubectl (the one on PATH, or built like the API server when it is missing
# or older than 1.26). krew wants a semver tag: a tagged commit keeps its
# tag, any other is a prerelease of v0.0.0 named by its commit.
KREW_TAG ?= $(shell git describe --tags --exact-match --match 'v*' 2>/dev/null || echo v0.0.0-dev.g$$(git rev-parse --short HEAD 2>/dev/null || echo unknown))

krew:
	$(MAKE) --no-print-directory dist VERSION=$(KREW_TAG)
	GO=$(GO) K8S_VERSION=$(K8S_VERSION) K8S_LDFLAGS='$(K8S_LDFLAGS)' bash test/krew/run.sh

# The worker image of run --in-cluster, without a Docker daemon: a static
# binary per platform, the CA bundle and a non-root user in one layer each
# (go-containerregistry, hack/image), as an OCI layout and archive and a
# docker-loadable tarball per platform in dist/image/, then read back and
# its binary run. Push: crane push dist/image/oci REPO:TAG (or skopeo
# copy oci:dist/image/oci docker://REPO:TAG); kind load image-archive
# dist/image/kubectl-llmbench_VERSION_linux_amd64.tar.
IMAGE_REPO      ?= ghcr.io/llmbench/kubectl-llmbench
IMAGE_PLATFORMS ?= linux/amd64 linux/arm64

image:
	@set -e; bins=; for p in $(IMAGE_PLATFORMS); do os=$${p%/*}; arch=$${p#*/}; \
		echo "image: building $$os/$$arch"; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o dist/image/$${os}_$${arch}/kubectl-llmbench ./cmd/kubectl-llmbench; \
		bins="$$bins -bin $${os}_$${arch}=$(CURDIR)/dist/image/$${os}_$${arch}/kubectl-llmbench"; \
	done; \
	cd hack/image && $(GO) run . -repo $(IMAGE_REPO) -version $(VERSION) -out $(CURDIR)/dist/image $$bins
	cd hack/image && IMAGE_DIR=$(CURDIR)/dist/image $(GO) test -count=1 .

clean:
	rm -rf bin results
