package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/neo4jctl/neo4jctl/pkg/awsapi"
	"github.com/neo4jctl/neo4jctl/pkg/cluster"
	"github.com/neo4jctl/neo4jctl/pkg/ops"
	"github.com/neo4jctl/neo4jctl/pkg/printer"
)

// Exit codes: 0 success, 1 a failed operation, 2 bad usage or an invalid config (nothing
// touched).
const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2
)

type streams struct {
	in       io.Reader
	out, err io.Writer
}

// globals are the flags every command shares.
type globals struct {
	streams
	region     string
	regionFlag bool // --region given explicitly: it must agree with metadata.region
	profile    string
	quiet      bool
	timeout    time.Duration // --timeout: the whole command's deadline (0: none)
	timedOut   func() bool   // the deadline passed (set with --timeout)
	stopTimer  func()        // releases the deadline's timer
	colors     printer.Colors
	hooks      hooks    // test seams for the AWS commands (session.go); zero in production
	display    *display // progress on stderr, once a command connects to AWS
	root       *cobra.Command
}

// exitCoder is an error that decides neo4jctl's exit code; errors.As finds it however deep
// it is wrapped (cluster.ErrorList, ops.ConfirmationNeededError, usageError: 2). Any other
// error exits 1.
type exitCoder interface{ ExitCode() int }

// usageError marks an error as the user's invocation being wrong: exit 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }
func (e usageError) ExitCode() int { return exitUsage }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

func run(ctx context.Context, args []string, s streams) int {
	return runWith(ctx, args, s, hooks{})
}

func runWith(ctx context.Context, args []string, s streams, h hooks) int {
	g := &globals{streams: s, colors: printer.Colors{On: printer.ColorEnabled(s.err)}, hooks: h}
	root := newRootCommand(g)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	g.done()
	if g.stopTimer != nil {
		g.stopTimer()
	}
	if err == nil {
		return exitOK
	}
	if g.timedOut != nil && g.timedOut() {
		fmt.Fprintln(s.err, g.colors.Red("Error:"), timeoutMessage(g.timeout, err))
		return exitFailed
	}
	fmt.Fprintln(s.err, g.colors.Red("Error:"), errorMessage(err))
	return exitCode(err)
}

// errCommandTimeout is the cause of a command's context when --timeout passes (its Err is
// context.DeadlineExceeded, which is how actions tell it from Ctrl-C).
var errCommandTimeout = fmt.Errorf("--timeout reached: %w", context.DeadlineExceeded)

// withTimeout puts the --timeout deadline on the command's context.
func (g *globals) withTimeout(c *cobra.Command) error {
	switch {
	case g.timeout < 0:
		return usagef("--timeout %s is negative; give a duration such as 30m (0: no bound)", g.timeout)
	case g.timeout == 0:
		return nil
	}
	deadline := func(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
		return context.WithTimeoutCause(ctx, d, errCommandTimeout)
	}
	if g.hooks.withTimeout != nil {
		deadline = g.hooks.withTimeout
	}
	ctx, cancel := deadline(c.Context(), g.timeout)
	c.SetContext(ctx)
	g.stopTimer = cancel
	g.timedOut = func() bool { return errors.Is(ctx.Err(), context.DeadlineExceeded) }
	return nil
}

// timeoutMessage: what the command was doing when --timeout passed, and how to carry on
// (the action's own next command where it has one).
func timeoutMessage(d time.Duration, err error) string {
	msg := errorMessage(err)
	if !strings.Contains(msg, "--timeout") {
		msg = fmt.Sprintf("stopped by --timeout %s: %s", d, msg)
	}
	if !strings.Contains(msg, "`neo4jctl ") {
		msg += "\nRun the command again, with a longer --timeout."
	}
	return msg
}

// exitCode is 0 without an error, the code an error carries (exitCoder), else 1.
func exitCode(err error) int {
	var ec exitCoder
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ec):
		return ec.ExitCode()
	}
	return exitFailed
}

// errorMessage is err for people: an AWS credentials problem, wherever it surfaced, ends
// with how to configure credentials; AWS out of reach, with what to check.
func errorMessage(err error) string {
	msg := err.Error()
	var ce *awsapi.CredentialsError
	var ne *awsapi.NetworkError
	switch {
	case errors.As(err, &ce) && !strings.Contains(msg, ops.CredentialsHint):
		msg += "; " + ops.CredentialsHint
	case errors.As(err, &ne) && !strings.Contains(msg, awsapi.NetworkHint):
		msg += "; " + awsapi.NetworkHint
	}
	return msg
}

func newRootCommand(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:   "neo4jctl",
		Short: "Create and operate Neo4j Enterprise clusters on AWS ECS",
		Long: `neo4jctl turns one cluster.yaml into a Neo4j Enterprise cluster on AWS ECS through
CloudFormation, and then operates it.

Data goes to stdout and progress to stderr, so "-o json | jq" always works.
Exit codes: 0 success, 1 failed operation, 2 bad usage or invalid config.`,
		Example: `  neo4jctl create cluster -f cluster.yaml --dry-run
  neo4jctl create cluster -f cluster.yaml
  neo4jctl get clusters
  neo4jctl utils iam-policy --dir ./iam`,
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
		// cobra's own argument errors are usage errors
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error { return c.Help() },
	}
	g.root = root
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		// `neo4jctl craete cluster -f x`: the flag is unknown because the command is
		if args := c.Flags().Args(); len(args) > 0 && c.HasAvailableSubCommands() {
			return noArgs(c, args)
		}
		return usageError{err}
	})
	pf := root.PersistentFlags()
	pf.StringVar(&g.region, "region", "", "AWS region (default: AWS_REGION or the profile's region)")
	pf.StringVar(&g.profile, "profile", "", "AWS shared config profile (default: AWS_PROFILE)")
	pf.BoolVarP(&g.quiet, "quiet", "q", false, "one line per event instead of a spinner")
	pf.DurationVar(&g.timeout, "timeout", 0, "give up after this long (e.g. 45m), saying what was left and how to resume; 0: no limit (create then waits at most "+ops.DefaultFormationTimeout.String()+" for Neo4j to form)")
	root.PersistentPreRunE = func(c *cobra.Command, _ []string) error {
		g.regionFlag = c.Flags().Changed("region")
		if g.region == "" {
			g.region = cmp.Or(os.Getenv("AWS_REGION"), os.Getenv("AWS_DEFAULT_REGION"))
		}
		return g.withTimeout(c)
	}
	root.AddCommand(
		newCreateCommand(g),
		newGetCommand(g),
		newUpdateCommand(g),
		newDeleteCommand(g),
		newStopCommand(g),
		newStartCommand(g),
		newScaleCommand(g),
		newUpgradeCommand(g),
		newResetDataCommand(g),
		newRestartCommand(g),
		newDiagnoseCommand(g),
		newBackupCommand(g),
		newLogsCommand(g),
		newGenerateCommand(g),
		newImageCommand(g),
		newUtilsCommand(g),
		newVersionCommand(g),
	)
	root.SetVersionTemplate("neo4jctl version {{.Version}}\n")
	if g.out != nil { // before the completion commands, which keep the writer they see
		root.SetIn(g.in)
		root.SetOut(g.out)
		root.SetErr(g.err)
	}
	addCobraCommands(root)
	for _, c := range root.Commands() {
		c.SilenceUsage = true
	}
	return root
}

var completionExamples = map[string]string{
	"bash":       "  neo4jctl completion bash > /etc/bash_completion.d/neo4jctl",
	"zsh":        `  neo4jctl completion zsh > "${fpath[1]}/_neo4jctl"`,
	"fish":       "  neo4jctl completion fish > ~/.config/fish/completions/neo4jctl.fish",
	"powershell": "  neo4jctl completion powershell | Out-String | Invoke-Expression",
}

// addCobraCommands makes cobra's own help and completion commands now (cobra adds them at
// Execute), so that they get examples like every other command.
func addCobraCommands(root *cobra.Command) {
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		switch c.Name() {
		case "help":
			c.Example = "  neo4jctl help create cluster"
		case "completion":
			c.Example = "  neo4jctl completion bash > /etc/bash_completion.d/neo4jctl\n  neo4jctl completion zsh > \"${fpath[1]}/_neo4jctl\""
			for _, sh := range c.Commands() {
				sh.Example = completionExamples[sh.Name()]
			}
		}
	}
}

// group is a command that only holds others, such as "create" (whose subcommands name the
// object) or "image" (whose subcommands are verbs); want says what it needs, e.g. "an
// object". Every verb and noun of neo4jctl is one.
func group(use, short, want string, subs ...*cobra.Command) *cobra.Command {
	var examples []string
	for _, sub := range subs {
		first, _, _ := strings.Cut(sub.Example, "\n")
		examples = append(examples, first)
	}
	c := &cobra.Command{
		Use:     use,
		Short:   short,
		Example: strings.Join(examples, "\n"),
		Args:    noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return usagef("%s needs %s, e.g. %q", c.CommandPath(), want, c.CommandPath()+" "+subs[0].Name())
		},
	}
	c.AddCommand(subs...)
	return c
}

// stdinName stands for standard input in messages about a config read with `-f -`.
const stdinName = "<stdin>"

// loadConfig reads, defaults and validates cluster.yaml (standard input for "-"); a bad file
// exits 2. Ctrl-C or --timeout ends a load that waits (a pipe nobody writes, a FIFO). The
// File's Path is what the suggested commands name: the path given, "-" for stdin.
func loadConfig(ctx context.Context, g *globals, path string) (*cluster.File, error) {
	if path == "" {
		return nil, usagef("-f/--config-file is required: the cluster.yaml to use (- reads standard input)")
	}
	o := cluster.Overrides{Region: g.region}
	var f *cluster.File
	var err error
	if path == "-" {
		f, err = cluster.Read(ctx, g.in, stdinName, o)
	} else {
		f, err = cluster.LoadContext(ctx, path, o)
	}
	switch {
	case err != nil && cluster.IsConfigError(err):
		return nil, err
	case err != nil && ctx.Err() != nil:
		return nil, err // interrupted or out of time: not the user's invocation
	case err != nil:
		return nil, usageError{err}
	}
	name := f.Path
	f.Path = path
	if g.regionFlag && f.Config.Metadata.Region != g.region {
		return nil, usagef("--region %s disagrees with metadata.region %s in %s (line %d); drop one of them", g.region, f.Config.Metadata.Region, name, f.Line("metadata.region"))
	}
	return f, nil
}

// noArgs is cobra.NoArgs as a usage error (exit 2). A word after a command that holds
// others is a mistyped subcommand: say which ones come close.
func noArgs(c *cobra.Command, args []string) error {
	if len(args) > 0 && c.HasAvailableSubCommands() {
		c.SuggestionsMinimumDistance = cmp.Or(c.SuggestionsMinimumDistance, 2)
		msg := fmt.Sprintf("unknown command %q for %q", args[0], c.CommandPath())
		if near := c.SuggestionsFor(args[0]); len(near) > 0 {
			return usagef("%s; did you mean %s?", msg, strings.Join(near, " or "))
		}
		return usagef("%s; see `%s --help`", msg, c.CommandPath())
	}
	if err := cobra.NoArgs(c, args); err != nil {
		return usageError{err}
	}
	return nil
}

// exactArgs is cobra.ExactArgs as a usage error (exit 2).
func exactArgs(n int) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if err := cobra.ExactArgs(n)(c, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}
