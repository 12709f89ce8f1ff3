package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/habgo/hab/core/crypto"
	"github.com/habgo/hab/internal/habbin"
)

// bashCompletion is bash-completion's main script, which cobra's bash
// completion builds on (as it does on every Debian machine with bash).
const bashCompletion = "/usr/share/bash-completion/bash_completion"

// press types s as it is (answer adds Enter).
func (p *setupPTY) press(s string) {
	p.t.Helper()
	if _, err := p.ptmx.Write([]byte(s)); err != nil {
		p.t.Fatal(err)
	}
}

// startCompletionBash starts an interactive bash on a pseudo-terminal
// with the completion script of bin (hab cli completers -s bash) loaded,
// bin's directory first on the PATH, and env; it waits for the prompt.
func startCompletionBash(t *testing.T, bin string, env ...string) *setupPTY {
	t.Helper()
	if _, err := os.Stat(bashCompletion); err != nil {
		t.Skipf("bash-completion is not installed (%v); .ci/run installs it", err)
	}
	bashPath, err := exec.LookPath("bash")
	if err != nil {
		t.Skipf("no bash: %v", err)
	}
	dir := t.TempDir()
	writeCompletionScript(t, bin, "bash", filepath.Join(dir, "hab.bash"))
	rc := filepath.Join(dir, "rc")
	rcText := "source " + bashCompletion + "\nsource " + filepath.Join(dir, "hab.bash") + "\nbind 'set show-all-if-ambiguous off'\nPS1='READY> '\n"
	if err := os.WriteFile(rc, []byte(rcText), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bashPath, "--noprofile", "--rcfile", rc, "-i")
	cmd.Env = append([]string{"PATH=" + filepath.Dir(bin) + ":/usr/bin:/bin", "TERM=dumb", "LANG=C.UTF-8"}, env...)
	return startShellPTY(t, cmd)
}

// writeCompletionScript writes bin's completion script for shell (hab
// cli completers -s SHELL) to path.
func writeCompletionScript(t *testing.T, bin, shell, path string) {
	t.Helper()
	script, err := exec.Command(bin, "cli", "completers", "-s", shell).Output()
	if err != nil {
		t.Fatalf("hab cli completers -s %s: %v", shell, err)
	}
	if err := os.WriteFile(path, script, 0o644); err != nil {
		t.Fatal(err)
	}
}

// startShellPTY starts cmd, an interactive shell whose prompt is
// "READY> ", on a pseudo-terminal and waits for the prompt; the shell is
// killed when the test ends.
func startShellPTY(t *testing.T, cmd *exec.Cmd) *setupPTY {
	t.Helper()
	ptmx, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 200})
	if err != nil {
		t.Skipf("no pseudo-terminal available: %v", err)
	}
	// The bell the line editor rings while it completes (several
	// candidates share a prefix) is no text.
	p := &setupPTY{t: t, ptmx: ptmx}
	p.read([]byte{'\a'})
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		ptmx.Close()
	})
	p.expect("READY> ")
	return p
}

// completionFixture builds hab and a machine for it to complete: two
// installed packages (acme/widget, core/other) under FS_ROOT and an
// origin zorigin with a key pair in the key cache. It returns the binary,
// FS_ROOT and the environment the shells run with.
func completionFixture(t *testing.T) (bin, root string, env []string) {
	t.Helper()
	dir := t.TempDir()
	bin, err := habbin.Build(filepath.Join(dir))
	if err != nil {
		t.Fatal(err)
	}
	root, keys, home := filepath.Join(dir, "root"), filepath.Join(dir, "keys"), filepath.Join(dir, "home")
	storeWriteTree(t, root, "acme/widget/1.2.3/20200101000000", nil)
	storeWriteTree(t, root, "core/other/1.0.0/20200101000000", nil)
	if _, _, err := (crypto.Cache{Dir: keys}).NewSigningPair("zorigin", time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	return bin, root, []string{"HOME=" + home, "FS_ROOT=" + root, "HAB_CACHE_KEY_PATH=" + keys}
}

// startCompletionZsh starts an interactive zsh (no global start-up
// files) on a pseudo-terminal whose .zshrc puts the completion script of
// bin (hab cli completers -s zsh, as _hab) on fpath and runs compinit,
// with bin's directory first on the PATH and env; it waits for the
// prompt.
func startCompletionZsh(t *testing.T, bin string, env ...string) *setupPTY {
	t.Helper()
	zshPath, err := exec.LookPath("zsh")
	if err != nil {
		t.Skipf("zsh is not installed (%v); .ci/run installs it", err)
	}
	dir := t.TempDir()
	writeCompletionScript(t, bin, "zsh", filepath.Join(dir, "_hab"))
	rc := "fpath=(" + dir + " $fpath)\nautoload -U compinit && compinit -u -d " + filepath.Join(dir, "zcompdump") + "\nPS1='READY> '\n"
	if err := os.WriteFile(filepath.Join(dir, ".zshrc"), []byte(rc), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(zshPath, "-d", "-i")
	cmd.Env = append([]string{"PATH=" + filepath.Dir(bin) + ":/usr/bin:/bin", "TERM=dumb", "LANG=C.UTF-8", "ZDOTDIR=" + dir}, env...)
	return startShellPTY(t, cmd)
}

// TestCompletionDrivesRealShells: the scripts of hab cli completers -s
// bash and -s zsh, loaded into an interactive bash (with bash-completion)
// and an interactive zsh (compinit) on a pseudo-terminal, complete on Tab
// a command name, an installed package's identifier (and the completed
// command runs), an origin with a key in the key cache, an export format
// and a channel.
func TestCompletionDrivesRealShells(t *testing.T) {
	bin, root, env := completionFixture(t)
	for _, shell := range []struct {
		name  string
		start func(*testing.T, string, ...string) *setupPTY
	}{{"bash", startCompletionBash}, {"zsh", startCompletionZsh}} {
		t.Run(shell.name, func(t *testing.T) {
			p := shell.start(t, bin, env...)
			p.press("hab pk\t")
			p.expect("hab pkg ")
			p.press("pa\t")
			p.expect("path ")
			p.press("acme/w\t")
			p.expect("acme/widget")
			p.press("\r")
			p.expect(filepath.Join(root, "hab", "pkgs", "acme", "widget", "1.2.3", "20200101000000"))
			p.expect("READY> ")

			for _, tt := range []struct{ typed, want string }{
				{"hab origin key export zo", "zorigin"},
				{"hab pkg export con", "container "},
				{"hab pkg build --refresh-channel unst", "unstable"},
			} {
				p.press(tt.typed + "\t")
				p.expect(tt.want)
				p.press("\x15") // Ctrl-U: clear the line
				p.press("echo cleared\r")
				p.expect("cleared")
				p.expect("READY> ")
			}
			p.press("exit\r")
		})
	}
}

// fishComplete is what a real fish, with the script of hab cli
// completers -s fish sourced, offers for line (fish's own completion
// engine, complete -C): the candidates without their descriptions.
func fishComplete(t *testing.T, bin string, env []string, line string) []string {
	t.Helper()
	fishPath, err := exec.LookPath("fish")
	if err != nil {
		t.Skipf("fish is not installed (%v); .ci/run installs it", err)
	}
	script := filepath.Join(t.TempDir(), "hab.fish")
	writeCompletionScript(t, bin, "fish", script)
	cmd := exec.Command(fishPath, "--no-config", "-c", "source $argv[1]; complete -C $argv[2]", script, line)
	cmd.Env = append([]string{"PATH=" + filepath.Dir(bin) + ":/usr/bin:/bin", "LANG=C.UTF-8"}, env...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("fish complete -C %q: %v", line, err)
	}
	var cands []string
	for _, l := range strings.Split(strings.TrimSuffix(string(out), "\n"), "\n") {
		if c, _, _ := strings.Cut(l, "\t"); c != "" {
			cands = append(cands, c)
		}
	}
	return cands
}

// TestFishCompletionDrivesRealShell: fish, with the script of hab cli
// completers -s fish sourced, completes a command name, installed
// packages' identifiers, origins with keys in the key cache, export
// formats and channels, and offers nothing that does not match.
func TestFishCompletionDrivesRealShell(t *testing.T) {
	if _, err := exec.LookPath("fish"); err != nil {
		t.Skipf("fish is not installed (%v); .ci/run installs it", err)
	}
	bin, _, env := completionFixture(t)
	for _, tt := range []struct {
		line string
		want []string
	}{
		{"hab pk", []string{"pkg"}},
		{"hab pkg path acme/w", []string{"acme/widget", "acme/widget/1.2.3/20200101000000"}},
		{"hab pkg path x", nil},
		{"hab origin key export zo", []string{"zorigin"}},
		{"hab pkg export con", []string{"container"}},
		{"hab pkg build --refresh-channel unst", []string{"unstable"}},
	} {
		if got := fishComplete(t, bin, env, tt.line); !slices.Equal(got, tt.want) {
			t.Errorf("fish completes %q: %q, want %q", tt.line, got, tt.want)
		}
	}
}

// TestCompletions: what hab's completion answers (cobra's __complete, which
// every shell's script calls), and the scripts of hab cli completers.
func TestCompletions(t *testing.T) {
	e := newStoreEnv(t)
	storeWriteTree(t, e.root, "acme/widget/1.2.3/20200101000000", nil)
	storeWriteTree(t, e.root, "acme/widget/1.2.4/20210101000000", nil)
	storeWriteTree(t, e.root, "core/other/1.0.0/20200101000000", nil)
	if _, _, err := (crypto.Cache{Dir: e.keys}).NewSigningPair("zorigin", time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"pkg", "path", "acme/"}, "acme/widget\nacme/widget/1.2.3/20200101000000\nacme/widget/1.2.4/20210101000000\n:4\n"},
		{[]string{"pkg", "binds", "core"}, "core/other\ncore/other/1.0.0/20200101000000\n:4\n"},
		{[]string{"pkg", "path", "acme/widget", ""}, ":4\n"},                                        // one argument only
		{[]string{"pkg", "install", "core/o"}, "core/other\ncore/other/1.0.0/20200101000000\n:0\n"}, // files too
		{[]string{"origin", "key", "export", ""}, "acme\nzorigin\n:4\n"},
		{[]string{"pkg", "sign", "--origin", "z"}, "zorigin\n:4\n"},
		{[]string{"pkg", "build", "--refresh-channel", ""}, "stable\nunstable\nbase\n:4\n"},
		{[]string{"cli", "completers", "--shell", ""}, "bash\nzsh\nfish\npowershell\nelvish\n:4\n"},
	}
	for _, tt := range tests {
		out := e.mustRun(append([]string{"__completeNoDesc"}, tt.args...)...)
		if out != tt.want {
			t.Errorf("complete %q:\n%s\nwant\n%s", tt.args, out, tt.want)
		}
	}
	// Export formats are hab pkg export's subcommands.
	if out := e.mustRun("__completeNoDesc", "pkg", "export", ""); !strings.Contains(out, "container\n") || !strings.Contains(out, "tar\n") {
		t.Errorf("export formats: %q", out)
	}
	for shell, says := range map[string]string{"bash": "# bash completion V2 for hab", "zsh": "#compdef hab", "fish": "complete -c hab", "powershell": "Register-ArgumentCompleter"} {
		if out := e.mustRun("cli", "completers", "-s", shell); !strings.Contains(out, says) {
			t.Errorf("completers -s %s: no %q in\n%.300s", shell, says, out)
		}
	}
	e.mustFail(exitError, "no completion script for elvish", "cli", "completers", "-s", "elvish")
	e.mustFail(exitUsage, `invalid value "tcsh" for --shell`, "cli", "completers", "-s", "tcsh")
	e.mustFail(exitUsage, "--shell <SHELL> was not given", "cli", "completers")
}

// TestShellsCompleteServiceGroups: with a supervisor running a loaded
// service, Tab in a real bash and a real zsh, and fish's completion,
// complete its service group where a command takes one (hab config
// apply) and after the colon of --bind; cobra's answer, which every
// shell's script asks, lists the groups, and nothing when no supervisor
// answers.
func TestShellsCompleteServiceGroups(t *testing.T) {
	e := newSupEnv(t)
	e.buildService("tuned", nil)
	s := e.startSup()
	s.mustHab("", "svc", "load", "habtest/tuned", "--group", "web")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"config", "apply", ""}, "tuned.web\n:4\n"},
		{[]string{"config", "apply", "tu"}, "tuned.web\n:4\n"},
		{[]string{"config", "apply", "x"}, ":4\n"},
		{[]string{"config", "apply", "tuned.web", ""}, ":4\n"}, // VERSION: nothing to offer
		{[]string{"file", "upload", "t"}, "tuned.web\n:4\n"},
		{[]string{"svc", "load", "habtest/other", "--bind", "backend:"}, "backend:tuned.web\n:4\n"},
		{[]string{"config", "apply", "-r", fmt.Sprintf("127.0.0.1:%d", freeLoopbackPort(t)), ""}, ":4\n"}, // no supervisor there
	} {
		if _, out, _ := s.hab("", append([]string{"__completeNoDesc"}, tt.args...)...); out != tt.want {
			t.Errorf("complete %q: %q, want %q", tt.args, out, tt.want)
		}
	}

	env := []string{"HOME=" + e.env["HOME"], "FS_ROOT=" + e.root, "HAB_CACHE_KEY_PATH=" + e.keys, "HAB_LISTEN_CTL=" + s.ctl}
	shells := map[string]func(*testing.T, string, ...string) *setupPTY{"bash": startCompletionBash, "zsh": startCompletionZsh}
	for _, shell := range []string{"bash", "zsh"} {
		t.Run(shell, func(t *testing.T) {
			p := shells[shell](t, e.bin, env...)
			p.press("hab config apply tu\t")
			p.expect("tuned.web")
			p.press("\x15")
			p.press("echo cleared\r")
			p.expect("READY> ")
			p.press("hab svc load habtest/tuned --bind backend:tu\t")
			p.expect("backend:tuned.web")
			p.press("\x15")
			p.press("exit\r")
		})
	}
	t.Run("fish", func(t *testing.T) {
		for _, tt := range []struct {
			line string
			want []string
		}{
			{"hab config apply tu", []string{"tuned.web"}},
			{"hab svc load habtest/tuned --bind backend:tu", []string{"backend:tuned.web"}},
			{"hab config apply x", nil},
		} {
			if got := fishComplete(t, e.bin, env, tt.line); !slices.Equal(got, tt.want) {
				t.Errorf("fish completes %q: %q, want %q", tt.line, got, tt.want)
			}
		}
	})
}
