// Package depot is reserved for the depot of hab; see the issues and CONTRIBUTING.md.
package depot
