#!/usr/bin/env bash
# make krew: proves the krew manifest with krew itself, offline.
#  1. builds krew and its validator from the Go module proxy (cached in
#     ${LLMBENCH_CACHE:-~/.cache/kubectl-llmbench}/krew-<version>/);
#  2. renders .krew.yaml for the archives in dist/ (make dist) as
#     krew-release-bot would, with their real sha256 and uris on a loopback
#     server;
#  3. runs validate-krew-manifest, which checks the manifest and installs
#     every platform's archive with `kubectl krew install` (sha256 checked,
#     LICENSE extracted);
#  4. installs the host's archive as a user would test a release
#     (kubectl krew install --manifest --archive, into a fresh KREW_ROOT),
#     runs `kubectl llmbench version` through kubectl and checks the version,
#     and completes `kubectl llmbench` through kubectl_complete-llmbench.
# Any mismatch fails the script.
#
# Environment: KREW_VERSION (v0.4.3, the one version the module proxy
# serves), KUBECTL (default: kubectl on PATH if 1.26 or newer, else one
# built from the module proxy through the wrapper module hack/krew/kubectl),
# K8S_VERSION and K8S_LDFLAGS (from the Makefile, for that build), GO, DIST.
set -euo pipefail
cd "$(dirname "$0")/../.."

GO=${GO:-go}
DIST=${DIST:-dist}
KREW_VERSION=${KREW_VERSION:-v0.4.3}
K8S_VERSION=${K8S_VERSION:-v1.37.2}
cache_root=${LLMBENCH_CACHE:-$HOME/.cache/kubectl-llmbench}
cache=$cache_root/krew-$KREW_VERSION

fail() { echo "krew: FAIL: $*" >&2; exit 1; }
step() { echo "krew: $*"; }

work=$(mktemp -d)
server=
cleanup() {
	if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

# 1. krew and validate-krew-manifest, from the module proxy.
if [ ! -x "$cache/krew" ] || [ ! -x "$cache/validate-krew-manifest" ]; then
	start=$SECONDS
	step "building krew $KREW_VERSION and validate-krew-manifest into $cache"
	rm -rf "$cache.tmp"
	mkdir -p "$cache.tmp"
	GOBIN="$cache.tmp" CGO_ENABLED=0 "$GO" install -trimpath \
		"sigs.k8s.io/krew/cmd/krew@$KREW_VERSION" "sigs.k8s.io/krew/cmd/validate-krew-manifest@$KREW_VERSION"
	rm -rf "$cache"
	mv "$cache.tmp" "$cache"
	step "built in $((SECONDS - start))s"
fi

# kubectl 1.26 added plugin completion (kubectl_complete-<plugin>).
usable_kubectl() {
	local minor
	minor=$("$1" version --client -o json 2>/dev/null | sed -n 's/.*"minor": *"\([0-9]*\).*/\1/p' | head -1)
	[ -n "$minor" ] && [ "$minor" -ge 26 ]
}
kubectl=${KUBECTL:-$(command -v kubectl || true)}
if [ -z "$kubectl" ] || ! usable_kubectl "$kubectl"; then
	[ -z "${KUBECTL:-}" ] || fail "KUBECTL=$KUBECTL is not kubectl 1.26 or newer"
	kubectl=$cache_root/kubectl-$K8S_VERSION/kubectl
	if [ ! -x "$kubectl" ]; then
		start=$SECONDS
		step "no kubectl 1.26 or newer on PATH; building kubectl $K8S_VERSION into $kubectl"
		mkdir -p "$(dirname "$kubectl")"
		(cd hack/krew/kubectl && CGO_ENABLED=0 "$GO" build -trimpath -ldflags "${K8S_LDFLAGS:--s -w}" -o "$kubectl.tmp" k8s.io/kubernetes/cmd/kubectl)
		mv "$kubectl.tmp" "$kubectl"
		step "built in $((SECONDS - start))s"
	fi
fi
step "kubectl: $kubectl ($("$kubectl" version --client 2>/dev/null | head -1))"

# One folder first on PATH: this kubectl, and krew as its plugin.
mkdir -p "$work/bin"
ln -s "$kubectl" "$work/bin/kubectl"
ln -s "$cache/krew" "$work/bin/kubectl-krew"
export PATH="$work/bin:$PATH" KREW_NO_UPGRADE_CHECK=1

# 2. The archives of make dist, and the manifest rendered for them.
host=$("$GO" env GOHOSTOS)_$("$GO" env GOHOSTARCH)
shopt -s nullglob
hosts=("$DIST"/kubectl-llmbench_*_"$host".tar.gz)
shopt -u nullglob
[ ${#hosts[@]} -eq 1 ] || fail "want one $DIST/kubectl-llmbench_TAG_$host.tar.gz (run make dist), found ${#hosts[@]}"
archive=${hosts[0]}
tag=${archive##*/kubectl-llmbench_}
tag=${tag%_"$host".tar.gz}
[[ $tag =~ ^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$ ]] || fail "tag $tag is not semver (vX.Y.Z): krew refuses it; make krew picks one"
[ -f "$DIST/checksums.txt" ] || fail "$DIST/checksums.txt is missing (run make dist)"
(cd "$DIST" && if command -v sha256sum >/dev/null; then sha256sum --quiet -c checksums.txt; else shasum -a 256 -q -c checksums.txt; fi) || fail "$DIST/checksums.txt does not match the archives"
[ "$(wc -l <"$DIST/checksums.txt")" -eq 5 ] || fail "$DIST/checksums.txt lists $(wc -l <"$DIST/checksums.txt") archives, want 5"
step "archives of $tag: $(cut -d' ' -f3 "$DIST/checksums.txt" | tr '\n' ' ')"

"$GO" build -o "$work/render" ./test/krew/render
mkdir -p "$work/manifest"
manifest=$work/manifest/llmbench.yaml
"$work/render" -template .krew.yaml -tag "$tag" -dist "$DIST" -o "$manifest" -serve &
server=$!
for _ in $(seq 100); do
	[ -f "$manifest" ] && break
	kill -0 "$server" 2>/dev/null || fail "rendering .krew.yaml failed"
	sleep 0.1
done
[ -f "$manifest" ] || fail "rendering .krew.yaml timed out"
step "rendered $manifest, archives served at $(sed -n 's|.*uri: \(http://[^/]*\)/.*|\1|p' "$manifest" | head -1)"

# 3. krew's validator: structure, platforms, and an install of each.
start=$SECONDS
"$cache/validate-krew-manifest" -manifest "$manifest" >"$work/validate.log" 2>&1 || {
	sed '/^goroutine /,$d' "$work/validate.log" >&2 # klog.Fatal's stack dump says nothing more
	fail "validate-krew-manifest rejected the manifest"
}
grep -q "all 5 spec.platforms installed fine" "$work/validate.log" || {
	cat "$work/validate.log" >&2
	fail "validate-krew-manifest did not install all 5 platforms"
}
step "validate-krew-manifest: valid, all 5 platforms installed with LICENSE ($((SECONDS - start))s)"

# 4. Install as a user testing a release: offline, from the archive.
export KREW_ROOT=$work/krew-root
export PATH="$KREW_ROOT/bin:$PATH"
mkdir -p "$KREW_ROOT"
wrong=$(ls "$DIST"/kubectl-llmbench_*.tar.gz | grep -v "_$host.tar.gz" | head -1)
if kubectl krew install --manifest="$manifest" --archive="$wrong" >"$work/wrong.log" 2>&1; then
	fail "krew installed $wrong for $host: the sha256 in the manifest was not checked"
fi
grep -q "checksum does not match" "$work/wrong.log" || { cat "$work/wrong.log" >&2; fail "installing the wrong archive failed for another reason than its sha256"; }
kubectl krew install --manifest="$manifest" --archive="$archive" >"$work/install.log" 2>&1 || {
	cat "$work/install.log" >&2
	fail "kubectl krew install --manifest --archive failed"
}
grep -q "oc llmbench" "$work/install.log" || fail "krew did not show the caveats"
[ "$(command -v kubectl-llmbench)" = "$KREW_ROOT/bin/kubectl-llmbench" ] || fail "kubectl-llmbench on PATH is $(command -v kubectl-llmbench), not krew's"
# krew list wants a plugin index (a git clone); the receipt is what it reads.
grep -q "version: $tag\$" "$KREW_ROOT/receipts/llmbench.yaml" || fail "krew's receipt does not record llmbench $tag"
store=$KREW_ROOT/store/llmbench/$tag
for f in kubectl-llmbench LICENSE kubectl_complete-llmbench; do
	[ -f "$store/$f" ] || fail "$store/$f was not installed"
done
step "kubectl krew install --manifest --archive: llmbench $tag in $KREW_ROOT (a mismatched archive refused by its sha256)"

out=$(kubectl llmbench version)
case "$out" in
"kubectl-llmbench $tag (commit "*", built "*) ;;
*) fail "kubectl llmbench version printed '$out', want kubectl-llmbench $tag (commit …, built …)" ;;
esac
echo "$out" | grep -q "unknown" && fail "kubectl llmbench version lacks the stamped commit or date: $out"
json=$(kubectl llmbench version -o json)
echo "$json" | grep -q "\"version\": \"$tag\"" || fail "kubectl llmbench version -o json: $json"
echo "$json" | grep -q "\"platform\": \"${host/_//}\"" || fail "kubectl llmbench version -o json: $json"
step "kubectl llmbench version: $out"

# The caveats' completion step, then kubectl's plugin completion.
ln -s "$store/kubectl_complete-llmbench" "$KREW_ROOT/bin/"
complete_out=$(kubectl __complete llmbench ru 2>"$work/complete.log")
grep -q "kubectl_complete-llmbench" "$work/complete.log" || { cat "$work/complete.log" >&2; fail "kubectl did not call kubectl_complete-llmbench"; }
echo "$complete_out" | grep -q "^run" || fail "kubectl __complete llmbench ru offered: $complete_out"
complete_out=$(kubectl __complete llmbench run --preset '' 2>/dev/null)
for p in quick standard stress; do
	echo "$complete_out" | grep -qx "$p" || fail "kubectl __complete llmbench run --preset offered: $complete_out"
done
kubectl llmbench completion bash | grep -q "__start_kubectl-llmbench" || fail "kubectl llmbench completion bash is not a script for kubectl-llmbench"
step "completion: kubectl __complete llmbench ru → run; --preset → quick standard stress"
step "OK: $tag validated, installed by krew $KREW_VERSION and run through kubectl"
