// Package planner is reserved for the planner of hab; see the issues and CONTRIBUTING.md.
package planner
