// Command tinygguf writes the tiny random-weight llama model used by the
// Ollama end-to-end tests:
//
//	go run ./test/ollama/gguf/cmd/tinygguf -o tiny.gguf -eos-bias -1
//	go run ./test/ollama/gguf/cmd/tinygguf -o tiny-stop.gguf -eos-bias 1
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/llmbench/kubectl-llmbench/test/ollama/gguf"
)

func main() {
	out := flag.String("o", "tiny.gguf", "output file")
	seed := flag.Uint64("seed", 1, "seed of the random weights")
	eos := flag.Float64("eos-bias", -1, "negative: </s> never wins; positive: generations stop by themselves")
	flag.Parse()
	if err := gguf.WriteTiny(*out, gguf.TinyOptions{Seed: *seed, EOSBias: *eos}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
