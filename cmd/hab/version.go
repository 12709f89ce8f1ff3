package main

// version is set at link time (-ldflags "-X main.version=...").
var version = "0.1.0-dev"

// versionLine is what hab --version (-V) prints: "hab VERSION", as the
// original's (cobra's own template would say "hab version VERSION").
const versionLine = "{{.Name}} {{.Version}}\n"
