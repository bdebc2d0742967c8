package main

import (
	"context"
	"flag"
	"fmt"
	"runtime/debug"
)

// version is set with -ldflags "-X main.version=…"; otherwise the VCS stamp.
var version = ""

func versionCmd() *command {
	return &command{name: "version", summary: "print the version",
		flags: func(fs *flag.FlagSet) func(context.Context, *stdio, []string) error {
			return func(_ context.Context, io *stdio, _ []string) error {
				fmt.Fprintln(io.out, "backstop", buildVersion())
				return nil
			}
		}}
}

func buildVersion() string {
	if version != "" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	rev, dirty := "", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return info.Main.Version
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "-dirty"
	}
	return rev + " (" + info.GoVersion + ")"
}
