package main

// version is set at link time (-ldflags "-X main.version=...").
var version = "0.1.0-dev"
