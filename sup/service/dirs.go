package service

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
)

// Dirs are a service's directories, FS_ROOT/hab/svc/NAME/...
type Dirs struct {
	Root string
}

func (d Dirs) Config() string        { return filepath.Join(d.Root, "config") }
func (d Dirs) ConfigInstall() string { return filepath.Join(d.Root, "config_install") }
func (d Dirs) Data() string          { return filepath.Join(d.Root, "data") }
func (d Dirs) Files() string         { return filepath.Join(d.Root, "files") }
func (d Dirs) Hooks() string         { return filepath.Join(d.Root, "hooks") }
func (d Dirs) Logs() string          { return filepath.Join(d.Root, "logs") }
func (d Dirs) Static() string        { return filepath.Join(d.Root, "static") }
func (d Dirs) Var() string           { return filepath.Join(d.Root, "var") }
func (d Dirs) Run() string           { return filepath.Join(d.Root, "run") }
func (d Dirs) PID() string           { return filepath.Join(d.Root, "PID") }

// Create makes the directories with the original's modes: the root,
// hooks and logs 0755 and owned by the supervisor; config,
// config_install, data, files, static and var 0770, owned by the service's
// user and group (when the supervisor runs as root).
func (d Dirs) Create(id Identity) error {
	for _, p := range []string{d.Root, d.Hooks(), d.Logs()} {
		if err := mkdirMode(p, 0o755); err != nil {
			return err
		}
	}
	for _, p := range []string{d.Config(), d.ConfigInstall(), d.Data(), d.Files(), d.Static(), d.Var()} {
		if err := mkdirMode(p, 0o770); err != nil {
			return err
		}
		if id.Switch {
			if err := os.Chown(p, int(id.UID), int(id.GID)); err != nil {
				return fmt.Errorf("create service directory %s: %w", p, err)
			}
		}
	}
	return nil
}

func mkdirMode(p string, mode os.FileMode) error {
	if err := os.MkdirAll(p, mode); err != nil {
		return fmt.Errorf("create service directory %s: %w", p, err)
	}
	if err := os.Chmod(p, mode); err != nil {
		return fmt.Errorf("create service directory %s: %w", p, err)
	}
	return nil
}

// Identity is who a service's processes run as.
type Identity struct {
	User, Group string
	UID, GID    uint32
	// Switch is true when the supervisor changes to UID/GID (it runs as
	// root); otherwise processes run as the supervisor's user.
	Switch bool
}

// DefaultUser is the package default for SVC_USER and SVC_GROUP.
const DefaultUser = "hab"

// ResolveIdentity decides who runs a package's processes, following the
// original: a supervisor that is not root runs them as itself; as root,
// the package's SVC_USER/SVC_GROUP (hab/hab by default) when they exist;
// when the default hab user is missing, root is used with a warning; a
// missing user or group the package names is an error.
func ResolveIdentity(svcUser, svcGroup string, warn func(string)) (Identity, error) {
	if svcUser == "" {
		svcUser = DefaultUser
	}
	if svcGroup == "" {
		svcGroup = DefaultUser
	}
	if os.Geteuid() != 0 {
		u, err := user.Current()
		if err != nil {
			return Identity{}, fmt.Errorf("look up the current user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		name := u.Username
		grp := name
		if g, err := user.LookupGroupId(u.Gid); err == nil {
			grp = g.Name
		}
		return Identity{User: name, Group: grp, UID: uint32(uid), GID: uint32(gid)}, nil
	}
	u, uerr := user.Lookup(svcUser)
	g, gerr := user.LookupGroup(svcGroup)
	if uerr != nil || gerr != nil {
		if svcUser == DefaultUser && svcGroup == DefaultUser {
			warn(fmt.Sprintf("the package's user and group %s:%s do not exist on this machine; running as root", svcUser, svcGroup))
			return Identity{User: "root", Group: "root", UID: 0, GID: 0, Switch: true}, nil
		}
		if uerr != nil {
			return Identity{}, fmt.Errorf("the package's SVC_USER %q does not exist on this machine: %w", svcUser, uerr)
		}
		return Identity{}, fmt.Errorf("the package's SVC_GROUP %q does not exist on this machine: %w", svcGroup, gerr)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(g.Gid)
	return Identity{User: svcUser, Group: svcGroup, UID: uint32(uid), GID: uint32(gid), Switch: true}, nil
}
