// Package studio is reserved for the studio of hab; see the issues and CONTRIBUTING.md.
package studio
