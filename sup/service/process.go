package service

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// lineWriter writes each line read from r to out with a prefix, and to
// log (when not nil) as it is.
func copyLines(r io.Reader, prefix string, out io.Writer, outMu *sync.Mutex, log io.Writer) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		outMu.Lock()
		fmt.Fprintf(out, "%s%s\n", prefix, line)
		outMu.Unlock()
		if log != nil {
			fmt.Fprintln(log, line)
		}
	}
}

// proc is a started process leading its own process group.
type proc struct {
	cmd     *exec.Cmd
	pid     int
	started time.Time
	done    chan struct{} // closed when it has exited
	state   *os.ProcessState
	copies  sync.WaitGroup
	// pipes are the read ends of its standard output and error, which
	// the copies read; a hand-over to the next supervisor passes them on.
	pipes [2]*os.File
}

// startOpts says how to start a process.
type startOpts struct {
	id        Identity
	dir       string
	prefixOut string // "svc.group(O): "
	prefixErr string
	out       io.Writer
	outMu     *sync.Mutex
	stdoutLog string // files the output is also written to (appended)
	stderrLog string
	stdout    io.Writer // if set, the standard output lines are also written here
}

// start starts cmd in its own process group, as the identity, with its
// standard output and error prefixed line by line.
func start(cmd *exec.Cmd, o startOpts) (*proc, error) {
	cmd.Dir = o.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if o.id.Switch && (o.id.UID != uint32(os.Geteuid()) || o.id.GID != uint32(os.Getegid())) {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: o.id.UID, Gid: o.id.GID}
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	cmd.Stdin = nil
	cmd.Stdout, cmd.Stderr = outW, errW
	if err := cmd.Start(); err != nil {
		for _, f := range []*os.File{outR, outW, errR, errW} {
			f.Close()
		}
		return nil, fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	outW.Close()
	errW.Close()
	p := &proc{cmd: cmd, pid: cmd.Process.Pid, started: time.Now(), done: make(chan struct{}), pipes: [2]*os.File{outR, errR}}
	p.copyOutput(o)
	go func() {
		_ = cmd.Wait()
		p.state = cmd.ProcessState
		close(p.done)
	}()
	return p, nil
}

// copyOutput copies the lines of p's pipes to o's output and log files
// until each pipe ends (or its read deadline passes, for a hand-over).
func (p *proc) copyOutput(o startOpts) {
	for i, s := range []struct {
		prefix string
		log    string
		also   io.Writer
	}{{o.prefixOut, o.stdoutLog, o.stdout}, {o.prefixErr, o.stderrLog, nil}} {
		r := p.pipes[i]
		if r == nil {
			continue // closed by the process before a hand-over
		}
		p.copies.Add(1)
		go func() {
			defer p.copies.Done()
			defer r.Close()
			var lf *os.File
			if s.log != "" {
				lf, _ = os.OpenFile(s.log, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
				if lf != nil {
					defer lf.Close()
				}
			}
			var lw io.Writer
			switch {
			case lf != nil && s.also != nil:
				lw = io.MultiWriter(lf, s.also)
			case lf != nil:
				lw = lf
			case s.also != nil:
				lw = s.also
			}
			copyLines(r, s.prefix, o.out, o.outMu, lw)
		}()
	}
}

// exited reports whether the process has exited.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Stop outcomes, as the original logs them.
const (
	stopGraceful = "Service gracefully terminated"
	stopKilled   = "Service killed"
	stopGone     = "Service already exited"
)

// stop sends sig to the process group and every descendant, waits up to
// timeout for the leader to exit, then kills whatever is left of the group
// and the descendants.
func (p *proc) stop(sig syscall.Signal, timeout time.Duration) string {
	if p.exited() {
		killTree(p.pid, syscall.SIGKILL)
		return stopGone
	}
	outcome := stopGraceful
	if endTree(p.pid, p.done, sig, timeout) {
		outcome = stopKilled
	}
	<-p.done
	return outcome
}

// endTree sends sig to the tree of pgid (killTree), waits up to timeout
// for exited, then sends SIGKILL to what is left of it. It reports
// whether the timeout passed first.
func endTree(pgid int, exited <-chan struct{}, sig syscall.Signal, timeout time.Duration) (timedOut bool) {
	killTree(pgid, sig)
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-exited:
	case <-t.C:
		timedOut = true
	}
	killTree(pgid, syscall.SIGKILL)
	return timedOut
}

// killTree signals the process group pgid and every process descending
// from pgid, also those that left the group (setsid) but are still below
// it, or below this supervisor after their parent died.
func killTree(pgid int, sig syscall.Signal) {
	pids := descendants(pgid)
	_ = syscall.Kill(-pgid, sig)
	for _, pid := range pids {
		_ = syscall.Kill(pid, sig)
	}
}

// descendants lists the processes below pid, and those in its process
// group, from /proc.
func descendants(pid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	children := map[int][]int{}
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		ppid, pgrp, ok := statOf(n)
		if !ok {
			continue
		}
		children[ppid] = append(children[ppid], n)
		if pgrp == pid && n != pid {
			children[pid] = append(children[pid], n)
		}
	}
	var out []int
	seen := map[int]bool{pid: true}
	queue := []int{pid}
	for len(queue) > 0 {
		c := queue[0]
		queue = queue[1:]
		for _, k := range children[c] {
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
				queue = append(queue, k)
			}
		}
	}
	return out
}

// statOf reads a process's parent and process group from /proc/PID/stat.
func statOf(pid int) (ppid, pgrp int, ok bool) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, 0, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 4 {
		return 0, 0, false
	}
	ppid, _ = strconv.Atoi(f[1])
	pgrp, _ = strconv.Atoi(f[2])
	return ppid, pgrp, true
}

// StartTime is a process's start time in clock ticks since boot (field
// 22 of /proc/PID/stat), which tells a process from a later one that
// reuses its pid.
func StartTime(pid int) (uint64, bool) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return 0, false
	}
	v, err := strconv.ParseUint(f[19], 10, 64)
	return v, err == nil
}

// runHook runs cmd to completion in its own process group, killing the
// group (and descendants) when ctx ends or timeout passes. It returns the
// exit code, or -1 and an error when it could not run or was killed.
func runHook(ctx context.Context, cmd *exec.Cmd, o startOpts, timeout time.Duration) (int, error) {
	p, err := start(cmd, o)
	if err != nil {
		return -1, err
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-p.done:
	case <-t.C:
		killTree(p.pid, syscall.SIGKILL)
		<-p.done
		p.copies.Wait()
		return -1, fmt.Errorf("killed after its timeout of %s", timeout)
	case <-ctx.Done():
		killTree(p.pid, syscall.SIGKILL)
		<-p.done
		p.copies.Wait()
		return -1, ctx.Err()
	}
	// Whatever the hook left running in its group goes with it.
	killTree(p.pid, syscall.SIGKILL)
	p.copies.Wait()
	if p.state == nil {
		return -1, errors.New("no exit status")
	}
	if p.state.Exited() {
		return p.state.ExitCode(), nil
	}
	return -1, fmt.Errorf("ended by %s", p.state.String())
}

// processExit returns a channel closed when process pid, started at
// start (StartTime), has exited, known from a pidfd rather than by
// looking again and again; a child of this process (a leftover
// reparented to the subreaper supervisor) is reaped. A process already
// gone, or replaced by another with its pid, closes it at once. When no
// pidfd can be had (Linux before 5.3) the channel never closes, and err
// says why.
func processExit(pid int, start uint64) (<-chan struct{}, error) {
	done := make(chan struct{})
	fd, err := unix.PidfdOpen(pid, 0)
	if errors.Is(err, unix.ESRCH) {
		close(done)
		return done, nil
	}
	if err != nil {
		return done, fmt.Errorf("pidfd_open %d: %w", pid, err)
	}
	// The pidfd holds this pid's process: check it is still the one
	// the record names.
	if now, ok := StartTime(pid); !ok || now != start {
		unix.Close(fd)
		close(done)
		return done, nil
	}
	go func() {
		defer close(done)
		defer unix.Close(fd)
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		for {
			if _, err := unix.Poll(fds, -1); err != unix.EINTR {
				break
			}
		}
		if ppid, _, ok := statOf(pid); ok && ppid == os.Getpid() {
			var ws syscall.WaitStatus
			_, _ = syscall.Wait4(pid, &ws, syscall.WNOHANG, nil)
		}
	}()
	return done, nil
}
