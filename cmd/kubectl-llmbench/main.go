package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/llmbench/kubectl-llmbench/pkg/plugin"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

func main() {
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	if err := plugin.NewCmdRoot(streams).Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		var exit *plugin.ExitError
		if errors.As(err, &exit) {
			os.Exit(exit.Code)
		}
		os.Exit(1)
	}
}
