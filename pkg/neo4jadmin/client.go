// Package neo4jadmin is the admin Cypher of neo4jctl over neo4j-go-driver: cluster status,
// health gates, users and roles, server lifecycle, topology and online restore. The
// operations Lambda and `neo4jctl ... --bolt-uri` both run it, so both paths behave alike.
//
//	c, err := neo4jadmin.New("neo4j://core.neo4j.internal:7687", "neo4j", password)
//	defer c.Close(ctx)
//	resp := neo4jadmin.Execute(ctx, c, neo4jadmin.Request{Type: neo4jadmin.ReqStatus}, nil)
package neo4jadmin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
	"github.com/neo4j/neo4j-go-driver/v5/neo4j/config"
)

// Querier runs one auto-commit statement against a database and returns its rows. The
// real one speaks Bolt; tests plug in recorded Enterprise answers or the cluster simulator
// (internal/clustersim). Errors are the driver's (*neo4j.Neo4jError, connectivity errors):
// the Client classifies them.
type Querier interface {
	Query(ctx context.Context, db string, write bool, cypher string, params map[string]any) ([]Row, error)
	Close(ctx context.Context) error
}

// Client runs admin Cypher against one Neo4j deployment (a cluster through neo4j:// routing,
// or one server through bolt://).
type Client struct {
	q       Querier
	edition string // cached from dbms.components
	version string
}

// Options tune the connection.
type Options struct {
	// ConnectTimeout bounds connecting to a server (default 10s).
	ConnectTimeout time.Duration
	// UserAgent is sent to the server (default "neo4jctl").
	UserAgent string
}

// New connects lazily to uri as user with password. The password is held by the driver
// only; it is never logged or put into an error.
func New(uri, user, password string, opts ...Options) (*Client, error) {
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	if o.ConnectTimeout == 0 {
		o.ConnectTimeout = 10 * time.Second
	}
	if o.UserAgent == "" {
		o.UserAgent = "neo4jctl"
	}
	drv, err := neo4j.NewDriverWithContext(uri, neo4j.BasicAuth(user, password, ""), func(c *config.Config) {
		c.SocketConnectTimeout = o.ConnectTimeout
		c.ConnectionAcquisitionTimeout = o.ConnectTimeout + 5*time.Second
		c.MaxConnectionPoolSize = 4
		c.UserAgent = o.UserAgent
	})
	if err != nil {
		return nil, &Error{Code: CodeInvalidRequest, Message: fmt.Sprintf("connecting to %s: %v", uri, err)}
	}
	return &Client{q: &boltQuerier{drv: drv}}, nil
}

// NewWithQuerier makes a Client over any Querier (tests: recorded answers, the simulator).
func NewWithQuerier(q Querier) *Client { return &Client{q: q} }

// Close releases the connections.
func (c *Client) Close(ctx context.Context) error { return c.q.Close(ctx) }

type boltQuerier struct{ drv neo4j.DriverWithContext }

func (b *boltQuerier) Query(ctx context.Context, db string, write bool, cypher string, params map[string]any) ([]Row, error) {
	mode := neo4j.AccessModeRead
	if write {
		mode = neo4j.AccessModeWrite
	}
	s := b.drv.NewSession(ctx, neo4j.SessionConfig{DatabaseName: db, AccessMode: mode})
	defer s.Close(ctx)
	// Auto-commit and no driver retries: admin commands need auto-commit, and the callers
	// (Lambda deadline, rolling operations) decide themselves when to try again.
	res, err := s.Run(ctx, cypher, params)
	if err != nil {
		return nil, err
	}
	recs, err := res.Collect(ctx)
	if err != nil {
		return nil, err
	}
	rows := make([]Row, 0, len(recs))
	for _, r := range recs {
		rows = append(rows, Row(r.AsMap()))
	}
	return rows, nil
}

func (b *boltQuerier) Close(ctx context.Context) error { return b.drv.Close(ctx) }

// run wraps errors with what was being done and classifies them.
func (c *Client) run(ctx context.Context, what, db string, write bool, cypher string, params map[string]any) ([]Row, error) {
	rows, err := c.q.Query(ctx, db, write, cypher, params)
	if err != nil {
		return nil, classify(what, err)
	}
	return rows, nil
}

// classify turns a driver error into an *Error with a stable code.
func classify(what string, err error) error {
	var ae *Error
	if errors.As(err, &ae) {
		return &Error{Code: ae.Code, Message: what + ": " + ae.Message}
	}
	var ne *neo4j.Neo4jError
	if errors.As(err, &ne) {
		code := CodeNeo4j
		switch {
		case ne.Code == "Neo.ClientError.Security.Unauthorized" || ne.Code == "Neo.ClientError.Security.AuthenticationRateLimit":
			code = CodeUnauthorized
		case isUnsupported(ne):
			code = CodeUnsupported
		case strings.HasPrefix(ne.Code, "Neo.TransientError.General.DatabaseUnavailable"),
			strings.HasPrefix(ne.Code, "Neo.TransientError.Cluster."),
			ne.Code == "Neo.ClientError.Cluster.NotALeader":
			// no leader (yet) for the database the command needs: the caller polls
			code = CodeUnavailable
		}
		return &Error{Code: code, Message: fmt.Sprintf("%s: %s (%s)", what, ne.Msg, ne.Code)}
	}
	var ce *neo4j.ConnectivityError
	var te *neo4j.TokenExpiredError
	switch {
	case errors.As(err, &ce), neo4j.IsConnectivityError(err):
		return &Error{Code: CodeUnavailable, Message: fmt.Sprintf("%s: Neo4j not reachable: %v", what, err)}
	case errors.As(err, &te):
		return &Error{Code: CodeUnauthorized, Message: fmt.Sprintf("%s: %v", what, err)}
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return &Error{Code: CodeUnavailable, Message: fmt.Sprintf("%s: %v", what, err)}
	}
	if strings.Contains(err.Error(), "connect") || strings.Contains(err.Error(), "routing") {
		return &Error{Code: CodeUnavailable, Message: fmt.Sprintf("%s: Neo4j not reachable: %v", what, err)}
	}
	return &Error{Code: CodeInternal, Message: fmt.Sprintf("%s: %v", what, err)}
}

func isUnsupported(ne *neo4j.Neo4jError) bool {
	switch ne.Code {
	case "Neo.ClientError.Statement.UnsupportedAdministrationCommand",
		"Neo.ClientError.Procedure.ProcedureNotFound",
		"Neo.ClientError.Statement.NotSystemDatabaseError":
		return true
	}
	m := strings.ToLower(ne.Msg)
	return strings.Contains(m, "unsupported administration command") ||
		strings.Contains(m, "not available in community") ||
		strings.Contains(m, "only available in enterprise") ||
		strings.Contains(m, "there is no procedure")
}

// IsCode reports whether err is an *Error with the given code.
func IsCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

// Edition returns "enterprise" or "community" and the Neo4j version.
func (c *Client) Edition(ctx context.Context) (edition, version string, err error) {
	if c.edition != "" {
		return c.edition, c.version, nil
	}
	rows, err := c.run(ctx, "reading the Neo4j edition", "system", false,
		"CALL dbms.components() YIELD name, versions, edition RETURN name, versions, edition", nil)
	if err != nil {
		return "", "", err
	}
	for _, r := range rows {
		if str(r, "name") == "Neo4j Kernel" {
			c.edition = strings.ToLower(str(r, "edition"))
			if vs := strs(r, "versions"); len(vs) > 0 {
				c.version = vs[0]
			}
		}
	}
	if c.edition == "" {
		return "", "", &Error{Code: CodeInternal, Message: "reading the Neo4j edition: dbms.components() has no Neo4j Kernel row"}
	}
	return c.edition, c.version, nil
}

// Ping checks that the server answers and the credentials work.
func (c *Client) Ping(ctx context.Context) error {
	_, err := c.run(ctx, "checking Neo4j answers", "", false, "RETURN 1 AS ok", nil)
	return err
}

// --- row helpers: Bolt values arrive as any; these read them leniently by column name.

func str(r Row, k string) string {
	switch v := r[k].(type) {
	case string:
		return v
	case nil:
		return ""
	default:
		return fmt.Sprint(v)
	}
}

func strs(r Row, k string) []string {
	switch v := r[k].(type) {
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	case []string:
		return v
	}
	return nil
}

func boolean(r Row, k string) bool {
	b, _ := r[k].(bool)
	return b
}

func int64p(r Row, k string) *int64 {
	switch v := r[k].(type) {
	case int64:
		return &v
	case int:
		x := int64(v)
		return &x
	case float64:
		x := int64(v)
		return &x
	}
	return nil
}

func has(r Row, k string) bool { _, ok := r[k]; return ok }

// RoutingTable is what a neo4j:// driver is handed for the system database: the distinct
// addresses (host:port) of its routers, readers and writers, as the members advertise them
// (dbms.routing.getRoutingTable). A client outside the cluster's network must reach every
// one of them for neo4j:// to work.
func (c *Client) RoutingTable(ctx context.Context) ([]string, error) {
	rows, err := c.run(ctx, "reading the routing table", "system", false,
		"CALL dbms.routing.getRoutingTable({}, 'system') YIELD servers RETURN servers", nil)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []string
	for _, r := range rows {
		servers, _ := r["servers"].([]any)
		for _, s := range servers {
			m, _ := s.(map[string]any)
			for _, a := range strs(Row(m), "addresses") {
				if !seen[a] {
					seen[a] = true
					out = append(out, a)
				}
			}
		}
	}
	return out, nil
}
