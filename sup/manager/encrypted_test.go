package manager

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/sup/census"
)

// keyCaches makes a sender's cache (the user's secret key and the
// group's public key, as hab config apply --user needs) and a receiver's
// (the group's secret key and the user's public key, as a supervisor
// needs), returning them with the key files of each pair.
func keyCaches(t *testing.T, user, sg string) (sender, receiver crypto.Cache, userPub, svcSec *crypto.KeyFile) {
	t.Helper()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	all := crypto.Cache{Dir: t.TempDir()}
	up, us, err := all.NewBoxPair(user, now)
	if err != nil {
		t.Fatal(err)
	}
	sp, ss, err := all.NewBoxPair(sg, now)
	if err != nil {
		t.Fatal(err)
	}
	sender, receiver = crypto.Cache{Dir: t.TempDir()}, crypto.Cache{Dir: t.TempDir()}
	if _, err := sender.Import(us.KeyFile(), sp.KeyFile()); err != nil {
		t.Fatal(err)
	}
	if _, err := receiver.Import(ss.KeyFile(), up.KeyFile()); err != nil {
		t.Fatal(err)
	}
	return sender, receiver, up.KeyFile(), ss.KeyFile()
}

type warnings struct{ bytes.Buffer }

func (w *warnings) say(format string, a ...any) { fmt.Fprintf(&w.Buffer, format+"\n", a...) }

func TestEncryptedConfigAndFileOpen(t *testing.T) {
	const sg = "redis.default@e2e"
	sender, receiver, _, _ := keyCaches(t, "mctesterson", sg)
	ring := census.NewRing(census.Member{ID: "me"})
	var w warnings
	o := newOpened(ring, receiver, slog.New(slog.DiscardHandler), w.say)

	sealed, err := Encrypt(sender, "mctesterson", sg, []byte("port = 2112\n"))
	if err != nil {
		t.Fatal(err)
	}
	if sealed.User.Name != "mctesterson" || sealed.Service.Name != sg || !bytes.HasPrefix(sealed.Body, []byte("BOX-1\nmctesterson-")) {
		t.Fatalf("sealed: user %s, service %s, body %q", sealed.User, sealed.Service, sealed.Body)
	}
	if bytes.Contains(sealed.Body, []byte("2112")) {
		t.Fatalf("the sealed body holds the clear text: %q", sealed.Body)
	}
	file, err := Encrypt(sender, "mctesterson", sg, []byte("secret file\n"))
	if err != nil {
		t.Fatal(err)
	}
	ring.Configs.Insert(census.ServiceConfig{ServiceGroup: sg, Incarnation: 1, Encrypted: true, Config: string(sealed.Body)})
	ring.Files.Insert(census.ServiceFile{ServiceGroup: sg, Incarnation: 1, Encrypted: true, Filename: "message.txt", Body: file.Body})
	ring.Configs.Insert(census.ServiceConfig{ServiceGroup: "plain.default", Incarnation: 3, Config: "a = 1\n"})
	o.sync(time.Now())

	c, ok := o.Configs.Get(sg, "service_config")
	if !ok || c.Config != "port = 2112\n" || c.Encrypted || c.Incarnation != 1 {
		t.Errorf("opened config = %+v, %v", c, ok)
	}
	f, ok := o.Files.Get(sg, "message.txt")
	if !ok || string(f.Body) != "secret file\n" || f.Encrypted {
		t.Errorf("opened file = %+v, %v", f, ok)
	}
	if c, ok := o.Configs.Get("plain.default", "service_config"); !ok || c.Config != "a = 1\n" {
		t.Errorf("plain config = %+v, %v", c, ok)
	}
	// The ring's stores keep the rumors as they travel: encrypted.
	if raw, _ := ring.Configs.Get(sg, "service_config"); !raw.Encrypted || raw.Config != string(sealed.Body) {
		t.Errorf("the ring's rumor changed: %+v", raw)
	}
	if w.Len() != 0 {
		t.Errorf("warnings: %s", w.String())
	}
}

// TestEncryptedRumorThatDoesNotOpen: every way a rumor fails to open
// keeps the previous value and warns once naming the rumor; a retry
// before its time does not try again, and once the missing key is in the
// cache the retry opens it.
func TestEncryptedRumorThatDoesNotOpen(t *testing.T) {
	const sg = "redis.default@e2e"
	cases := []struct {
		name string
		// prepare returns the rumor's body and what makes it open later
		// (nil: it never opens).
		prepare func(t *testing.T, sender, receiver crypto.Cache, userPub, svcSec *crypto.KeyFile) (body []byte, fix func())
		want    string
	}{
		{"the user's public key is missing", func(t *testing.T, sender, receiver crypto.Cache, userPub, _ *crypto.KeyFile) ([]byte, func()) {
			removeKey(t, receiver, userPub)
			return seal(t, sender, sg, "port = 2\n"), func() { importKey(t, receiver, userPub) }
		}, "mctesterson-20260101000000"},
		{"the service group's secret key is missing", func(t *testing.T, sender, receiver crypto.Cache, _, svcSec *crypto.KeyFile) ([]byte, func()) {
			removeKey(t, receiver, svcSec)
			return seal(t, sender, sg, "port = 2\n"), func() { importKey(t, receiver, svcSec) }
		}, sg + "-20260101000000"},
		{"tampered ciphertext", func(t *testing.T, sender, _ crypto.Cache, _, _ *crypto.KeyFile) ([]byte, func()) {
			b := seal(t, sender, sg, "port = 2\n")
			i := bytes.LastIndexByte(b, '\n') + 3 // a base64 letter of the ciphertext
			if b[i] == 'A' {
				b[i] = 'B'
			} else {
				b[i] = 'A'
			}
			return b, nil
		}, "does not open"},
		{"encrypted for another group", func(t *testing.T, sender, receiver crypto.Cache, _, _ *crypto.KeyFile) ([]byte, func()) {
			now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			_, sec, err := sender.NewBoxPair("other.default@e2e", now)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := receiver.Import(sec.KeyFile()); err != nil {
				t.Fatal(err)
			}
			return seal(t, sender, "other.default@e2e", "port = 2\n"), nil
		}, "not for the service group's key " + sg},
		{"not a BOX-1 message", func(t *testing.T, _, _ crypto.Cache, _, _ *crypto.KeyFile) ([]byte, func()) {
			return []byte("port = 2\n"), nil
		}, "configuration 2 of " + sg},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sender, receiver, userPub, svcSec := keyCaches(t, "mctesterson", sg)
			ring := census.NewRing(census.Member{ID: "me"})
			var w warnings
			o := newOpened(ring, receiver, slog.New(slog.DiscardHandler), w.say)
			ring.Configs.Insert(census.ServiceConfig{ServiceGroup: sg, Incarnation: 1, Config: "port = 1\n"})
			now := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
			o.sync(now)
			body, fix := tc.prepare(t, sender, receiver, userPub, svcSec)
			ring.Configs.Insert(census.ServiceConfig{ServiceGroup: sg, Incarnation: 2, Encrypted: true, Config: string(body)})
			o.sync(now)
			if c, _ := o.Configs.Get(sg, "service_config"); c.Incarnation != 1 || c.Config != "port = 1\n" {
				t.Fatalf("the previous configuration was not kept: %+v", c)
			}
			got := w.String()
			if strings.Count(got, "\n") != 1 || !strings.Contains(got, "Cannot decrypt configuration 2 of "+sg+", keeping the previous configuration") || !strings.Contains(got, tc.want) {
				t.Fatalf("warning %q, want one naming the rumor and %q", got, tc.want)
			}
			if fix == nil {
				// Retries warn no more.
				for i := 1; i < 10; i++ {
					o.sync(now.Add(time.Duration(i) * openRetryMax))
				}
				if w.String() != got {
					t.Errorf("retries warned again: %q", w.String())
				}
				return
			}
			fix()
			o.sync(now.Add(openRetryMin / 2))
			if c, _ := o.Configs.Get(sg, "service_config"); c.Incarnation != 1 {
				t.Fatalf("opened before the retry was due: %+v", c)
			}
			o.sync(now.Add(openRetryMin))
			if c, _ := o.Configs.Get(sg, "service_config"); c.Incarnation != 2 || c.Config != "port = 2\n" {
				t.Fatalf("the retry did not open the configuration: %+v", c)
			}
		})
	}
}

// TestEncryptedRetryBacksOff: the wait between attempts doubles up to
// openRetryMax.
func TestEncryptedRetryBacksOff(t *testing.T) {
	const sg = "redis.default@e2e"
	sender, receiver, userPub, _ := keyCaches(t, "mctesterson", sg)
	removeKey(t, receiver, userPub)
	ring := census.NewRing(census.Member{ID: "me"})
	o := newOpened(ring, receiver, slog.New(slog.DiscardHandler), func(string, ...any) {})
	ring.Files.Insert(census.ServiceFile{ServiceGroup: sg, Incarnation: 1, Encrypted: true, Filename: "f", Body: seal(t, sender, sg, "x")})
	now := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	o.sync(now)
	var waits []time.Duration
	for range 9 {
		r := o.pending["file "+sg+" f"]
		waits = append(waits, r.next.Sub(now))
		now = r.next
		o.sync(now)
	}
	want := []time.Duration{1, 2, 4, 8, 16, 32, 60, 60, 60}
	for i := range want {
		if waits[i] != want[i]*time.Second {
			t.Fatalf("waits %v, want %v seconds", waits, want)
		}
	}
}

func TestEncryptMissingKeys(t *testing.T) {
	const sg = "redis.default@e2e"
	sender, _, _, _ := keyCaches(t, "mctesterson", sg)
	for _, tc := range []struct{ user, sg, want string }{
		{"nobody", sg, "encrypt for " + sg + " as user nobody: user key"},
		{"mctesterson", "redis.default@other", "encrypt for redis.default@other as user mctesterson: service key"},
		{"mctesterson", "redis.default", "encrypt for redis.default as user mctesterson: service key"},
	} {
		if _, err := Encrypt(sender, tc.user, tc.sg, []byte("x")); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Encrypt(%s, %s) = %v, want %q", tc.user, tc.sg, err, tc.want)
		}
	}
}

func seal(t *testing.T, keys crypto.Cache, sg, body string) []byte {
	t.Helper()
	s, err := Encrypt(keys, "mctesterson", sg, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return s.Body
}

func removeKey(t *testing.T, c crypto.Cache, kf *crypto.KeyFile) {
	t.Helper()
	if err := os.Remove(c.Path(kf.Type, kf.NamedRevision)); err != nil {
		t.Fatal(err)
	}
}

func importKey(t *testing.T, c crypto.Cache, kf *crypto.KeyFile) {
	t.Helper()
	if _, err := c.Import(kf); err != nil {
		t.Fatal(err)
	}
}
