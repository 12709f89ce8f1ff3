// Package ringtest holds the multi-supervisor end-to-end tests: real `hab
// sup run` processes, each with its own FS_ROOT and loopback ports (and,
// for partitions, its own loopback address), joined into a ring, checked
// through their HTTP gateways and the files their services render. It has
// no code of its own outside its tests.
package ringtest
