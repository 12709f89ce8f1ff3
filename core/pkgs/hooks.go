package pkgs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/core/pkgmeta"
)

// The package maintenance hooks the store runs.
const (
	HookInstall   = "install"
	HookUninstall = "uninstall"
)

// HookRunner runs a package maintenance hook (install or uninstall) found
// in the package's hooks directory. A hook that is absent is not an
// error: RunHook reports ran=false.
type HookRunner interface {
	RunHook(ctx context.Context, s *Store, p *Package, hook string) (ran bool, err error)
}

// ExecHooks runs hooks as plain programs: hooks/NAME is executed in the
// package directory, as Store.Command builds it (the package's runtime
// environment over Env, its PATH re-rooted under FS_ROOT), its
// output sent to Stdout and Stderr, and its exit status recorded in
// INSTALL_HOOK_STATUS or UNINSTALL_HOOK_STATUS as the original records it.
// Hooks that are handlebars templates ({{...}}) need the templating
// engine, which the store does not have: they are refused with an error
// that says so (install with --ignore-install-hook to skip them).
type ExecHooks struct {
	Env            []string // base environment, such as os.Environ()
	Stdout, Stderr io.Writer
}

// HookFailedError is a hook that ran and exited with a non-zero Status;
// hab exits with that status, as the original does for a failed hook.
type HookFailedError struct {
	Hook   string
	Ident  ident.Ident
	Status int
}

func (e *HookFailedError) Error() string {
	return fmt.Sprintf("%s hook of %s failed: '%s' exited with status code %d", e.Hook, e.Ident, e.Hook, e.Status)
}

// RunHook implements HookRunner.
func (h ExecHooks) RunHook(ctx context.Context, s *Store, p *Package, hook string) (bool, error) {
	path := filepath.Join(p.HooksDir(), hook)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("%s hook of %s: %w", hook, p.Ident, err)
	}
	if bytes.Contains(data, []byte("{{")) {
		return false, fmt.Errorf("%s hook of %s (%s) is a template and hook templates cannot be rendered here yet; skip it with --ignore-%s-hook", hook, p.Ident, path, hook)
	}
	name, args := path, []string(nil)
	if !isExecutableFile(path) {
		name, args = "/bin/sh", []string{path}
	}
	cmd, err := s.Command(ctx, p, h.Env, name, args...)
	if err != nil {
		return false, fmt.Errorf("%s hook of %s: %w", hook, p.Ident, err)
	}
	cmd.Dir = p.Path
	cmd.Stdout = orDiscard(h.Stdout)
	cmd.Stderr = orDiscard(h.Stderr)
	runErr := cmd.Run()
	code := -1
	if cmd.ProcessState != nil {
		code = cmd.ProcessState.ExitCode()
	}
	status := pkgmeta.FileInstallHookStatus
	if hook == HookUninstall {
		status = pkgmeta.FileUninstallHookStatus
	}
	if code >= 0 {
		if err := os.WriteFile(filepath.Join(p.Path, status), []byte(strconv.Itoa(code)), 0o644); err != nil {
			return true, fmt.Errorf("%s hook of %s: record status: %w", hook, p.Ident, err)
		}
	}
	if runErr != nil {
		var ee *exec.ExitError
		if errors.As(runErr, &ee) && code > 0 {
			return true, &HookFailedError{Hook: hook, Ident: p.Ident, Status: code}
		}
		return true, fmt.Errorf("%s hook of %s: %w", hook, p.Ident, runErr)
	}
	return true, nil
}

// hookSucceeded reports whether the package's hook status file records a
// successful run (so the hook is not run again).
func hookSucceeded(p *Package, statusFile string) (bool, error) {
	data, err := readSmall(filepath.Join(p.Path, statusFile))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("%s of %s: %w", statusFile, p.Ident, err)
	}
	first, _, _ := strings.Cut(string(data), "\n")
	n, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil {
		return false, fmt.Errorf("%s of %s is corrupt: %q", statusFile, p.Ident, first)
	}
	return n == 0, nil
}

func isExecutableFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}
