package main

import (
	"errors"
	"fmt"
	"testing"
)

func TestIsUsage(t *testing.T) {
	for msg, want := range map[string]bool{
		`unknown command "frob" for "hab pkg"`:         true,
		"accepts 2 arg(s), received 1":                 true,
		"accepts at most 1 arg(s), received 2":         true,
		"requires at least 1 arg(s), only received 0":  true,
		"install x: the depot received an invalid arg": false,
		"verify y: signature verification failed":      false,
	} {
		if got := isUsage(errors.New(msg)); got != want {
			t.Errorf("isUsage(%q) = %v, want %v", msg, got, want)
		}
	}
	if isUsage(fmt.Errorf("wrapped: %w", errors.New("accepts 2 arg(s), received 1"))) {
		t.Error("a command's wrapped error taken for a usage error")
	}
}
