// Package exporters is reserved for the exporters of hab; see the issues and CONTRIBUTING.md.
package exporters
