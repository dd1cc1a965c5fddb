package agent

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

// HealthOptions configure the liveness check.
type HealthOptions struct {
	Env     Env
	Host    string        // default 127.0.0.1
	HTTP    int           // default naming.PortHTTP
	Bolt    int           // default naming.PortBolt
	Timeout time.Duration // default 5s
	// Run is the container's run state (default RunStateFromEnv).
	Run *RunState
	// Alive reports whether a pid runs (default: kill -0 and not a zombie).
	Alive func(pid int) bool
}

// HealthState is the phase the liveness check found the container in.
type HealthState string

const (
	HealthSetup    HealthState = "setup"    // the entrypoint prepares the container: healthy
	HealthStarting HealthState = "starting" // Neo4j runs but has never answered yet: healthy
	HealthUp       HealthState = "up"       // Neo4j answers on its local ports: healthy
	HealthGone     HealthState = "gone"     // the Neo4j process is gone: unhealthy
	HealthHung     HealthState = "hung"     // Neo4j answered before and no longer does: unhealthy
	HealthDown     HealthState = "down"     // no run state (not started by the entrypoint) and no answer
)

// Health is the container's liveness check, and never a readiness or cluster check:
//   - while the entrypoint prepares the container (setup marker, its pid alive): healthy;
//   - while the Neo4j process runs but has never answered on its ports (store recovery, a
//     member waiting for its peers to form the cluster, a slow start): healthy;
//   - once Neo4j has answered (the started marker, written by the worker or by this check
//     on the first answer), the local HTTP port must answer or the Bolt port accept;
//   - the Neo4j process gone: unhealthy.
//
// Without a run state (the image run without the neo4jctl entrypoint) it probes the ports.
func Health(ctx context.Context, o HealthOptions) error {
	st, err := CheckHealth(ctx, o)
	switch st {
	case HealthSetup, HealthStarting, HealthUp:
		return nil
	}
	return err
}

// CheckHealth is Health with the phase it found.
func CheckHealth(ctx context.Context, o HealthOptions) (HealthState, error) {
	run := o.Run
	if run == nil {
		r := RunStateFromEnv(o.Env)
		run = &r
	}
	alive := o.Alive
	if alive == nil {
		alive = processAlive
	}
	pid, ok := run.Pid()
	if !ok {
		if err := ProbePorts(ctx, o); err != nil {
			return HealthDown, err
		}
		return HealthUp, nil
	}
	if !alive(pid) {
		return HealthGone, fmt.Errorf("the Neo4j process (pid %d) is gone", pid)
	}
	if run.InSetup() {
		return HealthSetup, nil
	}
	err := ProbePorts(ctx, o)
	if run.Started() {
		if err != nil {
			return HealthHung, fmt.Errorf("Neo4j (pid %d) answered before and no longer does: %w", pid, err)
		}
		return HealthUp, nil
	}
	if err == nil {
		_ = run.MarkStarted()
		return HealthUp, nil
	}
	return HealthStarting, nil
}

// ProbePorts checks that Neo4j answers locally: any HTTP answer below 500 on its HTTP
// port, or a connection accepted on its Bolt port.
func ProbePorts(ctx context.Context, o HealthOptions) error {
	if o.Host == "" {
		o.Host = "127.0.0.1"
	}
	if o.HTTP == 0 {
		o.HTTP = naming.PortHTTP
	}
	if o.Bolt == 0 {
		o.Bolt = naming.PortBolt
	}
	if o.Timeout == 0 {
		o.Timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	url := "http://" + net.JoinHostPort(o.Host, strconv.Itoa(o.HTTP)) + "/"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, herr := (&http.Client{}).Do(req)
	if herr == nil {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		if resp.StatusCode < 500 {
			return nil
		}
		herr = fmt.Errorf("HTTP %s", resp.Status)
	}
	var d net.Dialer
	conn, berr := d.DialContext(ctx, "tcp", net.JoinHostPort(o.Host, strconv.Itoa(o.Bolt)))
	if berr == nil {
		conn.Close()
		return nil
	}
	return fmt.Errorf("Neo4j is not answering: HTTP %s: %v; Bolt port %d: %v", url, herr, o.Bolt, berr)
}
