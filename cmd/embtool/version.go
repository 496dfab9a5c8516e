package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Set by release builds (GoReleaser, .goreleaser.yaml):
// -ldflags "-X main.version=... -X main.commit=... -X main.date=...".
var (
	version = ""
	commit  = ""
	date    = ""
)

// versionString is what --version prints: the stamped version, commit and
// date, or else what the Go toolchain recorded (the module version for
// `go install …@v1.2.3`, "(devel)" or a pseudo-version for a checkout
// build, and the VCS revision and time when built from a Git checkout).
func versionString() string {
	return formatVersion(version, commit, date, readBuildInfo())
}

var readBuildInfo = func() *debug.BuildInfo {
	bi, _ := debug.ReadBuildInfo()
	return bi
}

func formatVersion(v, c, d string, bi *debug.BuildInfo) string {
	if bi != nil {
		if v == "" {
			v = bi.Main.Version
		}
		modified, fromBuild := false, false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if c == "" {
					c, fromBuild = s.Value, true
				}
			case "vcs.time":
				if d == "" {
					d = s.Value
				}
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if modified && fromBuild {
			c += "-dirty"
		}
	}
	if v == "" {
		v = "(devel)"
	}
	if c == "" {
		c = "unknown"
	}
	if d == "" {
		d = "unknown"
	}
	return fmt.Sprintf("embtool %s (commit %s, built %s, %s %s/%s)", v, c, d, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
