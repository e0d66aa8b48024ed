//go:build e2e && unix

// Package ollama runs a real Ollama for end-to-end tests: built from the Go
// module proxy once into a cache folder, serving the tiny random-weight
// models of package gguf on a loopback port (shared/reference/real-ollama.md).
package ollama

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/llmbench/kubectl-llmbench/test/ollama/gguf"
)

// Versions are the Ollama releases the suite is run against, one `go test`
// each (make e2e): v0.11.4, the newest that builds from the module zip
// alone, and v0.24.0, the newest the module proxy serves, which needs two
// Debian packages and our miniaudio stub (real-ollama.md, "Versions tried").
// They differ on the wire (error texts, key order, context length), and a
// client that only met one would not know.
var Versions = []string{"0.11.4", "0.24.0"}

// Version is the release this test process builds and starts:
// $LLMBENCH_OLLAMA_VERSION, else the first of Versions.
var Version = func() string {
	if v := strings.TrimPrefix(os.Getenv("LLMBENCH_OLLAMA_VERSION"), "v"); v != "" {
		return v
	}
	return Versions[0]
}()

// Models served by every Start, with the EOS bias each is generated with
// (gguf.TinyOptions): "tiny" never stops by itself, "tiny-stop" does.
var Models = []struct {
	Name    string
	EOSBias float64
}{{"tiny", -1}, {"tiny-stop", 1}}

// ModelSeed is the seed of the tiny models' weights.
const ModelSeed = 1

// CacheDir is where built tools are kept between runs: $LLMBENCH_CACHE, or
// $HOME/.cache/kubectl-llmbench.
func CacheDir() (string, error) {
	if d := os.Getenv("LLMBENCH_CACHE"); d != "" {
		return d, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("no cache folder: set LLMBENCH_CACHE or HOME: %w", err)
	}
	return filepath.Join(home, ".cache", "kubectl-llmbench"), nil
}

var (
	ensureOnce sync.Once
	ensurePath string
	ensureErr  error
)

// EnsureOllama returns the path of the ollama binary, building it first if
// the cache does not hold it. A cold build takes 4–7 minutes on 2 cores.
func EnsureOllama() (string, error) {
	ensureOnce.Do(func() { ensurePath, ensureErr = ensureOllama() })
	return ensurePath, ensureErr
}

func ensureOllama() (string, error) {
	cache, err := CacheDir()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cache, "ollama-v"+Version, "bin")
	bin := filepath.Join(dir, "ollama")
	if fi, err := os.Stat(bin); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
		return bin, nil
	}
	// Build into a fresh folder and rename, so that an interrupted build
	// never leaves a binary behind that a later run would trust.
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	env, err := buildEnv(Version)
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, "go", "install", "-trimpath",
		"-ldflags", "-s -w -X github.com/ollama/ollama/version.Version="+Version,
		"github.com/ollama/ollama@v"+Version)
	// Outside any module, so that this repository's go.mod and vendor
	// settings play no part.
	cmd.Dir = tmp
	// ollama's CPU backend and llama.cpp are compiled in through cgo.
	cmd.Env = append(append(os.Environ(), "GOBIN="+tmp, "GOFLAGS=", "GOWORK=off", "CGO_ENABLED=1"), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("building ollama v%s (go install github.com/ollama/ollama@v%s): %v\n%s", Version, Version, err, tail(out, 4000))
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return "", err
	}
	_ = os.RemoveAll(dir)
	if err := os.Rename(tmp, dir); err != nil {
		return "", err
	}
	return bin, nil
}

// buildEnv is what building version needs beyond the module zip. From
// v0.11.5 on, llama.cpp includes its single-header dependencies from a
// vendor/ folder that Go module zips drop: nlohmann/json and stb come from
// Debian (nlohmann-json3-dev, libstb-dev), miniaudio from our stub in
// stub/, which makes audio input fail and nothing else.
func buildEnv(version string) ([]string, error) {
	if !newerThan(version, "0.11.4") {
		return nil, nil
	}
	for hdr, pkg := range map[string]string{"/usr/include/nlohmann/json.hpp": "nlohmann-json3-dev", "/usr/include/stb/stb_image.h": "libstb-dev"} {
		if _, err := os.Stat(hdr); err != nil {
			return nil, fmt.Errorf("building ollama v%s needs %s: apt-get install %s", version, hdr, pkg)
		}
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return nil, errors.New("cannot find the miniaudio stub next to harness.go")
	}
	stub := filepath.Join(filepath.Dir(file), "stub")
	if _, err := os.Stat(filepath.Join(stub, "miniaudio", "miniaudio.h")); err != nil {
		return nil, fmt.Errorf("the miniaudio stub is missing: %w", err)
	}
	return []string{"CGO_CPPFLAGS=-I" + stub}, nil
}

// newerThan compares dotted release numbers.
func newerThan(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := range max(len(pa), len(pb)) {
		var x, y int
		if i < len(pa) {
			x, _ = strconv.Atoi(pa[i])
		}
		if i < len(pb) {
			y, _ = strconv.Atoi(pb[i])
		}
		if x != y {
			return x > y
		}
	}
	return false
}

// Server is one running `ollama serve` with the tiny models created.
type Server struct {
	// URL is the base URL, http://127.0.0.1:PORT.
	URL string
	// Dir holds the model files, the model store and serve.log.
	Dir string
	// NumParallel is OLLAMA_NUM_PARALLEL.
	NumParallel int

	bin  string
	cmd  *exec.Cmd
	done chan struct{}
	once sync.Once
}

// Start runs a fresh Ollama with OLLAMA_NUM_PARALLEL=numParallel, creates
// "tiny" and "tiny-stop", and stops it (runner included) when the test ends.
func Start(t testing.TB, numParallel int) *Server {
	t.Helper()
	bin, err := EnsureOllama()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, m := range Models {
		if err := gguf.WriteTiny(filepath.Join(dir, m.Name+".gguf"), gguf.TinyOptions{Seed: ModelSeed, EOSBias: m.EOSBias}); err != nil {
			t.Fatal(err)
		}
		// num_thread 1: Ollama's default of one thread per core spins
		// against everything else on a 2-core machine (real-ollama.md,
		// "Caveats"); /v1 requests cannot pass it, so it lives here.
		mf := fmt.Sprintf("FROM ./%s.gguf\nPARAMETER num_thread 1\n", m.Name)
		if err := os.WriteFile(filepath.Join(dir, "Modelfile."+m.Name), []byte(mf), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var s *Server
	// A free port can be taken between finding it and Ollama binding it;
	// try a few.
	for attempt := 0; attempt < 3; attempt++ {
		s, err = start(bin, dir, numParallel)
		if err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("starting ollama: %v\n%s", err, logTail(dir))
	}
	t.Cleanup(func() {
		s.Kill()
		if t.Failed() {
			t.Logf("ollama serve.log (end):\n%s", logTail(dir))
		}
	})
	for _, m := range Models {
		if out, err := s.ollama(30*time.Second, "create", m.Name, "-f", "Modelfile."+m.Name); err != nil {
			t.Fatalf("ollama create %s: %v\n%s\n%s", m.Name, err, out, logTail(dir))
		}
	}
	return s
}

func start(bin, dir string, numParallel int) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s := &Server{URL: "http://127.0.0.1:" + strconv.Itoa(port), Dir: dir, NumParallel: numParallel, bin: bin, done: make(chan struct{})}
	logf, err := os.OpenFile(filepath.Join(dir, "serve.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	s.cmd = exec.Command(bin, "serve")
	s.cmd.Dir = dir
	s.cmd.Env = s.env(map[string]string{
		"OLLAMA_MODELS":       filepath.Join(dir, "models"),
		"OLLAMA_NUM_PARALLEL": strconv.Itoa(numParallel),
		"OLLAMA_NOPRUNE":      "1",
		"OLLAMA_NO_CLOUD":     "1",
		// Keep both models loaded for the whole test: a reload in the
		// middle would put a cold start into a measured request.
		"OLLAMA_KEEP_ALIVE": "30m",
	})
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	// Its own process group, so that Kill takes the runner child with it.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { _ = s.cmd.Wait(); close(s.done) }()
	if err := s.waitReady(30 * time.Second); err != nil {
		s.Kill()
		return nil, err
	}
	return s, nil
}

// env is the environment of ollama commands: the caller's without any
// OLLAMA_* setting, HOME in the test folder (ollama writes a key pair
// there), plus extra.
func (s *Server) env(extra map[string]string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "OLLAMA_") || strings.HasPrefix(kv, "HOME=") {
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "HOME="+s.Dir, "OLLAMA_HOST="+strings.TrimPrefix(s.URL, "http://"))
	for k, v := range extra {
		env = append(env, k+"="+v)
	}
	return env
}

func (s *Server) waitReady(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return errors.New("ollama serve exited during start")
		default:
		}
		resp, err := (&http.Client{Timeout: 2 * time.Second}).Get(s.URL + "/api/version")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("ollama did not answer /api/version at %s within %s", s.URL, limit)
}

// ollama runs an ollama CLI command against this server.
func (s *Server) ollama(limit time.Duration, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.bin, args...)
	cmd.Dir = s.Dir
	cmd.Env = s.env(nil)
	return cmd.CombinedOutput()
}

// Kill stops the server and its runner at once (SIGKILL to the process
// group) and waits for it to exit. Calling it again does nothing.
func (s *Server) Kill() {
	s.once.Do(func() {
		if s.cmd == nil || s.cmd.Process == nil {
			return
		}
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
		}
	})
}

// Log returns serve.log so far.
func (s *Server) Log() string {
	b, _ := os.ReadFile(filepath.Join(s.Dir, "serve.log"))
	return string(b)
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func logTail(dir string) string {
	b, _ := os.ReadFile(filepath.Join(dir, "serve.log"))
	return string(tail(b, 3000))
}

func tail(b []byte, n int) []byte {
	b = bytes.TrimSpace(b)
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
