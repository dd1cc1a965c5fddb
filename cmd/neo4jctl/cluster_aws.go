package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/neo4jctl/neo4jctl/pkg/awsapi"
	"github.com/neo4jctl/neo4jctl/pkg/engine"
	"github.com/neo4jctl/neo4jctl/pkg/lambdas/agentbundle"
	"github.com/neo4jctl/neo4jctl/pkg/ops"
	"github.com/neo4jctl/neo4jctl/pkg/printer"
)

// hooks are seams for the in-process CLI tests; every field is optional and nil in
// production.
type hooks struct {
	awsConfig    []func(*aws.Config)                               // e.g. moto's account header
	bundle       ops.BundleFunc                                    // default agentbundle.Bundle
	wrapCFN      func(engine.CloudFormation) engine.CloudFormation // fakes in front of moto
	clock        engine.Clock
	pollInterval time.Duration
	waitTimeout  time.Duration
	stdinTTY     *bool          // pretend stdin is (not) a terminal
	signals      chan os.Signal // Ctrl-C during a create, instead of the process's
}

// newOps connects to AWS in region (the config's) with --profile, and wires the engine's
// progress to stderr.
func newOps(ctx context.Context, g *globals, region string) (*ops.Ops, error) {
	cfg, err := loadAWSConfig(ctx, g, region)
	if err != nil {
		return nil, err
	}
	clients := ops.NewAWS(cfg)
	if g.hooks.wrapCFN != nil {
		clients.CFN = g.hooks.wrapCFN(clients.CFN)
	}
	clock := g.hooks.clock
	if clock == nil {
		clock = engine.RealClock{}
	}
	bundle := g.hooks.bundle
	if bundle == nil {
		bundle = agentbundle.Bundle
	}
	errw := &lockedWriter{w: g.err} // progress and log lines come from parallel waits
	o := &ops.Ops{
		AWS: clients,
		Engine: &engine.Engine{
			CFN:          clients.CFN,
			Clock:        clock,
			Progress:     engine.NewProgress(errw, g.colors, g.quiet, printer.Terminal(g.err), clock),
			PollInterval: g.hooks.pollInterval,
			Timeout:      g.hooks.waitTimeout,
			Emulator:     awsapi.EndpointOverride(cfg, "CLOUDFORMATION"),
		},
		Log:     errw,
		Colors:  g.colors,
		Bundle:  bundle,
		Version: version,
	}
	if g.stdinIsTTY() {
		o.Confirm = func(q string) (bool, error) { return ask(g, q) }
	}
	return o, nil
}

// loadAWSConfig is the one way every command loads its AWS configuration (awsapi.LoadConfig:
// --region/--profile, retry policy, SDK log silencing, AWS_ENDPOINT_URL); a missing region or
// an unknown profile is a usage error.
func loadAWSConfig(ctx context.Context, g *globals, region string) (aws.Config, error) {
	cfg, err := awsapi.LoadConfig(ctx, awsapi.Options{Region: region, Profile: g.profile, Customize: g.hooks.awsConfig})
	var noProfile config.SharedConfigProfileNotExistError
	switch {
	case errors.Is(err, awsapi.ErrNoRegion):
		return cfg, usageError{err}
	case errors.As(err, &noProfile):
		return cfg, usagef("--profile/AWS_PROFILE %q is not in the AWS config files (~/.aws/config, ~/.aws/credentials); list them with `aws configure list-profiles`", noProfile.Profile)
	}
	return cfg, err
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (g *globals) stdinIsTTY() bool {
	if g.hooks.stdinTTY != nil {
		return *g.hooks.stdinTTY
	}
	return printer.IsTerminal(g.in)
}

// ask prints a question on stderr and reads y/yes from stdin.
func ask(g *globals, q string) (bool, error) {
	fmt.Fprint(g.err, q)
	return readYes(g)
}

// readYes reads one answer from stdin: y or yes.
func readYes(g *globals) (bool, error) {
	line, err := bufio.NewReader(g.in).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return false, err
	}
	a := strings.ToLower(strings.TrimSpace(line))
	return a == "y" || a == "yes", nil
}

// interrupts delivers Ctrl-C while a command runs (the test hook's channel in tests).
func (g *globals) interrupts() (<-chan os.Signal, func()) {
	if g.hooks.signals != nil {
		return g.hooks.signals, func() {}
	}
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	return ch, func() { signal.Stop(ch) }
}
