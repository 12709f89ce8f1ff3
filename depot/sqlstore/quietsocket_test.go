package sqlstore

import (
	"net"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// TestQuietSocket: an idle open connection is quiet; one with bytes
// nobody asked for, one the other end closed, and one that is not a
// socket are not (their pooled connection gets pinged).
func TestQuietSocket(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dial := func(t *testing.T) (client, server net.Conn) {
		t.Helper()
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		s, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close(); s.Close() })
		return c, s
	}
	// awaitReadable blocks until c has something to read (a byte or the
	// end of the stream), without taking it.
	awaitReadable := func(t *testing.T, c net.Conn) {
		t.Helper()
		rc, err := c.(syscall.Conn).SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		var perr error
		if err := rc.Control(func(fd uintptr) {
			_, perr = unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, -1)
		}); err != nil || perr != nil {
			t.Fatal(err, perr)
		}
	}
	t.Run("idle", func(t *testing.T) {
		c, _ := dial(t)
		if !quietSocket(c) {
			t.Error("an idle open connection is not quiet")
		}
	})
	t.Run("unasked bytes", func(t *testing.T) {
		c, s := dial(t)
		if _, err := s.Write([]byte("N")); err != nil {
			t.Fatal(err)
		}
		awaitReadable(t, c)
		if quietSocket(c) {
			t.Error("a connection with bytes to read is quiet")
		}
	})
	t.Run("closed by the other end", func(t *testing.T) {
		c, s := dial(t)
		s.Close()
		awaitReadable(t, c)
		if quietSocket(c) {
			t.Error("a connection the server closed is quiet")
		}
	})
	t.Run("not a socket", func(t *testing.T) {
		a, b := net.Pipe()
		defer a.Close()
		defer b.Close()
		if quietSocket(a) {
			t.Error("a pipe is quiet")
		}
	})
}
