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
// production. To add one (say a fake admin channel), add a field here and apply it where
// the thing it replaces is made: newCluster for what hangs off the handle.
type hooks struct {
	awsConfig    []func(*aws.Config)                               // e.g. moto's account header
	bundle       ops.BundleFunc                                    // default agentbundle.Bundle
	wrapCFN      func(engine.CloudFormation) engine.CloudFormation // fakes in front of moto
	clock        engine.Clock
	pollInterval time.Duration
	waitTimeout  time.Duration
	answer       time.Duration                                                              // the AWS calls' answer timeout (awsapi.DefaultAnswerTimeout)
	withTimeout  func(context.Context, time.Duration) (context.Context, context.CancelFunc) // --timeout's deadline (context.WithTimeout)
	stdinTTY     *bool                                                                      // pretend stdin is (not) a terminal
	signals      chan os.Signal                                                             // Ctrl-C during a create, instead of the process's
	// wrapLambda puts a fake in front of the Lambda API of the admin channel (the admin
	// handler on a cluster simulator, answers no emulator gives)
	wrapLambda func(ops.LambdaInvoker) ops.LambdaInvoker
	// diagnoseAWS puts fakes in front of diagnose's AWS reads (what no emulator shows:
	// stopped tasks' reasons, service events)
	diagnoseAWS func(*ops.DiagnoseAWS)
}

// loadAWSConfig is the one way every command loads its AWS configuration (awsapi.LoadConfig:
// --region/--profile, retry policy, SDK log silencing, AWS_ENDPOINT_URL); a missing region or
// an unknown profile is a usage error.
func loadAWSConfig(ctx context.Context, g *globals, region string) (aws.Config, error) {
	cfg, err := awsapi.LoadConfig(ctx, awsapi.Options{Region: region, Profile: g.profile, AnswerTimeout: g.hooks.answer, Customize: g.hooks.awsConfig})
	var noProfile config.SharedConfigProfileNotExistError
	switch {
	case errors.Is(err, awsapi.ErrNoRegion):
		return cfg, usageError{err}
	case errors.As(err, &noProfile):
		return cfg, usagef("--profile/AWS_PROFILE %q is not in the AWS config files (~/.aws/config, ~/.aws/credentials); list them with `aws configure list-profiles`", noProfile.Profile)
	}
	return cfg, err
}

// newCluster connects to AWS in region (--region, or the config's) and builds the handle the
// actions work on: the stack engine, the clients, the progress display on stderr, and a
// prompt when stdin is a terminal.
func newCluster(ctx context.Context, g *globals, name, region string) (*ops.Cluster, error) {
	cfg, err := loadAWSConfig(ctx, g, region)
	if err != nil {
		return nil, err
	}
	clients := ops.NewClients(cfg)
	var cfn engine.CloudFormation = clients.CloudFormation
	if g.hooks.wrapCFN != nil {
		cfn = g.hooks.wrapCFN(cfn)
	}
	clock := g.hooks.clock
	if clock == nil {
		clock = engine.RealClock{}
	}
	g.display = newDisplay(g, clock)
	c := &ops.Cluster{
		Name:   name,
		Region: cfg.Region,
		Stacks: &engine.Engine{
			CFN:          cfn,
			Clock:        clock,
			Progress:     g.display,
			PollInterval: g.hooks.pollInterval,
			Timeout:      g.hooks.waitTimeout,
			Emulator:     awsapi.EndpointOverride(cfg, "CLOUDFORMATION"),
		},
		AWS:    clients,
		Events: g.display,
		Clock:  clock,
		// Admin: set by adminChannel (admin.go) for the commands that talk to Neo4j.
	}
	if g.stdinIsTTY() {
		c.Prompt = terminalPrompt{g}
	}
	return c, nil
}

// release is this binary's version and agent bundles (the test hook's, if set).
func (g *globals) release() ops.Release {
	if g.hooks.bundle != nil {
		return ops.Release{Version: version, Bundle: g.hooks.bundle}
	}
	return ops.Release{Version: version, Bundle: agentbundle.Bundle, SHA256: agentbundle.SHA256}
}

// display is a command's progress on stderr: the engine's stack events and the action's
// events (ops.Event), one line each, or above a spinner on a terminal.
type display struct {
	mu    sync.Mutex
	p     engine.Progress
	fresh func() engine.Progress
}

func newDisplay(g *globals, clock engine.Clock) *display {
	errw := &lockedWriter{w: g.err} // progress and event lines come from parallel waits
	fresh := func() engine.Progress {
		return engine.NewProgress(errw, g.colors, g.quiet, printer.Terminal(g.err), clock)
	}
	return &display{p: fresh(), fresh: fresh}
}

func (d *display) cur() engine.Progress {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.p
}

func (d *display) Stack(name, status, reason string) { d.cur().Stack(name, status, reason) }
func (d *display) Event(ev engine.Event)             { d.cur().Event(ev) }
func (d *display) Note(msg string)                   { d.cur().Note(msg) }
func (d *display) Print(msg string)                  { d.cur().Print(msg) }
func (d *display) Stop()                             { d.cur().Stop() }

// Emit shows an action's event as its line.
func (d *display) Emit(ev ops.Event) { d.cur().Print(ev.String()) }

// restart ends the display (no spinner over a question) and starts a fresh one for what
// follows the answer.
func (d *display) restart() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.p.Stop()
	d.p = d.fresh()
}

// done ends the command's progress display, before its last lines.
func (g *globals) done() {
	if g.display != nil {
		g.display.Stop()
	}
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

// terminalPrompt asks on stderr and reads y/yes from stdin.
type terminalPrompt struct{ g *globals }

// Confirm asks; a cancelled ctx (Ctrl-C) ends the question with no.
func (p terminalPrompt) Confirm(ctx context.Context, question string) (bool, error) {
	if p.g.display != nil {
		p.g.display.restart()
	}
	fmt.Fprint(p.g.err, question)
	type answer struct {
		yes bool
		err error
	}
	ch := make(chan answer, 1)
	go func() {
		yes, err := readYes(p.g)
		ch <- answer{yes, err}
	}()
	select {
	case a := <-ch:
		return a.yes, a.err
	case <-ctx.Done():
		return false, nil
	}
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
