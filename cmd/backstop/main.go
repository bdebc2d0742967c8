// Command backstop is the one Backstop binary: the web app, the background
// workers, the Virtuous simulator, the demo, and the operator's commands.
// It parses flags and the environment and calls into internal packages; no
// business logic lives here.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"backstop/internal/derrors"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	stopProfile := startCPUProfile(os.Getenv)
	err := run(ctx, os.Args[1:], &stdio{in: os.Stdin, out: os.Stdout, err: os.Stderr, getenv: os.Getenv})
	stopProfile()
	if err != nil {
		if !errors.Is(err, errUsageShown) {
			fmt.Fprintln(os.Stderr, "backstop:", message(err))
		}
		os.Exit(exitCode(err))
	}
}

// message is what the command prints for err: for bad input the part meant
// for the person who typed it, for anything else the whole chain (an
// operator looking into a failure wants every step).
func message(err error) string {
	if exitCode(err) == 2 {
		return derrors.Public(err)
	}
	return err.Error()
}

// stdio is what a command may touch of the process, so tests can run
// commands in-process with their own input, output and environment.
type stdio struct {
	in     io.Reader
	out    io.Writer
	err    io.Writer
	getenv func(string) string
}

// errUsageShown: the usage text was printed; exit 2 without another message.
var errUsageShown = errors.New("usage")

// exitCode: 2 for bad input (nothing was done), 1 for everything else.
func exitCode(err error) int {
	if errors.Is(err, errUsageShown) || errors.Is(err, derrors.InvalidArgument) ||
		errors.Is(err, derrors.AlreadyExists) || errors.Is(err, derrors.NotFound) {
		return 2
	}
	return 1
}
