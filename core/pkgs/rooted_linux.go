package pkgs

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// resolveIn returns the host path that p, an absolute path inside the
// file-system root fsRoot, names once every symbolic link and ".." in it is
// resolved as it would be inside that root: the kernel resolves it
// (openat2 with RESOLVE_IN_ROOT), so that an absolute link or a ".." never
// leads out of fsRoot. p must exist.
func resolveIn(fsRoot, p string) (string, error) {
	root, err := os.OpenFile(fsRoot, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", err
	}
	defer root.Close()
	rel := strings.TrimPrefix(path.Clean("/"+p), "/")
	if rel == "" {
		rel = "."
	}
	fd, err := unix.Openat2(int(root.Fd()), rel, &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	})
	if err != nil {
		return "", &os.PathError{Op: "resolve", Path: filepath.Join(fsRoot, rel), Err: err}
	}
	defer unix.Close(fd)
	real, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", fd))
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", p, err)
	}
	return real, nil
}
