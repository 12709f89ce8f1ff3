package service

import (
	"testing"
	"time"
)

// TestBackoff: the first wait is the minimum, each next one is between the
// minimum and three times the last, never over the maximum; with the
// defaults (0, 0) restarts are immediate; a maximum under the minimum
// is the minimum.
func TestBackoff(t *testing.T) {
	for _, tt := range []struct{ min, max time.Duration }{
		{time.Second, 8 * time.Second},
		{2 * time.Second, 0},
		{0, 0},
	} {
		s := &Service{opts: Options{MinBackoff: tt.min, MaxBackoff: tt.max}}
		var prev time.Duration
		grew := false
		for i := 0; i < 200; i++ {
			s.scheduleRestart()
			b := s.backoff
			switch {
			case i == 0 && b != tt.min:
				t.Fatalf("%v/%v: first backoff %v", tt.min, tt.max, b)
			case b < tt.min || (tt.max > 0 && b > tt.max) || (i > 0 && b > 3*prev && b > tt.min):
				t.Fatalf("%v/%v: backoff %v after %v", tt.min, tt.max, b, prev)
			}
			grew = grew || b > tt.min
			prev = b
		}
		if tt.max > tt.min && !grew {
			t.Errorf("%v/%v: the backoff never grew", tt.min, tt.max)
		}
		if tt.min == 0 && prev != 0 {
			t.Errorf("default backoff %v", prev)
		}
	}
}
