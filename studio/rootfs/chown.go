package rootfs

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/habgo/hab/studio"
	"github.com/habgo/hab/studio/internal/beneath"
)

// HandOver gives the files under dir that belong to root to uid:gid, so
// that what a studio wrote into a user's source tree belongs to the user.
// It does nothing unless dir itself belongs to uid (a root-owned cache
// stays root's), stays on dir's file system and follows no symlinks, in
// any component (the tree was written by the build).
func HandOver(dir string, uid, gid int) error {
	d, err := beneath.Open(dir)
	if err != nil {
		return fmt.Errorf("hand over %s to %d:%d: %w", dir, uid, gid, err)
	}
	defer d.Close()
	top, err := d.Lstat(".")
	if err != nil {
		return fmt.Errorf("hand over %s to %d:%d: %w", dir, uid, gid, err)
	}
	if int(top.Uid) != uid {
		return nil
	}
	var walk func(p string) error
	walk = func(p string) error {
		st, err := d.Lstat(p)
		if err != nil {
			return fmt.Errorf("hand over %s to %d:%d: %w", filepath.Join(dir, p), uid, gid, err)
		}
		if st.Dev != top.Dev {
			return nil
		}
		if st.Uid == 0 && (uid != 0 || gid != 0) && p != "." {
			if err := d.Lchown(p, uid, gid); err != nil {
				return fmt.Errorf("hand over %s to %d:%d: %w", filepath.Join(dir, p), uid, gid, err)
			}
		}
		if !beneath.IsDir(st) {
			return nil
		}
		entries, err := d.ReadDir(p)
		if err != nil {
			return fmt.Errorf("hand over %s to %d:%d: %w", filepath.Join(dir, p), uid, gid, err)
		}
		for _, e := range entries {
			if err := walk(filepath.Join(p, e.Name())); err != nil {
				return err
			}
		}
		return nil
	}
	return walk(".")
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
