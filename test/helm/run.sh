#!/usr/bin/env bash
# The Helm charts (helm/) checked with a real helm: built once from the Go
# module proxy and cached under $LLMBENCH_CACHE (else
# ~/.cache/kubectl-llmbench)/helm-VERSION; then `helm lint --strict` of the
# four charts with their default and OpenShift values, and the rendered
# manifests decoded and checked (go test -tags helm ./test/helm/).
#
#   test/helm/run.sh        build helm if needed, run the checks
#   test/helm/run.sh --bin  build helm if needed, print its path (for
#                           LLMBENCH_HELM of the cluster tests)
#
# Debian has no helm package; helm.sh/helm/v3's go.mod has no replace
# directives, so a plain `go install …@version` builds it.
set -euo pipefail
cd "$(dirname "$0")/../.."

HELM_VERSION=${HELM_VERSION:-v3.22.0}
dir=${LLMBENCH_CACHE:-$HOME/.cache/kubectl-llmbench}/helm-$HELM_VERSION
helm=$dir/helm

if [ ! -x "$helm" ]; then
	echo "building helm $HELM_VERSION from the Go module proxy into $dir" >&2
	# As helm's own Makefile: the version, and the Kubernetes version that
	# helm template and lint assume, from the client-go helm is built with.
	gomod=$(go mod download -json "helm.sh/helm/v3@$HELM_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
	[ -n "$gomod" ] || { echo "cannot download helm.sh/helm/v3@$HELM_VERSION" >&2; exit 1; }
	k8s_minor=$(awk '$1 == "k8s.io/client-go" { split($2, v, "."); print v[2] }' "$gomod")
	ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/internal/version.metadata="
	for pkg in pkg/lint/rules pkg/chartutil; do
		ldflags="$ldflags -X helm.sh/helm/v3/$pkg.k8sVersionMajor=1 -X helm.sh/helm/v3/$pkg.k8sVersionMinor=$k8s_minor"
	done
	mkdir -p "$dir"
	tmp=$(mktemp -d "$dir/build.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	start=$SECONDS
	GOBIN=$tmp CGO_ENABLED=0 nice go install -trimpath -ldflags "$ldflags" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >&2
	mv "$tmp/helm" "$helm"
	echo "built helm in $((SECONDS - start)) s" >&2
fi

if [ "${1:-}" = "--bin" ]; then
	echo "$helm"
	exit 0
fi

"$helm" version --short
LLMBENCH_HELM=$helm go test -tags helm -count=1 -v ./test/helm/ 2>&1 | grep -v '^=== RUN'
