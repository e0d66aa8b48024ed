//go:build !unix

package run

// processCPUSeconds is unknown here: workers run on Linux.
func processCPUSeconds() float64 { return 0 }
