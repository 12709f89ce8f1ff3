package manager

import (
	"encoding/base64"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/crypto/nacl/box"

	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/sup/census"
)

// Backoff of a rumor that does not open: the first retry after
// openRetryMin, doubling up to openRetryMax.
const (
	openRetryMin = time.Second
	openRetryMax = time.Minute
)

// opened holds the applied configurations and uploaded files of the
// ring's rumor stores as the services use them. The ring's stores keep
// the rumors as they travel, so that an encrypted one (hab config apply
// --user, hab file upload --user) is gossiped, shown and saved encrypted;
// here a plain rumor is kept as it is and an encrypted one opened with the
// service group's secret key and the user's public key from the
// supervisor's key cache, as the original's census does.
//
// A rumor that does not open (the key cache lacks one of the keys, the
// message was made for another group or was tampered with) leaves the
// previous value in place: the service keeps rendering with it. The
// failure is logged once as a warning, and opening is tried again after
// openRetryMin, doubling up to openRetryMax, so that a key imported later
// takes effect without another apply.
type opened struct {
	ring *census.Ring
	keys crypto.Cache
	log  *slog.Logger
	say  func(format string, a ...any)

	Configs *census.Store[census.ServiceConfig]
	Files   *census.Store[census.ServiceFile]

	mu      sync.Mutex
	seen    uint64            // the ring stores' counters at the last full pass
	pending map[string]*retry // rumors that did not open, by what they are
}

// retry is a rumor that did not open: its incarnation, when to try again
// and the wait after that.
type retry struct {
	incarnation uint64
	next        time.Time
	wait        time.Duration
}

// newOpened returns the opened stores of ring, which its census shows
// (/census) in place of the rumors as they travel.
func newOpened(ring *census.Ring, keys crypto.Cache, log *slog.Logger, say func(string, ...any)) *opened {
	o := &opened{
		ring: ring, keys: keys, log: log, say: say,
		Configs: census.NewStore[census.ServiceConfig](),
		Files:   census.NewStore[census.ServiceFile](),
		pending: map[string]*retry{},
	}
	ring.SetOpened(o.Configs, o.Files)
	return o
}

// sync takes every rumor of the ring's stores newer than the one held
// here: plain ones as they are, encrypted ones once they open. It does
// nothing when no store changed and no retry is due.
func (o *opened) sync(now time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	counters := o.ring.Configs.Counter() + o.ring.Files.Counter()
	if counters == o.seen && !o.due(now) {
		return
	}
	o.seen = counters
	for sg, byID := range o.ring.Configs.All() {
		for _, c := range byID {
			if held, ok := o.Configs.Get(sg, c.RumorID()); ok && held.Incarnation >= c.Incarnation {
				continue
			}
			what := fmt.Sprintf("configuration %d of %s", c.Incarnation, sg)
			body, ok := o.open(now, "config "+sg, c.Incarnation, c.Encrypted, []byte(c.Config), sg, what, "the previous configuration")
			if !ok {
				continue
			}
			c.Config, c.Encrypted = string(body), false
			o.Configs.Insert(c)
		}
	}
	for sg, byName := range o.ring.Files.All() {
		for _, f := range byName {
			if held, ok := o.Files.Get(sg, f.Filename); ok && held.Incarnation >= f.Incarnation {
				continue
			}
			what := fmt.Sprintf("file %s %d of %s", f.Filename, f.Incarnation, sg)
			body, ok := o.open(now, "file "+sg+" "+f.Filename, f.Incarnation, f.Encrypted, f.Body, sg, what, "the previous file")
			if !ok {
				continue
			}
			f.Body, f.Encrypted = body, false
			o.Files.Insert(f)
		}
	}
}

// due tells whether a retry is due. Called with o.mu held.
func (o *opened) due(now time.Time) bool {
	for _, r := range o.pending {
		if !now.Before(r.next) {
			return true
		}
	}
	return false
}

// open returns a rumor's body in the clear. key names the rumor (its
// group and file) for the retry table, sg is the group the message must
// be addressed to, what and kept describe it in the warning. Called with
// o.mu held.
func (o *opened) open(now time.Time, key string, incarnation uint64, encrypted bool, body []byte, sg, what, kept string) ([]byte, bool) {
	if !encrypted {
		delete(o.pending, key)
		return body, true
	}
	r := o.pending[key]
	if r != nil && r.incarnation == incarnation && now.Before(r.next) {
		return nil, false
	}
	plain, err := o.decrypt(body, sg, what)
	if err == nil {
		delete(o.pending, key)
		return plain, true
	}
	if r == nil || r.incarnation != incarnation {
		r = &retry{incarnation: incarnation, wait: openRetryMin}
		o.pending[key] = r
		msg := fmt.Sprintf("Cannot decrypt %s, keeping %s (trying again with a backoff): %v", what, kept, err)
		o.say("%s", msg)
		o.log.Warn(msg)
	} else {
		o.log.Debug("still cannot decrypt", "rumor", what, "error", err)
		r.wait = min(2*r.wait, openRetryMax)
	}
	r.next = now.Add(r.wait)
	return nil, false
}

// decrypt opens a BOX-1 message addressed to sg's service key.
func (o *opened) decrypt(body []byte, sg, what string) ([]byte, error) {
	m, err := crypto.ParseSignedBox(body, what)
	if err != nil {
		return nil, err
	}
	if m.Receiver.Name != sg {
		return nil, fmt.Errorf("%s is encrypted for %s, not for the service group's key %s", what, m.Receiver, sg)
	}
	return o.keys.Decrypt(body, what)
}

// Sealed is a configuration or file encrypted for a service group.
type Sealed struct {
	Body          []byte
	User, Service crypto.NamedRevision // the keys used
}

// Encrypt seals body for serviceGroup (service.group@org) as hab config
// apply --user and hab file upload --user do: a BOX-1 message from the
// user's newest secret key to the group's newest public service key,
// both from keys. A supervisor opens it with the group's secret key and
// the user's public key.
func Encrypt(keys crypto.Cache, user, serviceGroup string, body []byte) (*Sealed, error) {
	sec, err := keys.LatestBoxSecretKey(user)
	if err != nil {
		return nil, fmt.Errorf("encrypt for %s as user %s: user key: %w", serviceGroup, user, err)
	}
	pub, err := keys.LatestBoxPublicKey(serviceGroup)
	if err != nil {
		return nil, fmt.Errorf("encrypt for %s as user %s: service key: %w", serviceGroup, user, err)
	}
	m, err := sec.EncryptFor(body, pub)
	if err != nil {
		return nil, fmt.Errorf("encrypt for %s as user %s: %w", serviceGroup, user, err)
	}
	return &Sealed{Body: []byte(m.String()), User: sec.NamedRevision, Service: pub.NamedRevision}, nil
}

// maxPayload is the largest config or file body a request may carry:
// MaxPayload, or when it is encrypted the size of MaxPayload bytes sealed
// (base64 of the ciphertext and its authenticator, and the message's four
// header lines, each at most a key name).
func maxPayload(encrypted bool) int {
	if !encrypted {
		return MaxPayload
	}
	return base64.StdEncoding.EncodedLen(MaxPayload+box.Overhead) + 1024
}
