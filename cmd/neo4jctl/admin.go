package main

import (
	"context"
	"net/url"
	"slices"

	"github.com/spf13/cobra"

	"github.com/neo4jctl/neo4jctl/pkg/ops"
)

// adminOptions are the flags of every command that talks to Neo4j.
type adminOptions struct {
	boltURI string
}

// addAdminFlags gives a command that talks to Neo4j its --bolt-uri flag; adminChannel then
// makes the channel from them.
func addAdminFlags(c *cobra.Command, o *adminOptions) {
	c.Flags().StringVar(&o.boltURI, "bolt-uri", "", "talk to Neo4j directly at this URI instead of through the cluster's admin Lambda: "+
		"bolt://HOST:7687 reaches one member (e.g. through a tunnel), neo4j:// routes and needs every member's name to resolve from here, "+
		"+s or +ssc for TLS; credentials from NEO4J_USERNAME/NEO4J_PASSWORD, else the cluster's admin secret")
}

// boltSchemes are the URI schemes of the Neo4j driver.
var boltSchemes = []string{"bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc"}

// adminChannel is how a command reaches its cluster's Neo4j, the one way for every command:
// direct over Bolt with --bolt-uri, else the cluster's admin Lambda inside the VPC. It sets
// h.Admin (for h.Name) and returns what to call when the command is done.
func (g *globals) adminChannel(h *ops.Cluster, o adminOptions) (func(), error) {
	if o.boltURI == "" {
		h.Admin = g.lambdaChannel(h, h.Name)
		return func() {}, nil
	}
	u, err := url.Parse(o.boltURI)
	switch {
	case err == nil && u.User != nil: // never echo it: it may hold a password
		return nil, usagef("--bolt-uri must not carry a user or password; set NEO4J_USERNAME and NEO4J_PASSWORD instead")
	case err != nil || !slices.Contains(boltSchemes, u.Scheme) || u.Host == "":
		return nil, usagef("--bolt-uri %q is not a Neo4j URI: use SCHEME://HOST:PORT with a scheme of %v, e.g. bolt://localhost:7687", o.boltURI, boltSchemes)
	}
	b := ops.NewBoltChannel(h.Name, o.boltURI, h.AWS.SecretsManager)
	h.Admin = b
	return func() { b.Close(context.Background()) }, nil
}

// lambdaChannel is the admin Lambda channel of cluster name (the test hook's Lambda API, if
// set, in front of the SDK's).
func (g *globals) lambdaChannel(h *ops.Cluster, name string) ops.AdminChannel {
	var api ops.LambdaInvoker = h.AWS.Lambda
	if g.hooks.wrapLambda != nil {
		api = g.hooks.wrapLambda(api)
	}
	ch := ops.NewLambdaChannel(name, h.Region, api)
	ch.Clock = h.Clock
	return ch
}
