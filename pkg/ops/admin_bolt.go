package ops

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/neo4jctl/neo4jctl/pkg/awsapi"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/neo4jadmin"
)

// SecretReader reads a secret's value: the cluster's admin credentials.
type SecretReader interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// Environment variables that give --bolt-uri its credentials.
const (
	EnvNeo4jUsername = "NEO4J_USERNAME"
	EnvNeo4jPassword = "NEO4J_PASSWORD"
)

// BoltChannel is the AdminChannel straight to Neo4j over Bolt (--bolt-uri), for users with
// network access to the members (VPN, peering, a bastion tunnel). It runs the same
// pkg/neo4jadmin code as the admin Lambda, on this machine.
//
// What works from where: bolt://HOST:7687 talks to one member only, so it works through a
// tunnel to any member (status, health and reads; admin changes such as ENABLE or DROP
// SERVER need that member to be the system database's leader). neo4j:// routes: Neo4j
// hands out the members' advertised names (core-N.<namespace>), which must resolve and
// connect from here, as over a VPN whose DNS resolves the VPC's private zone; before the
// first request the channel checks every routed member and names the first it cannot
// reach. +s and +ssc schemes use TLS (+ssc also accepts a self-signed or mismatched
// certificate, as through a tunnel to localhost).
type BoltChannel struct {
	URI     string
	Cluster string
	Secrets SecretReader        // the admin secret, when NEO4J_USERNAME/NEO4J_PASSWORD are unset
	Getenv  func(string) string // default os.Getenv
	// Dial opens a client (default neo4jadmin.New); Reach checks that this machine can connect
	// to a member's address (default a DNS lookup and a TCP connection within 5 s).
	Dial  func(uri, user, password string) (*neo4jadmin.Client, error)
	Reach func(ctx context.Context, address string) error

	mu                     sync.Mutex
	client                 *neo4jadmin.Client
	user, password, source string
}

// NewBoltChannel is the --bolt-uri channel of cluster.
func NewBoltChannel(cluster, uri string, secrets SecretReader) *BoltChannel {
	return &BoltChannel{URI: uri, Cluster: cluster, Secrets: secrets}
}

// Send runs one request against the URI (see AdminChannel).
func (b *BoltChannel) Send(ctx context.Context, req neo4jadmin.Request) (neo4jadmin.Response, error) {
	c, err := b.connect(ctx)
	if err != nil {
		return neo4jadmin.Response{Type: req.Type}, err
	}
	env := neo4jadmin.Env{}
	if routed(b.URI) { // member names resolve from here (checked): requests that must run on one member can
		env.DialServer = b.dialServer
	}
	resp := neo4jadmin.ExecuteWith(ctx, c, req, env)
	if err := neo4jadmin.CheckContract(req, resp); err != nil {
		return resp, b.explain(req, err)
	}
	return resp, nil
}

// Close releases the connections.
func (b *BoltChannel) Close(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.client == nil {
		return nil
	}
	err := b.client.Close(ctx)
	b.client = nil
	return err
}

func routed(uri string) bool { return strings.HasPrefix(uri, "neo4j") }

// scheme is bolt, bolt+s or bolt+ssc: the direct scheme with the URI's TLS.
func (b *BoltChannel) scheme() string {
	s, _, _ := strings.Cut(b.URI, "://")
	return "bolt" + strings.TrimPrefix(strings.TrimPrefix(s, "neo4j"), "bolt")
}

// Via says where requests go, for messages.
func (b *BoltChannel) Via() string { return "--bolt-uri " + b.URI }

// connect makes the client once: the credentials, then for neo4j:// the check that every
// routed member can be reached from here.
func (b *BoltChannel) connect(ctx context.Context) (*neo4jadmin.Client, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.client != nil {
		return b.client, nil
	}
	if err := b.credentials(ctx); err != nil {
		return nil, err
	}
	if routed(b.URI) {
		if err := b.checkRoutes(ctx); err != nil {
			return nil, err
		}
	}
	c, err := b.dial(b.URI)
	if err != nil {
		return nil, &ChannelError{Via: b.Via(), Reason: ReasonUnreachable, Detail: err.Error(), Err: err,
			Next: "use bolt://, bolt+s://, bolt+ssc://, neo4j://, neo4j+s:// or neo4j+ssc:// with host:port"}
	}
	b.client = c
	return c, nil
}

func (b *BoltChannel) dial(uri string) (*neo4jadmin.Client, error) {
	if b.Dial != nil {
		return b.Dial(uri, b.user, b.password)
	}
	return neo4jadmin.New(uri, b.user, b.password)
}

func (b *BoltChannel) dialServer(_ context.Context, address string) (*neo4jadmin.Client, error) {
	return b.dial(b.scheme() + "://" + address)
}

// credentials come from NEO4J_USERNAME/NEO4J_PASSWORD when set, else from the cluster's
// admin secret. The password is never put into a message.
func (b *BoltChannel) credentials(ctx context.Context) error {
	getenv := b.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	user, password := getenv(EnvNeo4jUsername), getenv(EnvNeo4jPassword)
	switch {
	case password != "":
		b.user, b.password, b.source = cmp.Or(user, "neo4j"), password, EnvNeo4jUsername+"/"+EnvNeo4jPassword
		return nil
	case user != "":
		return &ChannelError{Via: b.Via(), Reason: ReasonNoCreds, Detail: EnvNeo4jUsername + " is set but " + EnvNeo4jPassword + " is not",
			Next: "set both, or neither to use the cluster's admin secret " + naming.AdminSecret(b.Cluster)}
	case b.Secrets == nil:
		return &ChannelError{Via: b.Via(), Reason: ReasonNoCreds, Next: "set " + EnvNeo4jUsername + " and " + EnvNeo4jPassword}
	}
	secret := naming.AdminSecret(b.Cluster)
	out, err := b.Secrets.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(secret)})
	if err != nil {
		return &ChannelError{Via: b.Via(), Reason: ReasonNoCreds, Detail: "reading the admin secret " + secret + ": " + awsapi.Clean(err).Error(), Err: err,
			Next: "set " + EnvNeo4jUsername + " and " + EnvNeo4jPassword + ", or allow secretsmanager:GetSecretValue on " + secret}
	}
	var c struct{ Username, Password string }
	if json.Unmarshal([]byte(aws.ToString(out.SecretString)), &c) != nil || c.Password == "" {
		return &ChannelError{Via: b.Via(), Reason: ReasonNoCreds, Detail: "the admin secret " + secret + ` is not {"username":...,"password":...}`,
			Next: "set " + EnvNeo4jUsername + " and " + EnvNeo4jPassword}
	}
	b.user, b.password, b.source = cmp.Or(c.Username, "neo4j"), c.Password, "the admin secret "+secret
	return nil
}

// checkRoutes asks the URI's server (directly) for the routing table and checks that each
// routed member can be reached from here, naming the first that cannot.
func (b *BoltChannel) checkRoutes(ctx context.Context) error {
	_, hostport, _ := strings.Cut(b.URI, "://")
	hostport, _, _ = strings.Cut(hostport, "?")
	c, err := b.dial(b.scheme() + "://" + hostport)
	if err != nil {
		return &ChannelError{Via: b.Via(), Reason: ReasonUnreachable, Detail: err.Error(), Err: err}
	}
	defer c.Close(context.WithoutCancel(ctx))
	addrs, err := c.RoutingTable(ctx)
	if err != nil {
		return b.explain(neo4jadmin.Request{Type: neo4jadmin.ReqStatus}, err)
	}
	reach := b.Reach
	if reach == nil {
		reach = reachable
	}
	for _, a := range addrs {
		if err := reach(ctx, a); err != nil {
			return &ChannelError{Via: b.Via(), Reason: ReasonUnreachable, Err: err,
				Detail: fmt.Sprintf("Neo4j routes to the member %s, which cannot be reached from here: %v", a, err),
				Next:   routingAdvice(hostport)}
		}
	}
	return nil
}

// routingAdvice says what works when neo4j:// routing hands out names this machine cannot
// reach.
func routingAdvice(hostport string) string {
	return "neo4j:// needs every member's advertised name (core-N.<namespace>) to resolve and connect from this machine (a VPN or peering using the VPC's DNS); " +
		"through a tunnel to one member use bolt://" + hostport + " (status and reads work on any member; admin changes need the system database's leader), " +
		"or leave out --bolt-uri to go through the admin Lambda inside the VPC"
}

func reachable(ctx context.Context, address string) error {
	d := net.Dialer{Timeout: 5 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", address)
	if err != nil {
		return err
	}
	return conn.Close()
}

// explain adds to Neo4j's refusals what they mean on a --bolt-uri run.
func (b *BoltChannel) explain(req neo4jadmin.Request, err error) error {
	msg := err.Error()
	switch {
	case neo4jadmin.IsCode(err, neo4jadmin.CodeUnauthorized):
		return &ChannelError{Via: b.Via(), Reason: ReasonAuth, Detail: fmt.Sprintf("user %s, from %s: %s", b.user, b.source, msg), Err: err,
			Next: "check " + EnvNeo4jUsername + "/" + EnvNeo4jPassword + "; unset, the admin secret " + naming.AdminSecret(b.Cluster) + " is used"}
	case neo4jadmin.IsCode(err, neo4jadmin.CodeUnavailable) && strings.Contains(msg, "not reachable"):
		return &ChannelError{Via: b.Via(), Reason: ReasonUnreachable, Detail: msg, Err: err,
			Next: "is the tunnel or VPN up? Without one, leave out --bolt-uri to go through the admin Lambda inside the VPC"}
	case neo4jadmin.IsCode(err, neo4jadmin.CodeUnavailable) && req.Mutating() && !routed(b.URI):
		return &ChannelError{Via: b.Via(), Reason: ReasonNotLeader, Detail: msg, Err: err,
			Next: "admin changes run on the system database's leader and bolt:// reaches one member: point the tunnel at the leader, use neo4j:// where member names resolve, or leave out --bolt-uri"}
	case neo4jadmin.IsCode(err, neo4jadmin.CodeUnsupported) && req.Type == neo4jadmin.ReqTransferLeadership && !routed(b.URI):
		return &ChannelError{Via: b.Via(), Reason: ReasonUnsupported, Detail: msg, Err: err,
			Next: "this request runs on one given member, which a bolt:// tunnel cannot reach: leave out --bolt-uri"}
	}
	return err
}
