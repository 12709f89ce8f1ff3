// Package sup is reserved for the sup of hab; see the issues and CONTRIBUTING.md.
package sup
