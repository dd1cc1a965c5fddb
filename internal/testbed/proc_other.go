//go:build !linux

package testbed

import "os/exec"

func setChildAttrs(cmd *exec.Cmd) {}

func killGroup(cmd *exec.Cmd) {
	if cmd.Process != nil {
		_ = cmd.Process.Kill()
	}
}
