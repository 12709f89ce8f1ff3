package butterfly

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/habgo/hab/core/crypto"
)

// The first byte of every packet and stream says how the rest travels.
const (
	wirePlain  byte = 'P' // memberlist's bytes as they are: a ring without a key
	wireSealed byte = 'S' // sealed with the ring key: nonce, then secretbox ciphertext
)

// maxFrame bounds one sealed stream frame (memberlist's push-pull states
// are written in pieces far smaller than this).
const maxFrame = 16 << 20

// ringTransport wraps memberlist's network transport: everything leaving
// is sealed with the ring key (crypto.RingKey, secretbox as the
// original's wire messages), everything arriving that does not open with
// it is dropped and the log says why; a Partition, when set, drops what
// goes between chosen members.
type ringTransport struct {
	inner     memberlist.Transport
	key       *crypto.RingKey
	partition *Partition
	self      string
	log       *slog.Logger
	// local is the listen address's IP when it names one (not 0.0.0.0):
	// streams leave from it, as packets do, so that the member is the
	// same address on every path (a multi-homed host, a firewall rule).
	local net.IP

	packets chan *memberlist.Packet
	streams chan net.Conn
	closing chan struct{} // closed first on shutdown: arrivals are dropped, the inner transport drained
	done    chan struct{} // closed once the inner transport has shut down
	once    sync.Once

	mu     sync.Mutex
	warned map[string]time.Time
}

func newRingTransport(inner memberlist.Transport, key *crypto.RingKey, p *Partition, self string, log *slog.Logger) *ringTransport {
	t := &ringTransport{
		inner: inner, key: key, partition: p, self: self, log: log,
		packets: make(chan *memberlist.Packet), streams: make(chan net.Conn),
		closing: make(chan struct{}), done: make(chan struct{}), warned: map[string]time.Time{},
	}
	go t.readPackets()
	go t.readStreams()
	return t
}

func (t *ringTransport) FinalAdvertiseAddr(ip string, port int) (net.IP, int, error) {
	return t.inner.FinalAdvertiseAddr(ip, port)
}

func (t *ringTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	if t.partition.Blocked(t.self, addr) {
		return time.Now(), nil // lost on the way, as UDP may be
	}
	msg, err := t.seal(b)
	if err != nil {
		return time.Time{}, err
	}
	return t.inner.WriteTo(msg, addr)
}

func (t *ringTransport) PacketCh() <-chan *memberlist.Packet { return t.packets }
func (t *ringTransport) StreamCh() <-chan net.Conn           { return t.streams }

func (t *ringTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	if t.partition.Blocked(t.self, addr) {
		return nil, fmt.Errorf("dial %s: dropped by the partition", addr)
	}
	var c net.Conn
	var err error
	if t.local != nil {
		d := net.Dialer{Timeout: timeout, LocalAddr: &net.TCPAddr{IP: t.local}}
		c, err = d.Dial("tcp", addr)
	} else {
		c, err = t.inner.DialTimeout(addr, timeout)
	}
	if err != nil {
		return nil, err
	}
	kind := wirePlain
	if t.key != nil {
		kind = wireSealed
	}
	if _, err := c.Write([]byte{kind}); err != nil {
		c.Close()
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	if t.key == nil {
		return c, nil
	}
	return &sealedConn{Conn: c, key: t.key, r: bufio.NewReader(c)}, nil
}

func (t *ringTransport) Shutdown() error {
	var err error
	t.once.Do(func() {
		close(t.closing)
		err = t.inner.Shutdown()
		close(t.done)
	})
	return err
}

func (t *ringTransport) seal(b []byte) ([]byte, error) {
	if t.key == nil {
		return append([]byte{wirePlain}, b...), nil
	}
	nonce, ct, err := t.key.Encrypt(b)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, 1+len(nonce)+len(ct))
	out = append(out, wireSealed)
	out = append(out, nonce...)
	return append(out, ct...), nil
}

// open returns the memberlist bytes of a packet, or why it is refused.
func (t *ringTransport) open(msg []byte) ([]byte, error) {
	if len(msg) == 0 {
		return nil, errors.New("empty message")
	}
	switch {
	case msg[0] == wirePlain && t.key == nil:
		return msg[1:], nil
	case msg[0] == wirePlain:
		return nil, fmt.Errorf("the sender gossips without a ring key; this ring uses ring key %s", t.key.NamedRevision)
	case msg[0] == wireSealed && t.key == nil:
		return nil, errors.New("the sender encrypts its gossip with a ring key; this supervisor has none (--ring)")
	case msg[0] == wireSealed:
		if len(msg) < 1+crypto.RingNonceSize {
			return nil, errors.New("sealed message too short")
		}
		out, err := t.key.Decrypt(msg[1:1+crypto.RingNonceSize], msg[1+crypto.RingNonceSize:])
		if err != nil {
			return nil, fmt.Errorf("the sender uses another ring key: %w", err)
		}
		return out, nil
	}
	return nil, fmt.Errorf("not a gossip message (first byte %#x)", msg[0])
}

// refuse logs why gossip from a peer was dropped, once a minute per peer.
func (t *ringTransport) refuse(from string, what string, err error) {
	host, _, _ := net.SplitHostPort(from)
	if host == "" {
		host = from
	}
	host += " " + err.Error() // once a minute per peer host and reason
	t.mu.Lock()
	now := time.Now()
	if last, ok := t.warned[host]; ok && now.Sub(last) < time.Minute {
		t.mu.Unlock()
		return
	}
	t.warned[host] = now
	t.mu.Unlock()
	t.log.Warn("gossip dropped: error unwrapping protocol message", "from", from, "kind", what, "err", err)
}

func (t *ringTransport) readPackets() {
	for {
		select {
		case <-t.done:
			return
		case p, ok := <-t.inner.PacketCh():
			if !ok {
				return
			}
			buf, err := t.open(p.Buf)
			if err != nil {
				t.refuse(p.From.String(), "packet", err)
				continue
			}
			p.Buf = buf
			select {
			case t.packets <- p:
			case <-t.closing:
			}
		}
	}
}

func (t *ringTransport) readStreams() {
	for {
		select {
		case <-t.done:
			return
		case c, ok := <-t.inner.StreamCh():
			if !ok {
				return
			}
			go t.acceptStream(c)
		}
	}
}

func (t *ringTransport) acceptStream(c net.Conn) {
	var kind [1]byte
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(c, kind[:]); err != nil {
		c.Close()
		return
	}
	c.SetReadDeadline(time.Time{})
	var conn net.Conn = c
	switch {
	case kind[0] == wirePlain && t.key == nil:
	case kind[0] == wireSealed && t.key != nil:
		sc := &sealedConn{Conn: c, key: t.key, r: bufio.NewReader(c)}
		// The first frame proves the key before memberlist sees the stream.
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if err := sc.fill(); err != nil {
			t.refuse(c.RemoteAddr().String(), "stream", err)
			c.Close()
			return
		}
		c.SetReadDeadline(time.Time{})
		conn = sc
	default:
		_, err := t.open(kind[:])
		t.refuse(c.RemoteAddr().String(), "stream", err)
		c.Close()
		return
	}
	select {
	case t.streams <- conn:
	case <-t.closing:
		c.Close()
	}
}

// sealedConn carries a stream as frames: a 4-byte length, the nonce, the
// secretbox ciphertext.
type sealedConn struct {
	net.Conn
	key  *crypto.RingKey
	r    *bufio.Reader
	wmu  sync.Mutex
	rbuf []byte
}

func (c *sealedConn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	written := 0
	for len(p) > 0 {
		n := min(len(p), 64<<10)
		nonce, ct, err := c.key.Encrypt(p[:n])
		if err != nil {
			return written, err
		}
		frame := make([]byte, 4, 4+len(nonce)+len(ct))
		binary.BigEndian.PutUint32(frame, uint32(len(nonce)+len(ct)))
		frame = append(append(frame, nonce...), ct...)
		if _, err := c.Conn.Write(frame); err != nil {
			return written, err
		}
		written += n
		p = p[n:]
	}
	return written, nil
}

func (c *sealedConn) Read(p []byte) (int, error) {
	if len(c.rbuf) == 0 {
		if err := c.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, c.rbuf)
	c.rbuf = c.rbuf[n:]
	return n, nil
}

func (c *sealedConn) fill() error {
	var hdr [4]byte
	if _, err := io.ReadFull(c.r, hdr[:]); err != nil {
		return err
	}
	size := binary.BigEndian.Uint32(hdr[:])
	if size < crypto.RingNonceSize || size > maxFrame {
		return fmt.Errorf("sealed frame of %d bytes: the sender uses another ring key or none", size)
	}
	frame := make([]byte, size)
	if _, err := io.ReadFull(c.r, frame); err != nil {
		return err
	}
	out, err := c.key.Decrypt(frame[:crypto.RingNonceSize], frame[crypto.RingNonceSize:])
	if err != nil {
		return fmt.Errorf("the sender uses another ring key: %w", err)
	}
	c.rbuf = out
	return nil
}

// Partition drops gossip between chosen members, for tests of a split
// network: a member's packets and connections to a member it is cut off
// from are lost. One Partition is shared by the members it splits.
type Partition struct {
	mu  sync.RWMutex
	cut map[[2]string]bool
}

// NewPartition returns a partition that drops nothing.
func NewPartition() *Partition { return &Partition{cut: map[[2]string]bool{}} }

// Cut drops everything between every member of a and every member of b
// (gossip addresses, host:port), both ways.
func (p *Partition) Cut(a, b []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, x := range a {
		for _, y := range b {
			p.cut[[2]string{x, y}] = true
			p.cut[[2]string{y, x}] = true
		}
	}
}

// Heal drops nothing any more.
func (p *Partition) Heal() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = map[[2]string]bool{}
}

// Blocked reports whether gossip from one address to another is dropped.
func (p *Partition) Blocked(from, to string) bool {
	if p == nil {
		return false
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.cut[[2]string{from, to}]
}
