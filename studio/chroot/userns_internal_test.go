package chroot

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeProc lays out the /proc files diagnoseUserNS reads.
func fakeProc(t *testing.T, files map[string]string, userNS bool) string {
	t.Helper()
	proc := t.TempDir()
	if userNS {
		files["self/ns/user"] = ""
	}
	for name, content := range files {
		p := filepath.Join(proc, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return proc
}

func TestDiagnoseUserNS(t *testing.T) {
	cause := errors.New("fork/exec /proc/self/exe: no space left on device")
	tests := []struct {
		name   string
		files  map[string]string
		userNS bool
		known  bool
		want   []string
	}{
		{"Debian's switch off", map[string]string{"sys/kernel/unprivileged_userns_clone": "0\n", "sys/user/max_user_namespaces": "15000\n"}, true, true,
			[]string{"kernel.unprivileged_userns_clone = 0", "'sysctl -w kernel.unprivileged_userns_clone=1'", "run as root", "uid 1000"}},
		{"no user namespaces allowed", map[string]string{"sys/user/max_user_namespaces": "0\n"}, true, true,
			[]string{"user.max_user_namespaces = 0", "'sysctl -w user.max_user_namespaces=15000'", "run as root"}},
		{"AppArmor restriction", map[string]string{"sys/user/max_user_namespaces": "100", "sys/kernel/apparmor_restrict_unprivileged_userns": "1\n"}, true, true,
			[]string{"kernel.apparmor_restrict_unprivileged_userns = 1", "'sysctl -w kernel.apparmor_restrict_unprivileged_userns=0'"}},
		{"first blocker wins", map[string]string{"sys/kernel/unprivileged_userns_clone": "0", "sys/user/max_user_namespaces": "0"}, true, true,
			[]string{"kernel.unprivileged_userns_clone = 0"}},
		{"settings allow", map[string]string{"sys/kernel/unprivileged_userns_clone": "1", "sys/user/max_user_namespaces": "15000", "sys/kernel/apparmor_restrict_unprivileged_userns": "0"}, true, false,
			[]string{"which the kernel refused", "run as root", "seccomp"}},
		{"no settings at all", map[string]string{}, true, false,
			[]string{"which the kernel refused"}},
		{"kernel without user namespaces", map[string]string{"sys/user/max_user_namespaces": "0"}, false, true,
			[]string{"CONFIG_USER_NS"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			proc := fakeProc(t, tt.files, tt.userNS)
			e, known := diagnoseUserNS(proc, 1000, cause)
			if known != tt.known {
				t.Errorf("known = %v, want %v", known, tt.known)
			}
			msg := e.Error()
			for _, w := range append(tt.want, "no space left on device") {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
			if !errors.Is(e, ErrUserNamespaces) || !errors.Is(e, cause) {
				t.Errorf("error %v wraps neither ErrUserNamespaces nor its cause", e)
			}
		})
	}
}

func TestWithoutOption(t *testing.T) {
	tests := []struct{ in, want string }{
		{"newinstance,ptmxmode=0666,mode=620,gid=5", "newinstance,ptmxmode=0666,mode=620"},
		{"gid=5", ""},
		{"newinstance", "newinstance"},
		{"", ""},
		{"gidx=1,gid=5,mode=1", "gidx=1,mode=1"},
	}
	for _, tt := range tests {
		if got := withoutOption(tt.in, "gid"); got != tt.want {
			t.Errorf("withoutOption(%q, gid) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
