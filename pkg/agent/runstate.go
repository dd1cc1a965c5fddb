package agent

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

// The container's run state: small files in RunDir (never on the data volume: a new
// container must start without them) that tell the health check what phase the container
// is in.
const (
	// pidFile holds the pid of the entrypoint, which execs the official entrypoint and so
	// becomes Neo4j: while it lives, Neo4j (or its start-up) lives.
	pidFile = "neo4j.pid"
	// setupFile exists while the entrypoint prepares the container (volume check,
	// addresses, settings): healthy whatever the ports say.
	setupFile = "setup"
	// startedFile is written once Neo4j answered on its local ports (by the worker, or by
	// the health check itself): from then on the ports must answer.
	startedFile = "started"
)

// RunState is the run directory of one container.
type RunState struct{ Dir string }

// DefaultRunDir is the run directory without NEO4JCTL_RUN_DIR: in the container's own
// writable layer, and writable by the neo4j user the containers run as (/run is root's).
const DefaultRunDir = "/tmp/neo4jctl"

// RunStateFromEnv is the run directory named by NEO4JCTL_RUN_DIR, default DefaultRunDir.
func RunStateFromEnv(env Env) RunState {
	if d := env(naming.EnvRunDir); d != "" {
		return RunState{Dir: d}
	}
	return RunState{Dir: DefaultRunDir}
}

func (r RunState) path(name string) string { return filepath.Join(r.Dir, name) }

// Begin records the entrypoint's pid and the setup marker.
func (r RunState) Begin(pid int) error {
	if err := os.MkdirAll(r.Dir, 0o755); err != nil {
		return fmt.Errorf("creating the run directory: %w", err)
	}
	// A container restarted in place (docker restart) keeps its files: start clean.
	_ = os.Remove(r.path(startedFile))
	if err := os.WriteFile(r.path(setupFile), []byte(time.Now().UTC().Format(time.RFC3339)), 0o644); err != nil {
		return fmt.Errorf("writing the setup marker: %w", err)
	}
	if err := os.WriteFile(r.path(pidFile), []byte(strconv.Itoa(pid)), 0o644); err != nil {
		return fmt.Errorf("writing the pid file: %w", err)
	}
	return nil
}

// EndSetup removes the setup marker: Neo4j starts now.
func (r RunState) EndSetup() error {
	if err := os.Remove(r.path(setupFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// InSetup reports whether the entrypoint is still preparing the container.
func (r RunState) InSetup() bool { return exists(r.path(setupFile)) }

// MarkStarted records that Neo4j has answered on its local ports.
func (r RunState) MarkStarted() error {
	if r.Started() {
		return nil
	}
	return os.WriteFile(r.path(startedFile), []byte(time.Now().UTC().Format(time.RFC3339)), 0o644)
}

// Started reports whether Neo4j has been seen up in this container.
func (r RunState) Started() bool { return exists(r.path(startedFile)) }

// Pid is the pid that becomes Neo4j; ok is false when no entrypoint recorded one.
func (r RunState) Pid() (int, bool) {
	b, err := os.ReadFile(r.path(pidFile))
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid, err == nil && pid > 0
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }
