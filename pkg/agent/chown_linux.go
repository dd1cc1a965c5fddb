package agent

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// chownLike gives everything under dir the owner of dir itself (the image's neo4j user), as
// neo4j-admin ran as root before the official entrypoint drops privileges.
func chownLike(dir string) {
	if os.Geteuid() != 0 {
		return
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return
	}
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil {
			_ = os.Lchown(p, int(st.Uid), int(st.Gid))
		}
		return nil
	})
}
