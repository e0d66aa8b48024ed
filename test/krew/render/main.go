// Command render fills in the krew-release-bot template .krew.yaml for local
// archives, the way the bot does at release time: {{ .TagName }} becomes the
// tag, and {{addURIAndSha URL .TagName}} becomes the archive's uri and the
// sha256 of the file of that name in -dist. The URL must be this
// repository's release download URL for the tag, so a typo in the template
// fails here rather than in the krew-index PR.
//
// With -serve, the uris point at a loopback HTTP server of -dist that runs
// until the process is stopped, so krew's validator can download every
// platform's archive as a user's krew would, offline.
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"text/template"
)

const releases = "https://github.com/llmbench/kubectl-llmbench/releases/download/"

func main() {
	tmpl := flag.String("template", ".krew.yaml", "krew-release-bot template")
	tag := flag.String("tag", "", "release tag, e.g. v0.1.0")
	dist := flag.String("dist", "dist", "folder holding the archives")
	out := flag.String("o", "", "rendered manifest to write (name it llmbench.yaml: krew's validator wants NAME.yaml)")
	serve := flag.Bool("serve", false, "serve -dist on a loopback port and point the uris at it; runs until stopped")
	flag.Parse()
	if err := run(*tmpl, *tag, *dist, *out, *serve); err != nil {
		fmt.Fprintln(os.Stderr, "render:", err)
		os.Exit(1)
	}
}

func run(tmpl, tag, dist, out string, serve bool) error {
	if tag == "" || out == "" {
		return errors.New("-tag and -o are required")
	}
	text, err := os.ReadFile(tmpl)
	if err != nil {
		return err
	}
	abs, err := filepath.Abs(dist)
	if err != nil {
		return err
	}
	base := "file://" + filepath.ToSlash(abs) + "/"
	var ln net.Listener
	if serve {
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			return err
		}
		base = "http://" + ln.Addr().String() + "/"
	}
	manifest, err := render(string(text), tag, func(name string) (string, string, error) {
		sum, err := sha256File(filepath.Join(dist, name))
		return base + name, sum, err
	})
	if err != nil {
		return err
	}
	// Written whole and renamed, so a script waiting for the file never
	// reads half of it.
	if err := os.WriteFile(out+".tmp", manifest, 0o644); err != nil {
		return err
	}
	if err := os.Rename(out+".tmp", out); err != nil {
		return err
	}
	if ln == nil {
		return nil
	}
	return http.Serve(ln, http.FileServer(http.Dir(dist)))
}

// locate maps an archive's file name to the uri krew should fetch and its
// sha256.
type locate func(name string) (uri, sha256 string, err error)

// render executes the template with the functions krew-release-bot gives it
// (pkg/source/template.go in rajatjindal/krew-release-bot): addURIAndSha
// and indent, and the fields TagName and Version.
func render(text, tag string, loc locate) ([]byte, error) {
	var failed error
	funcs := template.FuncMap{
		"indent": func(spaces int, v string) string {
			pad := strings.Repeat(" ", spaces)
			return strings.TrimSpace(pad + strings.ReplaceAll(v, "\n", "\n"+pad))
		},
		"addURIAndSha": func(url, tag string) string {
			var b bytes.Buffer
			t, err := template.New("url").Parse(url)
			if err == nil {
				err = t.Execute(&b, values(tag))
			}
			if err == nil && !strings.HasPrefix(b.String(), releases+tag+"/") {
				err = fmt.Errorf("%s is not a release download URL %s%s/NAME", b.String(), releases, tag)
			}
			uri, sum := "", ""
			if err == nil {
				uri, sum, err = loc(path.Base(b.String()))
			}
			if err != nil {
				failed = errors.Join(failed, fmt.Errorf("addURIAndSha %q: %w", url, err))
				return ""
			}
			return fmt.Sprintf("uri: %s\n    sha256: %s", uri, sum)
		},
	}
	t, err := template.New(".krew.yaml").Funcs(funcs).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := t.Execute(&b, values(tag)); err != nil {
		return nil, err
	}
	return b.Bytes(), failed
}

type templateValues struct{ TagName, Version string }

func values(tag string) templateValues {
	v := regexp.MustCompile(`\d+(\.\d+)+`).FindString(tag)
	if v == "" {
		v = tag
	}
	return templateValues{TagName: tag, Version: v}
}

func sha256File(name string) (string, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}
