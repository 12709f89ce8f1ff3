package resident

import (
	"bufio"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// TestReleaseLowersFilePages releases the test binary's pages in this
// very process: the file-backed resident memory the kernel reports must
// drop, and the process keeps running the code it pages back in.
func TestReleaseLowersFilePages(t *testing.T) {
	before, err := Read("/proc", os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if err := Release(); err != nil {
		if errors.Is(err, syscall.EINVAL) {
			t.Skipf("the kernel has no MADV_PAGEOUT (Linux 5.4 or later): %v", err)
		}
		t.Fatal(err)
	}
	after, err := Read("/proc", os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("resident before %d KiB (file %d KiB), after %d KiB (file %d KiB)", before.RSS>>10, before.File>>10, after.RSS>>10, after.File>>10)
	if after.File >= before.File {
		t.Fatalf("file-backed resident memory did not drop: %d bytes before, %d after", before.File, after.File)
	}
	// The code runs on from pages faulted back in.
	if err := Release(); err != nil {
		t.Fatalf("second release: %v", err)
	}
}

func TestBinaryMappingsAreTheExecutable(t *testing.T) {
	ms, err := binaryMappings()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 {
		t.Fatal("no mapping of the executable found")
	}
	var exe syscall.Stat_t
	if err := syscall.Stat("/proc/self/exe", &exe); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.inode != exe.Ino {
			t.Errorf("mapping %#x-%#x is inode %d, the executable is %d", m.start, m.end, m.inode, exe.Ino)
		}
		if strings.Contains(m.perms, "w") {
			t.Errorf("mapping %#x-%#x is writable (%s): its pages are the process's own", m.start, m.end, m.perms)
		}
	}
}

func TestRead(t *testing.T) {
	proc := t.TempDir()
	write := func(pid, text string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Join(proc, pid), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(proc, pid, "status"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("1", "Name:\thab\nVmRSS:\t   300 kB\nRssAnon:\t 100 kB\nRssFile:\t 200 kB\nRssShmem:\t0 kB\n")
	write("2", "Name:\thab\nVmRSS:\t   300 kB\nRssAnon:\t 100 kB\n")
	write("3", "VmRSS:\t   30x kB\nRssAnon:\t 100 kB\nRssFile:\t 200 kB\n")
	for _, c := range []struct {
		pid     int
		want    Stats
		wantErr string
	}{
		{pid: 1, want: Stats{RSS: 300 << 10, Anon: 100 << 10, File: 200 << 10}},
		{pid: 2, wantErr: "2/status lacks VmRSS, RssAnon or RssFile"},
		{pid: 3, wantErr: "3/status: VmRSS:"},
		{pid: 4, wantErr: "4/status: no such file"},
	} {
		got, err := Read(proc, c.pid)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("pid %d: error %v, want one containing %q", c.pid, err, c.wantErr)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("pid %d: %+v, %v; want %+v", c.pid, got, err, c.want)
		}
	}
}

// TestSettleDecisions: a release at the first quiet look, none while
// the binary's pages grow, none while the process faults its working set
// back in, and one after a later burst that grew them beyond the margin.
func TestSettleDecisions(t *testing.T) {
	s := Settler{QuietGrowth: 10, Margin: 100}
	type look struct {
		file    int64
		release bool
	}
	for _, c := range []struct {
		name  string
		looks []look
	}{
		{"quiet from the start", []look{{1000, false}, {1005, true}, {40, false}, {45, false}}},
		{"busy start, then quiet", []look{{1000, false}, {1050, false}, {1200, false}, {1205, true}}},
		{"working set faulted back in, then settled", []look{{1000, false}, {1000, true}, {300, false}, {305, false}, {310, false}, {315, false}}},
		{"slow growth while quiet is followed, not released", []look{{1000, false}, {1000, true}, {100, false}, {100, false}, {109, false}, {118, false}, {127, false}, {136, false}, {145, false}, {154, false}, {163, false}, {172, false}, {181, false}, {190, false}, {199, false}, {208, false}, {217, false}}},
		{"a burst beyond the margin is released", []look{{1000, false}, {1000, true}, {100, false}, {100, false}, {400, false}, {401, true}, {120, false}, {121, false}}},
		{"a burst within the margin is kept", []look{{1000, false}, {1000, true}, {100, false}, {100, false}, {150, false}, {151, false}}},
		{"shrinking is quiet", []look{{1000, false}, {900, true}, {100, false}, {100, false}, {50, false}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var st settleState
			for i, l := range c.looks {
				if got := st.next(s, l.file); got != l.release {
					t.Fatalf("look %d (%d bytes): release %t, want %t", i, l.file, got, l.release)
				}
			}
		})
	}
}

// populate maps every page of the binary's read-only mappings into this
// process (MADV_POPULATE_READ, Linux 5.14), as a process that ran all of
// its code would have.
func populate(t *testing.T) {
	t.Helper()
	ms, err := binaryMappings()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if _, _, e := unix.Syscall(unix.SYS_MADVISE, m.start, m.end-m.start, unix.MADV_POPULATE_READ); e != 0 {
			t.Skipf("MADV_POPULATE_READ (Linux 5.14 or later): %v", syscall.Errno(e))
		}
	}
}

// TestReleaseWhileShared releases the binary's pages while another
// process (this test binary again) maps every one of them too, as several
// supervisors on one machine do: the kernel does not page out shared
// pages, but this process's resident file pages must still drop.
func TestReleaseWhileShared(t *testing.T) {
	if os.Getenv("RESIDENT_TEST_HOLD") == "1" {
		populate(t)
		os.Stdout.WriteString("held\n")
		io.Copy(io.Discard, os.Stdin) // until the parent closes it
		return
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	child := exec.Command(exe, "-test.run=^TestReleaseWhileShared$")
	child.Env = append(os.Environ(), "RESIDENT_TEST_HOLD=1")
	stdin, err := child.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); child.Wait() })
	if line, err := bufio.NewReader(stdout).ReadString('\n'); err != nil || line != "held\n" {
		t.Fatalf("the holding process said %q, %v", line, err)
	}
	populate(t)
	before, err := Read("/proc", os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if err := Release(); err != nil {
		t.Fatal(err)
	}
	after, err := Read("/proc", os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("file-backed resident memory, shared with pid %d: before %d KiB, after %d KiB", child.Process.Pid, before.File>>10, after.File>>10)
	if after.File > before.File*9/10 {
		t.Fatalf("file-backed resident memory shared with another process did not drop by a tenth: %d KiB before, %d KiB after", before.File>>10, after.File>>10)
	}
}
