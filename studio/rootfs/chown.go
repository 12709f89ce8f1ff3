package rootfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/habgo/hab/studio"
)

// HandOver gives the files under dir that belong to root to uid:gid, so
// that what a studio wrote into a user's source tree belongs to the user.
// It does nothing unless dir itself belongs to uid (a root-owned cache
// stays root's), stays on dir's file system and follows no symlinks.
func HandOver(dir string, uid, gid int) error {
	top, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("hand over %s to %d:%d: %w", dir, uid, gid, err)
	}
	if int(top.Sys().(*syscall.Stat_t).Uid) != uid {
		return nil
	}
	dev := top.Sys().(*syscall.Stat_t).Dev
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("hand over %s to %d:%d: %w", p, uid, gid, err)
		}
		fi, err := d.Info()
		if err != nil {
			return fmt.Errorf("hand over %s to %d:%d: %w", p, uid, gid, err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if st.Dev != dev {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if st.Uid == 0 && (uid != 0 || gid != 0) {
			if err := os.Lchown(p, uid, gid); err != nil {
				return fmt.Errorf("hand over %s to %d:%d: %w", p, uid, gid, err)
			}
		}
		return nil
	})
}

// HandOverMounts hands the read-write mounts of cfg over to cfg.Owner
// (see HandOver); it does nothing without an owner.
func HandOverMounts(cfg studio.Config) error {
	if cfg.Owner == nil {
		return nil
	}
	var errs []error
	for _, m := range cfg.Mounts {
		if !m.ReadOnly {
			errs = append(errs, HandOver(m.Source, cfg.Owner.UID, cfg.Owner.GID))
		}
	}
	return errors.Join(errs...)
}
