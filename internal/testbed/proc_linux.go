package testbed

import (
	"os/exec"
	"syscall"
)

// setChildAttrs puts the child in its own process group (so Close can kill
// everything it started) and has the kernel kill it if the test binary dies
// (go test -timeout, Ctrl-C), so no emulator outlives its tests.
func setChildAttrs(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

func killGroup(cmd *exec.Cmd) {
	if cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	_ = cmd.Process.Kill()
}
