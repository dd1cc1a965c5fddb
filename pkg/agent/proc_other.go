//go:build !linux

package agent

import (
	"errors"
	"os"
)

func processAlive(pid int) bool {
	p, err := os.FindProcess(pid)
	return err == nil && p != nil
}

func diskUsedPercent(string) (float64, error) {
	return 0, errors.New("disk usage is only measured on Linux")
}
