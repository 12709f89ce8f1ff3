package container

import (
	"fmt"
	"strings"
)

// The original's base accounts (its defaults/etc/passwd and group).
const basePasswd = `root:x:0:0:root:/root:/bin/sh
bin:x:1:1:bin:/bin:/bin/false
daemon:x:6:6:Daemon User:/dev/null:/bin/false
nobody:x:99:99:Unprivileged User:/dev/null:/bin/false
`

const baseGroup = `root:x:0:
bin:x:1:daemon
sys:x:2:
kmem:x:3:
tape:x:4:
tty:x:5:
daemon:x:6:
floppy:x:7:
disk:x:8:
lp:x:9:
dialout:x:10:
audio:x:11:
video:x:12:
utmp:x:13:
usb:x:14:
cdrom:x:15:
adm:x:16:
messagebus:x:18:
systemd-journal:x:23:
input:x:24:
mail:x:34:
nogroup:x:99:
users:x:999:
`

const nsswitch = `passwd:     files
group:      files
shadow:     files

hosts:      files dns
networks:   files

rpc:        files
services:   files
`

const resolvConf = "nameserver 8.8.8.8\nnameserver 8.8.4.4\n"

// Service accounts get these ids, as in the original.
const (
	svcID   = 42
	extraID = 84
)

// accounts returns the lines added to /etc/passwd and /etc/group for a
// service running as user:group (empty means hab), by the original's
// rules: the service's user and group get 42, a hab user and group that
// are needed besides get 84.
func accounts(user, group string) (passwd, groups string) {
	if user == "" {
		user = "hab"
	}
	if group == "" {
		group = "hab"
	}
	var pw, gr []string
	addUser := func(name string, uid, gid int) {
		pw = append(pw, fmt.Sprintf("%s:x:%d:%d:%s User:/:/bin/false", name, uid, gid, name))
	}
	addGroup := func(name string, gid int, member string) {
		gr = append(gr, fmt.Sprintf("%s:x:%d:%s", name, gid, member))
	}
	switch {
	case user == "root" && group == "root":
		addUser("hab", extraID, extraID)
		addGroup("hab", extraID, "hab")
	case user == "root" && group == "hab":
		addUser("hab", extraID, svcID)
		addGroup("hab", svcID, "hab")
	case user == "root":
		addGroup(group, svcID, "")
		addUser("hab", extraID, extraID)
		addGroup("hab", extraID, "hab")
	case user == "hab" && group == "hab":
		addUser("hab", svcID, svcID)
		addGroup("hab", svcID, "hab")
	case user == "hab" && group == "root":
		addUser("hab", svcID, extraID)
		addGroup("hab", extraID, "hab")
	case user == "hab":
		addUser("hab", svcID, svcID)
		addGroup(group, svcID, "hab")
	default:
		addUser(user, svcID, svcID)
		addGroup(group, svcID, user)
		addUser("hab", extraID, extraID)
		addGroup("hab", extraID, "hab")
	}
	return strings.Join(pw, "\n") + "\n", strings.Join(gr, "\n") + "\n"
}

// initScript is /init.sh: it runs under the image's busybox sh and hands
// its arguments to the supervisor as the original's does: help and
// version to `hab sup`, options to `hab sup run IDENT`, anything else
// (such as `run IDENT`) to `hab sup`.
func initScript(shell, ident string) string {
	return fmt.Sprintf(`#!%s
set -e
export PATH=/bin

case "${1:-}" in
  -h|--help|help|-V|--version)
    exec /bin/hab sup "$@"
    ;;
  -*)
    exec /bin/hab sup run %s "$@"
    ;;
  *)
    exec /bin/hab sup "$@"
    ;;
esac
`, shell, shellQuote(ident))
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
