package svcgroup

import (
	"errors"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want Group
		err  bool
	}{
		{in: "redis.default", want: Group{Service: "redis", Group: "default"}},
		{in: "foo.default@bazcorp", want: Group{Service: "foo", Group: "default", Organization: "bazcorp"}},
		{in: "myapp.prod#redis.default", want: Group{Application: "myapp", Environment: "prod", Service: "redis", Group: "default"}},
		{in: "myapp.prod#redis.default@acme", want: Group{Application: "myapp", Environment: "prod", Service: "redis", Group: "default", Organization: "acme"}},
		{in: "redis-2.blue_green", want: Group{Service: "redis-2", Group: "blue_green"}},
		{in: "redis", err: true},
		{in: "", err: true},
		{in: ".default", err: true},
		{in: "redis.", err: true},
		{in: "redis.default.extra", err: true},
		{in: "redis.default@", err: true},
		{in: "redis.default@a.b", err: true},
		{in: "redis.default@a@b", err: true},
		{in: "redis.default@a/b", err: true},
		{in: "redis.default@a b", err: true},
		{in: "redis.default@a\tb", err: true},
		{in: "myapp#redis.default", err: true},
		{in: "a.b.c#redis.default", err: true},
		{in: "#redis.default", err: true},
		{in: "myapp.prod#redis", err: true},
		{in: "a.b#c.d#e.f", err: true},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if tt.err {
			var e *Error
			if !errors.As(err, &e) || e.Input == "" && tt.in != "" {
				t.Errorf("Parse(%q) = %+v, %v; want an *Error", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			continue
		}
		if got.String() != tt.in {
			t.Errorf("Parse(%q).String() = %q", tt.in, got.String())
		}
	}
}

func TestName(t *testing.T) {
	g, err := Parse("myapp.prod#redis.default@acme")
	if err != nil || g.Name() != "myapp.prod#redis.default" {
		t.Errorf("Name = %q, %v", g.Name(), err)
	}
}

func TestCheckOrganization(t *testing.T) {
	for org, ok := range map[string]bool{"acme": true, "bazcorp-2": true, "": false, "a.b": false, "a@b": false, "a#b": false, "a/b": false, `a\b`: false, "a b": false, "a\nb": false} {
		if err := CheckOrganization(org); (err == nil) != ok {
			t.Errorf("CheckOrganization(%q) = %v", org, err)
		}
	}
}
