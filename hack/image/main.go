// Command image assembles the plugin's OCI image (make image): for each
// platform one layer holding the static binary, the CA certificates and a
// non-root user, in an OCI image index, written as an OCI layout (push it
// with `crane push` or `skopeo copy oci:…`), a tar of that layout, and a
// docker-loadable tarball per platform (`docker load`, `kind load
// image-archive`). No Docker daemon, no base image pulled: every byte
// comes from this machine, and with the same inputs the digests repeat.
//
// Usage: go run . -repo REPO -version V -out DIR -bin OS_ARCH=PATH …
package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The worker Pod runs as this user (pkg/cluster WorkerUID).
const uid = 65532

type binFlags map[string]string

func (b binFlags) String() string { return fmt.Sprint(map[string]string(b)) }
func (b binFlags) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || !strings.Contains(k, "_") {
		return fmt.Errorf("-bin %q: write OS_ARCH=PATH, e.g. linux_amd64=dist/image/linux_amd64/kubectl-llmbench", s)
	}
	b[k] = v
	return nil
}

func main() {
	repo := flag.String("repo", "ghcr.io/llmbench/kubectl-llmbench", "image repository")
	version := flag.String("version", "dev", "image tag and version label")
	out := flag.String("out", "dist/image", "output folder")
	certs := flag.String("ca-certificates", "/etc/ssl/certs/ca-certificates.crt", "CA bundle copied into the image (engines behind TLS)")
	bins := binFlags{}
	flag.Var(bins, "bin", "OS_ARCH=PATH of a static plugin binary; repeatable")
	flag.Parse()
	if err := build(*repo, *version, *out, *certs, bins); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

func build(repo, version, out, certs string, bins binFlags) error {
	if len(bins) == 0 {
		return errors.New("no -bin given")
	}
	ca, err := os.ReadFile(certs)
	if err != nil {
		return fmt.Errorf("-ca-certificates: %w (install Debian's ca-certificates)", err)
	}
	tag, err := name.NewTag(repo + ":" + version)
	if err != nil {
		return fmt.Errorf("-repo/-version: %w", err)
	}
	if err := os.RemoveAll(filepath.Join(out, "oci")); err != nil {
		return err
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	platforms := make([]string, 0, len(bins))
	for p := range bins {
		platforms = append(platforms, p)
	}
	sort.Strings(platforms)
	for _, p := range platforms {
		os_, arch, _ := strings.Cut(p, "_")
		img, err := image(bins[p], ca, os_, arch, version)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{
			Platform:    &v1.Platform{OS: os_, Architecture: arch},
			Annotations: map[string]string{"org.opencontainers.image.ref.name": version},
		}})
		docker := filepath.Join(out, fmt.Sprintf("kubectl-llmbench_%s_%s.tar", version, p))
		if err := tarball.WriteToFile(docker, tag, img); err != nil {
			return err
		}
		d, _ := img.Digest()
		fmt.Printf("%s/%s: %s (docker load -i %s)\n", os_, arch, d, docker)
	}
	lp, err := layout.Write(filepath.Join(out, "oci"), empty.Index)
	if err != nil {
		return err
	}
	if err := lp.AppendIndex(idx, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": tag.String()})); err != nil {
		return err
	}
	d, err := idx.Digest()
	if err != nil {
		return err
	}
	archive := filepath.Join(out, fmt.Sprintf("kubectl-llmbench_%s_oci.tar", version))
	if err := tarDir(filepath.Join(out, "oci"), archive); err != nil {
		return err
	}
	fmt.Printf("%s@%s: OCI layout %s, archive %s\n", tag, d, filepath.Join(out, "oci"), archive)
	if err := os.WriteFile(filepath.Join(out, "version"), []byte(version+"\n"), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(out, "digest"), []byte(d.String()+"\n"), 0o644)
}

// epoch stamps every file and the image: the same binary gives the same
// digest.
var epoch = time.Unix(0, 0).UTC()

func image(bin string, ca []byte, os_, arch, version string) (v1.Image, error) {
	exe, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dir := func(n string, mode int64) {
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: n, Mode: mode, ModTime: epoch, Format: tar.FormatPAX})
	}
	file := func(n string, mode int64, b []byte) {
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: n, Mode: mode, Size: int64(len(b)), ModTime: epoch, Format: tar.FormatPAX})
		tw.Write(b)
	}
	dir("etc/", 0o755)
	file("etc/passwd", 0o644, fmt.Appendf(nil, "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%d:%d:nonroot:/home/nonroot:/sbin/nologin\n", uid, uid))
	file("etc/group", 0o644, fmt.Appendf(nil, "root:x:0:\nnonroot:x:%d:\n", uid))
	dir("etc/ssl/", 0o755)
	dir("etc/ssl/certs/", 0o755)
	file("etc/ssl/certs/ca-certificates.crt", 0o644, ca)
	tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "home/nonroot/", Mode: 0o700, Uid: uid, Gid: uid, ModTime: epoch, Format: tar.FormatPAX})
	dir("tmp/", 0o1777)
	dir("var/", 0o755)
	dir("var/lib/", 0o755)
	tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "var/lib/llmbench/", Mode: 0o755, Uid: uid, Gid: uid, ModTime: epoch, Format: tar.FormatPAX})
	file("kubectl-llmbench", 0o755, exe)
	if err := tw.Close(); err != nil {
		return nil, err
	}
	layerBytes := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(layerBytes)), nil },
		tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	if img, err = mutate.AppendLayers(img, layer); err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Created = os_, arch, v1.Time{Time: epoch}
	cf.Config.Entrypoint = []string{"/kubectl-llmbench"}
	cf.Config.User = fmt.Sprintf("%d:%d", uid, uid)
	cf.Config.WorkingDir = "/home/nonroot"
	cf.Config.Env = []string{"HOME=/home/nonroot", "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"}
	cf.Config.Labels = map[string]string{
		"org.opencontainers.image.title":    "kubectl-llmbench",
		"org.opencontainers.image.version":  version,
		"org.opencontainers.image.source":   "https://github.com/llmbench/kubectl-llmbench",
		"org.opencontainers.image.licenses": "Apache-2.0",
	}
	return mutate.ConfigFile(img, cf)
}

// tarDir writes the OCI layout folder as one tar (an oci-archive).
func tarDir(src, dst string) error {
	f, err := os.Create(dst)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(f)
	err = filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if rel == "." {
			return nil
		}
		h, err := tar.FileInfoHeader(fi, "")
		if err != nil {
			return err
		}
		h.Name, h.ModTime = filepath.ToSlash(rel), epoch
		if fi.IsDir() {
			h.Name += "/"
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if fi.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			_, err = tw.Write(b)
			return err
		}
		return nil
	})
	if cerr := tw.Close(); err == nil {
		err = cerr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
