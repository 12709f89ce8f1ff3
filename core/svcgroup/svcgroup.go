// Package svcgroup holds the service-group grammar of the original:
// [APPLICATION.ENVIRONMENT#]SERVICE.GROUP[@ORGANIZATION], as "hab svc key
// generate" takes it and the supervisor names its groups (redis.default,
// foo.default@bazcorp, myapp.prod#redis.default). No part may be empty or
// hold '.', '@' or '#'; an organization may not hold '/', '\' or white
// space either (it names key files).
package svcgroup

import (
	"fmt"
	"regexp"
)

// Group is a parsed service group.
type Group struct {
	Application, Environment string // both or neither
	Service, Group           string
	Organization             string // optional
}

var (
	groupRE = regexp.MustCompile(`^(?:([^#@.]+)\.([^#@.]+)#)?([^#@.]+)\.([^#@.]+)(?:@([^#@.]+))?$`)
	orgRE   = regexp.MustCompile(`^[^#@./\\\s]+$`)
)

// Error is a service group or organization that does not follow the
// grammar.
type Error struct {
	Input string
	What  string // "service group" or "organization"
}

func (e *Error) Error() string {
	if e.What == "organization" {
		return fmt.Sprintf("invalid organization %q: it may not be empty or contain '.', '@', '#', '/', '\\' or white space", e.Input)
	}
	return fmt.Sprintf("invalid service group %q: expected [application.environment#]service.group[@organization], such as redis.default or foo.default@bazcorp", e.Input)
}

// Parse reads a service group.
func Parse(s string) (Group, error) {
	m := groupRE.FindStringSubmatch(s)
	if m == nil {
		return Group{}, &Error{Input: s, What: "service group"}
	}
	g := Group{Application: m[1], Environment: m[2], Service: m[3], Group: m[4], Organization: m[5]}
	if g.Organization != "" {
		if err := CheckOrganization(g.Organization); err != nil {
			return Group{}, err
		}
	}
	return g, nil
}

// CheckOrganization checks an organization's name.
func CheckOrganization(org string) error {
	if !orgRE.MatchString(org) {
		return &Error{Input: org, What: "organization"}
	}
	return nil
}

// Name is the group without its organization:
// [application.environment#]service.group.
func (g Group) Name() string {
	s := g.Service + "." + g.Group
	if g.Application != "" {
		s = g.Application + "." + g.Environment + "#" + s
	}
	return s
}

// String is the group as written: Name, then @organization when there
// is one.
func (g Group) String() string {
	if g.Organization == "" {
		return g.Name()
	}
	return g.Name() + "@" + g.Organization
}
