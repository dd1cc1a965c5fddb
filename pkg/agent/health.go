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
}

// Health is the container's liveness check: the Neo4j process answers on its local HTTP port
// (any HTTP answer) or accepts connections on its Bolt port. It never asks for a formed
// cluster, so a member that waits for its peers is not killed and stays in DNS.
func Health(ctx context.Context, o HealthOptions) error {
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
