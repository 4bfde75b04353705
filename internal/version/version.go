// Package version holds the build's version.
package version

import "runtime/debug"

// Version is set with -ldflags "-X .../internal/version.Version=...", as
// make build and the Dockerfile do. Empty, String falls back to the
// module's build info.
var Version = ""

// String is the build's version: the linker's, else the main module's
// version from the build info (vX for `go install ...@vX`, a pseudo-version
// for a go build in a checkout), else "dev".
func String() string {
	if Version != "" {
		return Version
	}
	bi, _ := debug.ReadBuildInfo()
	return fromBuildInfo(bi)
}

func fromBuildInfo(bi *debug.BuildInfo) string {
	if bi == nil || bi.Main.Version == "" || bi.Main.Version == "(devel)" {
		return "dev"
	}
	return bi.Main.Version
}
