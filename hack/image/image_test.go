package main

import (
	"archive/tar"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// TestImage reads back what make image wrote (IMAGE_DIR): an OCI index of
// a linux/amd64 and a linux/arm64 image, each one layer with a static
// binary that runs, the CA bundle and a non-root user, and the docker
// tarballs holding the same images.
func TestImage(t *testing.T) {
	dir := os.Getenv("IMAGE_DIR")
	if dir == "" {
		t.Skip("IMAGE_DIR is not set: make image runs this check on what it built")
	}
	lp, err := layout.FromPath(filepath.Join(dir, "oci"))
	if err != nil {
		t.Fatal(err)
	}
	outer, err := lp.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	om, err := outer.IndexManifest()
	if err != nil || len(om.Manifests) != 1 {
		t.Fatalf("the layout holds %v (%v), want one index", om, err)
	}
	idx, err := outer.ImageIndex(om.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, d := range im.Manifests {
		p := d.Platform.OS + "/" + d.Platform.Architecture
		got[p] = true
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		checkImage(t, p, img)
		docker, _ := filepath.Glob(filepath.Join(dir, "kubectl-llmbench_*_"+d.Platform.OS+"_"+d.Platform.Architecture+".tar"))
		if len(docker) != 1 {
			t.Fatalf("%s: docker tarball %v", p, docker)
		}
		di, err := tarball.ImageFromPath(docker[0], nil)
		if err != nil {
			t.Fatal(err)
		}
		// Docker's format rewrites the manifest; the config (and with it
		// the layers' diff ids) is the same bytes.
		if a, b := configName(t, di), configName(t, img); a != b {
			t.Fatalf("%s: the docker tarball's config is %s, the index's %s", p, a, b)
		}
	}
	if !got["linux/amd64"] || !got["linux/arm64"] || len(got) != 2 {
		t.Fatalf("platforms %v, want linux/amd64 and linux/arm64", got)
	}
}

func configName(t *testing.T, img v1.Image) v1.Hash {
	d, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func checkImage(t *testing.T, platform string, img v1.Image) {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Config.User != "65532:65532" || len(cf.Config.Entrypoint) != 1 || cf.Config.Entrypoint[0] != "/kubectl-llmbench" {
		t.Fatalf("%s: user %q, entrypoint %v", platform, cf.Config.User, cf.Config.Entrypoint)
	}
	if cf.OS+"/"+cf.Architecture != platform {
		t.Fatalf("config says %s/%s, the index %s", cf.OS, cf.Architecture, platform)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("%s: %d layers (%v), want 1", platform, len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	files := map[string]*tar.Header{}
	tr := tar.NewReader(rc)
	var exe string
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		files[h.Name] = h
		switch h.Name {
		case "etc/passwd":
			b, _ := io.ReadAll(tr)
			if !strings.Contains(string(b), "nonroot:x:65532:65532") {
				t.Fatalf("%s: /etc/passwd has no nonroot user:\n%s", platform, b)
			}
		case "kubectl-llmbench":
			if platform == runtime.GOOS+"/"+runtime.GOARCH {
				exe = filepath.Join(t.TempDir(), "kubectl-llmbench")
				f, err := os.OpenFile(exe, os.O_CREATE|os.O_WRONLY, 0o755)
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(f, tr)
				f.Close()
			}
		}
	}
	for _, want := range []string{"kubectl-llmbench", "etc/ssl/certs/ca-certificates.crt", "etc/group", "var/lib/llmbench/"} {
		if files[want] == nil {
			t.Fatalf("%s: no %s in the layer (%d files)", platform, want, len(files))
		}
	}
	if h := files["kubectl-llmbench"]; h.Mode&0o111 == 0 || h.Size < 1<<20 {
		t.Fatalf("%s: the binary has mode %o and %d bytes", platform, h.Mode, h.Size)
	}
	if h := files["var/lib/llmbench/"]; h.Uid != 65532 {
		t.Fatalf("%s: the journal folder belongs to %d, not the worker's user", platform, h.Uid)
	}
	if exe != "" {
		// Static: it runs here without the image's libc (there is none).
		out, err := exec.Command(exe, "version").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "kubectl-llmbench") {
			t.Fatalf("%s: the image's binary does not run: %v\n%s", platform, err, out)
		}
	}
}
