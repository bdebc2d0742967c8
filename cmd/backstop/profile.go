package main

import (
	"fmt"
	"os"
	"runtime/pprof"
)

// startCPUProfile writes a CPU profile of the whole process to the file
// named by BACKSTOP_CPU_PROFILE, for benchmarks that run `backstop serve` as
// a subprocess (go tool pprof reads it). It is off unless that variable is
// set, and it opens nothing on the network: a profile is a local file the
// operator asked for, never an endpoint. The returned stop flushes it; the
// command must call it before exiting.
func startCPUProfile(getenv func(string) string) (stop func()) {
	path := getenv("BACKSTOP_CPU_PROFILE")
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "backstop: BACKSTOP_CPU_PROFILE:", err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
