package service

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/habgo/hab/core/atomicfile"
)

// A supervisor that updates itself re-executes into its new binary in
// the same process (sup/selfupdate). Its services' run processes stay
// its children across the exec, so they are handed over rather than
// stopped: the old supervisor records each process and passes on the
// read ends of its output pipes (descriptors that survive the exec),
// and the new one takes them over instead of ending the process as a
// leftover.

// handoverRecord is DataDir/NAME.handover: a run process handed over,
// and the descriptors of its output pipes in the supervisor's process.
type handoverRecord struct {
	PID     int    `json:"pid"`
	Start   uint64 `json:"start"`     // StartTime, which tells it from a later process with its pid
	Started int64  `json:"started"`   // when it started, Unix nanoseconds
	Ident   string `json:"ident"`     // the release it runs
	Stdout  int    `json:"stdout_fd"` // -1: the process had closed it (a run script's exec 2>&1 closes stderr)
	Stderr  int    `json:"stderr_fd"`
	// The supervisor's process that handed it over, whose descriptors
	// Stdout and Stderr are: its pid and StartTime, which an exec keeps.
	Supervisor      int    `json:"supervisor_pid,omitempty"`
	SupervisorStart uint64 `json:"supervisor_start,omitempty"`
}

// thisProcess tells whether the record's descriptors are this
// process's: it is the supervisor that handed the process over, executed
// again (or not: its exec failed). Those of a record another supervisor
// left (one that died before its exec) name nothing here, or another
// service's pipes. A record of a hab from before Supervisor was
// recorded is taken to be this process's while its process is this
// process's child.
func (rec handoverRecord) thisProcess() bool {
	if rec.Supervisor == 0 {
		now, ok := StartTime(rec.PID)
		ppid, _, child := statOf(rec.PID)
		return ok && now == rec.Start && child && ppid == os.Getpid()
	}
	start, ok := StartTime(os.Getpid())
	return ok && rec.Supervisor == os.Getpid() && rec.SupervisorStart == start
}

// closePipes closes the descriptors the record names, when they are
// this process's pipes.
func (rec handoverRecord) closePipes() {
	if !rec.thisProcess() {
		return
	}
	if pipes, err := inheritedPipes(rec.Stdout, rec.Stderr); err == nil {
		for _, f := range pipes {
			if f != nil {
				f.Close()
			}
		}
	}
}

func (s *Service) handoverPath() string {
	return filepath.Join(s.opts.DataDir, s.meta.Ident.Name+".handover")
}

// KeepRunning makes Run, when its context ends, hand the run process
// over to the next supervisor in this process (TakeOver) instead of
// stopping it.
func (s *Service) KeepRunning() { s.keepRunning.Store(true) }

// KeptRunning reports whether KeepRunning was asked: a service whose
// Run ended then has handed its process over rather than stopped.
func (s *Service) KeptRunning() bool { return s.keepRunning.Load() }

// handOver records the running process and stops copying its output,
// leaving duplicates of its pipes open across an exec. It reports false
// (and leaves nothing behind) when there is nothing to hand over or it
// cannot be done; the process is then stopped as usual.
func (s *Service) handOver() bool {
	if !s.keepRunning.Load() {
		return false
	}
	s.mu.Lock()
	p := s.proc
	s.mu.Unlock()
	if p == nil || p.exited() {
		return false
	}
	start, ok := StartTime(p.pid)
	supStart, supOK := StartTime(os.Getpid())
	if !ok || !supOK {
		return false
	}
	rec := handoverRecord{PID: p.pid, Start: start, Started: p.started.UnixNano(), Ident: s.pkg.Ident.String(),
		Supervisor: os.Getpid(), SupervisorStart: supStart}
	var fds []int
	closeAll := func() {
		for _, fd := range fds {
			if fd >= 0 {
				unix.Close(fd)
			}
		}
	}
	for _, f := range p.pipes {
		fd, err := dupPipe(f)
		if errors.Is(err, os.ErrClosed) || (err == nil && fd == -1) {
			// Its copy ended: the process closed that stream (the
			// original's run scripts exec 2>&1), or it was closed before
			// an earlier hand-over. Nothing to pass on.
			fds = append(fds, -1)
			continue
		}
		if err != nil {
			closeAll()
			s.log.Warn("cannot hand the service over; it is stopped", "pid", p.pid, "err", err)
			return false
		}
		fds = append(fds, fd)
	}
	rec.Stdout, rec.Stderr = fds[0], fds[1]
	b, _ := json.Marshal(rec)
	if err := atomicfile.WriteFile(s.handoverPath(), b, 0o600); err != nil {
		closeAll()
		s.log.Warn("cannot record the hand-over; the service is stopped", "file", s.handoverPath(), "err", err)
		return false
	}
	// The copies stop at once; what the process writes from now on waits
	// in the pipes for the next supervisor.
	for _, f := range p.pipes {
		_ = f.SetReadDeadline(time.Now())
	}
	p.copies.Wait()
	s.say("Leaving the service running (PID %d) for the next Supervisor", p.pid)
	s.log.Info("service handed over", "pid", p.pid, "ident", rec.Ident, "stdout_fd", rec.Stdout, "stderr_fd", rec.Stderr)
	return true
}

// dupPipe duplicates f's descriptor without close-on-exec, so that the
// duplicate survives an exec (f's own is closed by the exec and by the
// copy that reads it).
func dupPipe(f *os.File) (int, error) {
	if f == nil {
		return -1, nil
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	var derr error
	if err := rc.Control(func(raw uintptr) { fd, derr = unix.Dup(int(raw)) }); err != nil {
		// The only failure: its copy has closed it, at the stream's end.
		return -1, fmt.Errorf("dup %s: %w (%v)", f.Name(), os.ErrClosed, err)
	}
	if derr != nil {
		return -1, fmt.Errorf("dup %s: %w", f.Name(), derr)
	}
	return fd, nil
}

// TakeOver takes over the run process the supervisor this process was
// before its exec handed over: the process is still running the same
// release, is this process's child, and its pipes are open here. It
// reports whether it did; otherwise the process, if any, is a leftover
// for EndLeftover (the record is gone either way).
func (s *Service) TakeOver() bool {
	rec, found, err := takeRecord(s.handoverPath())
	if !found {
		return false
	}
	if err != nil {
		s.log.Warn("hand-over record unreadable; its process is ended as a leftover", "file", s.handoverPath(), "err", err)
		return false
	}
	if !rec.thisProcess() {
		// Its descriptors are not this process's to take or close.
		s.log.Warn("not taking over the handed-over process", "pid", rec.PID, "why", "another supervisor's process handed it over")
		return false
	}
	pipes, perr := inheritedPipes(rec.Stdout, rec.Stderr)
	why := ""
	switch now, ok := StartTime(rec.PID); {
	case perr != nil:
		why = perr.Error()
	case !ok || now != rec.Start:
		why = "the process is gone"
	case rec.Ident != s.pkg.Ident.String():
		why = "it runs " + rec.Ident + ", not " + s.pkg.Ident.String()
	default:
		if ppid, _, ok := statOf(rec.PID); !ok || ppid != os.Getpid() {
			why = "the process is not this supervisor's child"
		}
	}
	var exited <-chan struct{}
	if why == "" {
		if exited, err = processExit(rec.PID, rec.Start); err != nil {
			why = err.Error()
		}
	}
	if why != "" {
		for _, f := range pipes {
			f.Close()
		}
		s.log.Warn("not taking over the handed-over process", "pid", rec.PID, "why", why)
		return false
	}
	p := &proc{pid: rec.PID, started: time.Unix(0, rec.Started), done: make(chan struct{}), pipes: [2]*os.File{pipes[0], pipes[1]}}
	go func() {
		<-exited
		close(p.done)
	}()
	p.copyOutput(s.startOpts(s.prefix+"(O): ", s.prefix+"(E): ", "run"))
	s.mu.Lock()
	s.proc = p
	s.initialized = true
	s.stateEntered = p.started
	s.mu.Unlock()
	s.say("Took over the running service (PID %d) from the previous Supervisor", p.pid)
	s.log.Info("service taken over", "pid", p.pid, "ident", rec.Ident)
	return true
}

// takeRecord reads and removes the hand-over record at path; found is
// false when there is none to read (whatever is at path is removed
// all the same).
func takeRecord(path string) (rec handoverRecord, found bool, err error) {
	b, err := os.ReadFile(path)
	os.Remove(path)
	if err != nil {
		return rec, false, nil
	}
	return rec, true, json.Unmarshal(b, &rec)
}

// inheritedPipes opens the descriptors a hand-over names, each of which
// must be a pipe open in this process (or -1, a stream the process had
// closed: nil); they are closed on exec again.
func inheritedPipes(fds ...int) ([]*os.File, error) {
	var out []*os.File
	for _, fd := range fds {
		if fd == -1 {
			out = append(out, nil)
			continue
		}
		var st unix.Stat_t
		if fd < 3 || unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFIFO {
			for _, f := range out {
				f.Close()
			}
			return nil, errors.New("descriptor " + strconv.Itoa(fd) + " is not an inherited pipe")
		}
		unix.CloseOnExec(fd)
		out = append(out, os.NewFile(uintptr(fd), "pipe:"+strconv.Itoa(fd)))
	}
	return out, nil
}

// StopWithoutRun does what Run does as its context ends, for a service
// whose Run never ran (a leader-topology service stopped while it waited
// for its group's leader): the process it took over, if any, is handed
// over again (KeepRunning) or stopped.
func (s *Service) StopWithoutRun() {
	if !s.handOver() {
		s.stopProcess()
	}
}

// EndUnclaimed ends, in the background, the run processes recorded in
// dataDir's hand-over records that no Service took over (TakeOver
// removes the record it reads): their service is no longer loaded or
// up, or failed to start. Nothing would watch or reap them otherwise.
// Each gets SIGTERM, then SIGKILL after timeout (what is left of its
// tree, also when it ended sooner, as a stopped service's); its record
// is removed and the descriptors it names, when this process handed it
// over, are closed, also when the process is gone already. Call it once
// the services that run have started.
func EndUnclaimed(dataDir string, timeout time.Duration, log *slog.Logger) {
	records, _ := filepath.Glob(filepath.Join(dataDir, "*.handover"))
	for _, path := range records {
		rec, found, err := takeRecord(path)
		if !found {
			continue
		}
		if err != nil {
			log.Warn("hand-over record unreadable; removed", "file", path, "err", err)
			continue
		}
		rec.closePipes()
		now, ok := StartTime(rec.PID)
		if !ok || now != rec.Start || rec.PID <= 1 {
			continue
		}
		exited, err := processExit(rec.PID, rec.Start)
		if err != nil {
			log.Warn("cannot wait for the handed-over process; it is killed at the timeout", "pid", rec.PID, "err", err)
		}
		log.Warn("ending a handed-over process no service took over", "file", path, "pid", rec.PID, "ident", rec.Ident)
		go endTree(rec.PID, exited, syscall.SIGTERM, timeout)
	}
}
