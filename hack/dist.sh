#!/usr/bin/env bash
# Release archives (make dist): one per platform krew installs,
#   dist/kubectl-llmbench_<tag>_<os>_<arch>.tar.gz   (linux, darwin)
#   dist/kubectl-llmbench_<tag>_windows_amd64.zip
# each holding the binary, LICENSE and kubectl_complete-llmbench at its root
# (the layout .krew.yaml names), plus dist/checksums.txt in sha256sum format.
#
# The builds are static (CGO_ENABLED=0) and -trimpath; version, commit and
# date are stamped with -ldflags. The date is the commit's, and every archive
# entry carries it as its mtime, so one commit gives the same bytes twice.
#
# Environment: VERSION (default: git describe), COMMIT, SOURCE_DATE_EPOCH,
# PLATFORMS (default: all five), DIST (default: dist), GO (default: go).
set -euo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
DIST=${DIST:-dist}
VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
COMMIT=${COMMIT:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
PLATFORMS=${PLATFORMS:-linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64}
# GNU date takes -d @SECONDS, BSD date -r SECONDS.
DATE=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ 2>/dev/null || date -u -r "$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)

case "$VERSION" in
*/* | *' '*) echo "dist: VERSION $VERSION cannot be part of a file name" >&2; exit 1 ;;
esac

pkg=github.com/llmbench/kubectl-llmbench/pkg/plugin
ldflags="-s -w -X $pkg.version=$VERSION -X $pkg.commit=$COMMIT -X $pkg.date=$DATE"
# The worker image of this release (make image VERSION=… first): run
# --in-cluster then pins it by digest.
if [ -n "${IMAGE_DIGEST:-}" ]; then
	ldflags="$ldflags -X $pkg.imageDigest=$IMAGE_DIGEST"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$GO" build -o "$work/archive" ./hack/archive

mkdir -p "$DIST"
rm -f "$DIST"/kubectl-llmbench_* "$DIST/checksums.txt"
archives=()
for platform in $PLATFORMS; do
	os=${platform%/*} arch=${platform#*/}
	exe=kubectl-llmbench ext=tar.gz
	if [ "$os" = windows ]; then exe=kubectl-llmbench.exe ext=zip; fi
	stage="$work/${os}_$arch"
	mkdir -p "$stage"
	start=$SECONDS
	CGO_ENABLED=0 GOOS=$os GOARCH=$arch "$GO" build -trimpath -buildvcs=false -ldflags "$ldflags" \
		-o "$stage/$exe" ./cmd/kubectl-llmbench
	cp LICENSE kubectl_complete-llmbench "$stage/"
	chmod 0755 "$stage/kubectl_complete-llmbench"
	name="kubectl-llmbench_${VERSION}_${os}_${arch}.$ext"
	"$work/archive" -o "$DIST/$name" -mtime "$SOURCE_DATE_EPOCH" \
		"$stage/$exe" "$stage/LICENSE" "$stage/kubectl_complete-llmbench"
	archives+=("$name")
	echo "dist: $DIST/$name ($((SECONDS - start))s)"
done

(
	cd "$DIST"
	if command -v sha256sum >/dev/null; then
		sha256sum "${archives[@]}"
	else
		shasum -a 256 "${archives[@]}"
	fi
) >"$DIST/checksums.txt"
echo "dist: $DIST/checksums.txt (version $VERSION, commit $COMMIT, date $DATE)"
