package ident

import (
	"fmt"
	"runtime"
)

// Target is a package target: the architecture and platform a package is
// built for, such as "x86_64-linux".
type Target string

// The targets the original Habitat knows.
const (
	X86_64Linux        Target = "x86_64-linux"
	X86_64LinuxKernel2 Target = "x86_64-linux-kernel2"
	X86_64Windows      Target = "x86_64-windows"
	AArch64Linux       Target = "aarch64-linux"
	AArch64Darwin      Target = "aarch64-darwin"
	X86_64Darwin       Target = "x86_64-darwin"
)

// knownTargets lists every supported target; it is never modified.
var knownTargets = []Target{X86_64Linux, X86_64LinuxKernel2, X86_64Windows, AArch64Linux, AArch64Darwin, X86_64Darwin}

// Targets returns every supported target, in a stable order.
func Targets() []Target { return append([]Target(nil), knownTargets...) }

// ParseTarget validates a target string.
func ParseTarget(s string) (Target, error) {
	for _, t := range knownTargets {
		if string(t) == s {
			return t, nil
		}
	}
	return "", fmt.Errorf("invalid package target %q: must be one of %v", s, knownTargets)
}

// ActiveTarget is the target of the machine this binary runs on, honouring
// HAB_PKG_TARGET-style overrides done by the caller. The lookup function
// reads the environment (os.Getenv in production, a map in tests).
func ActiveTarget(getenv func(string) string) (Target, error) {
	if getenv != nil {
		if v := getenv("HAB_PKG_TARGET"); v != "" {
			return ParseTarget(v)
		}
	}
	return HostTarget()
}

// HostTarget maps the running GOOS/GOARCH to a Habitat target.
func HostTarget() (Target, error) {
	switch runtime.GOOS + "/" + runtime.GOARCH {
	case "linux/amd64":
		return X86_64Linux, nil
	case "linux/arm64":
		return AArch64Linux, nil
	case "windows/amd64":
		return X86_64Windows, nil
	case "darwin/arm64":
		return AArch64Darwin, nil
	case "darwin/amd64":
		return X86_64Darwin, nil
	}
	return "", fmt.Errorf("no Habitat package target for %s/%s", runtime.GOOS, runtime.GOARCH)
}

// String returns the target string.
func (t Target) String() string { return string(t) }
