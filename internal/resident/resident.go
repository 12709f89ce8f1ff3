// Package resident keeps a long-running hab process's resident memory to
// what it uses. hab is one static binary holding every command (the
// depot, exporters, studios and the supervisor), so package
// initialisation of everything linked in, plus the kernel's fault-around
// (each fault maps up to 64 KiB of already-cached pages around it), makes
// about 24 MB of the binary's text and read-only data resident before a
// command runs. An idle supervisor touches a fraction of that.
//
// Release pages the binary's read-only mappings out (MADV_PAGEOUT, after
// MADV_RANDOM so that later faults do not read ahead) and drops the
// process's mappings of the pages other processes keep (MADV_DONTNEED):
// what the process still uses comes back on its next touch, the rest
// leaves.
// Settler calls it when the process has gone quiet after a burst of
// activity (its start, a service loaded) that made more of the binary
// resident.
package resident

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Stats is a process's resident memory in bytes, as /proc/PID/status
// reports it.
type Stats struct {
	RSS, Anon, File int64
}

// Read reads the resident memory of process pid from procRoot (usually
// /proc).
func Read(procRoot string, pid int) (Stats, error) {
	path := fmt.Sprintf("%s/%d/status", procRoot, pid)
	b, err := os.ReadFile(path)
	if err != nil {
		return Stats{}, fmt.Errorf("read resident memory: %w", err)
	}
	var st Stats
	fields := map[string]*int64{"VmRSS:": &st.RSS, "RssAnon:": &st.Anon, "RssFile:": &st.File}
	found := 0
	for line := range bytes.Lines(b) {
		f := strings.Fields(string(line))
		if len(f) != 3 || f[2] != "kB" {
			continue
		}
		p, ok := fields[f[0]]
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			return Stats{}, fmt.Errorf("read resident memory: %s: %s: %w", path, f[0], err)
		}
		*p = n * 1024
		found++
	}
	if found != len(fields) {
		return Stats{}, fmt.Errorf("read resident memory: %s lacks VmRSS, RssAnon or RssFile", path)
	}
	return st, nil
}

// mapping is one line of /proc/self/maps.
type mapping struct {
	start, end uintptr
	perms      string
	dev        string
	inode      uint64
}

func readMaps(path string) ([]mapping, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []mapping
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// start-end perms offset dev inode [path]
		fs := strings.Fields(sc.Text())
		if len(fs) < 5 {
			continue
		}
		lo, hi, ok := strings.Cut(fs[0], "-")
		if !ok {
			return nil, fmt.Errorf("%s: malformed line %q", path, sc.Text())
		}
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		inode, err3 := strconv.ParseUint(fs[4], 10, 64)
		if err1 != nil || err2 != nil || err3 != nil {
			return nil, fmt.Errorf("%s: malformed line %q", path, sc.Text())
		}
		out = append(out, mapping{start: uintptr(start), end: uintptr(end), perms: fs[1], dev: fs[3], inode: inode})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return out, nil
}

// binaryMappings are the read-only mappings (text, read-only data) of
// the file this code runs from: the mappings of the same file as the
// one holding this function's code, without the writable data.
func binaryMappings() ([]mapping, error) {
	maps, err := readMaps("/proc/self/maps")
	if err != nil {
		return nil, fmt.Errorf("find the executable's mappings: %w", err)
	}
	pc := reflect.ValueOf(binaryMappings).Pointer()
	var text *mapping
	for i := range maps {
		if maps[i].start <= pc && pc < maps[i].end && maps[i].inode != 0 {
			text = &maps[i]
		}
	}
	if text == nil {
		return nil, fmt.Errorf("find the executable's mappings: no file mapping holds the code at %#x", pc)
	}
	var out []mapping
	for _, m := range maps {
		if m.dev == text.dev && m.inode == text.inode && !strings.Contains(m.perms, "w") {
			out = append(out, m)
		}
	}
	return out, nil
}

// Release pages out the executable's read-only mappings and returns the
// heap's free pages to the system. Pages the process uses again fault
// back in from the page cache (or the disk, when no other process kept
// them). The mappings are marked MADV_RANDOM first: a long-running
// process's later faults in its binary are scattered, and reading ahead
// around each (128 KiB by default) would make most of it resident again.
// The kernel pages out file pages only for a process that could open the
// file for writing or owns it (root can), and never pages that another
// process maps too (several supervisors on one machine share their
// binary's pages); MADV_DONTNEED then unmaps what is left from this
// process alone, which for a read-only private file mapping loses
// nothing: the pages stay in the page cache for the others and fault
// back in unchanged.
func Release() error {
	ms, err := binaryMappings()
	if err != nil {
		return err
	}
	for _, m := range ms {
		for _, advice := range []struct {
			name  string
			value uintptr
		}{{"MADV_RANDOM", unix.MADV_RANDOM}, {"MADV_PAGEOUT", unix.MADV_PAGEOUT}, {"MADV_DONTNEED", unix.MADV_DONTNEED}} {
			if _, _, e := unix.Syscall(unix.SYS_MADVISE, m.start, m.end-m.start, advice.value); e != 0 {
				return fmt.Errorf("release the executable's mapping %#x-%#x: %s: %w", m.start, m.end, advice.name, syscall.Errno(e))
			}
		}
	}
	debug.FreeOSMemory()
	return nil
}

// Settler releases the binary's pages when the process has gone quiet
// after it made more of them resident: at the first quiet look after the
// start, and after any later burst (a service loaded, a gateway request
// taking a new code path) that grew them by more than Margin. After a
// release the process faults its working set back in; the first quiet
// look after that records it as the settled level, so the pages an idle
// process keeps using are not released over and over.
type Settler struct {
	// Every is how often it looks at the binary's resident pages.
	Every time.Duration
	// QuietGrowth is the most the binary's resident pages may grow
	// between two looks for the process to count as quiet: no new code
	// paths being run. (Page faults would count the heap's too, and a
	// supervisor starting many health checks is never without them.)
	QuietGrowth int64
	// Margin is how far above the settled level the binary's resident
	// pages must grow before a release.
	Margin int64
	Log    *slog.Logger
}

// Run looks every s.Every until ctx ends.
func (s Settler) Run(ctx context.Context) {
	t := time.NewTicker(s.Every)
	defer t.Stop()
	var st settleState
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		mem, err := Read("/proc", os.Getpid())
		if err != nil {
			s.Log.Debug("resident memory: stop looking", "err", err)
			return
		}
		if !st.next(s, mem.File) {
			continue
		}
		if err := Release(); err != nil {
			s.Log.Debug("resident memory: stop releasing", "err", err)
			return
		}
		after, err := Read("/proc", os.Getpid())
		if err == nil {
			st.last = after.File // the faulting back in starts from here
		}
		s.Log.Debug("resident memory: released the binary's idle pages", "before", mem.RSS, "after", after.RSS)
	}
}

// settleState is what the Settler remembers between looks.
type settleState struct {
	looked   bool
	last     int64 // the binary's resident bytes at the last look
	settled  int64 // the binary's resident bytes once quiet, -1 until known
	released bool  // released since the level was last recorded
}

// next takes one look (the process's file-backed resident bytes: the
// binary's pages, in a static binary) and says whether to release now.
func (st *settleState) next(s Settler, file int64) bool {
	if !st.looked {
		st.looked, st.last, st.settled = true, file, -1
		return false
	}
	quiet := file-st.last <= s.QuietGrowth
	st.last = file
	if !quiet {
		return false
	}
	if st.released {
		st.released, st.settled = false, file
		return false
	}
	if st.settled >= 0 && file <= st.settled+s.Margin {
		st.settled = max(st.settled, file)
		return false
	}
	st.released = true
	return true
}
