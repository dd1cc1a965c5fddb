package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/neo4jctl/neo4jctl/pkg/engine"
	"github.com/neo4jctl/neo4jctl/pkg/ops"
)

type logsOptions struct {
	ops.LogsOptions
	debug, slow, boot bool
	since             string
	liveTail          bool
	timestamps        bool
	output            string
}

func newLogsCommand(g *globals) *cobra.Command {
	o := &logsOptions{}
	c := &cobra.Command{
		Use:   "logs NAME",
		Short: "Read the cluster's logs from CloudWatch Logs, every member interleaved by time",
		Long: `Print the cluster's log lines from CloudWatch Logs in time order, the member in front of each
line ([core-2], [replica/1a2b3c4d] for a replica task, [backup/9f8e7d6c] for a backup or verify
task, [admin] for the admin function). By default: the containers of every core and replica
(neo4j.log and the agent). --debug and --slow-queries read the debug and query logs the agent
ships (monitoring.debugLog, monitoring.slowQueryLog), --boot the core instances' boot log
(volume attach and mount).

--follow keeps printing new lines, polling CloudWatch Logs every 2 seconds (looking 15 seconds
back for lines taken in late); --live-tail streams them with a CloudWatch Logs Live Tail
session instead (billed per session minute; falls back to polling where the account or
endpoint has no Live Tail). Lines go to stdout; -o json prints one JSON object a line.`,
		Example: `  neo4jctl logs graph-prod --since 30m
  neo4jctl logs graph-prod --member core-2 --follow
  neo4jctl logs graph-prod --slow-queries --since 2h --grep "MATCH (n)"
  neo4jctl logs graph-prod --member backup --since 1d -o json | jq -r .message`,
		Args: exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if err := o.check(g.hooks.clock); err != nil {
				return usageError{err}
			}
			h, err := newCluster(c.Context(), g, args[0], g.region)
			if err != nil {
				return err
			}
			l := ops.NewLogs(h)
			l.Clock, l.PollInterval = g.hooks.clock, g.hooks.pollInterval
			w := bufio.NewWriter(g.out)
			defer w.Flush()
			g.done() // data only from here: no spinner between the lines
			read := l.Read
			if o.liveTail {
				read = l.LiveTail
			}
			return read(c.Context(), o.LogsOptions, func(ln ops.LogLine) error { return o.write(w, ln) })
		},
	}
	f := c.Flags()
	f.StringVar(&o.Member, "member", "", "core-N, replicas, backup (backup and verify tasks) or admin (the admin function); default every core and replica")
	f.BoolVar(&o.debug, "debug", false, "the debug log (monitoring.debugLog)")
	f.BoolVar(&o.slow, "slow-queries", false, "the query log (monitoring.slowQueryLog)")
	f.BoolVar(&o.boot, "boot", false, "the core instances' boot log (volume attach and mount)")
	f.StringVar(&o.since, "since", "1h", "from how long ago (30m, 2h, 3d) or from a time (2026-11-26T02:00:00Z)")
	f.BoolVarP(&o.Follow, "follow", "f", false, "keep printing new lines until Ctrl-C")
	f.BoolVar(&o.liveTail, "live-tail", false, "follow with a CloudWatch Logs Live Tail session instead of polling (implies --follow)")
	f.StringVar(&o.Grep, "grep", "", "only lines containing this text (case-sensitive; CloudWatch Logs filters them)")
	f.BoolVar(&o.timestamps, "timestamps", false, "print each line's CloudWatch timestamp after the member")
	f.StringVarP(&o.output, "output", "o", "text", "text, or json (one object a line)")
	return c
}

// check turns the flags into options; now is the hook's clock, if any.
func (o *logsOptions) check(clock engine.Clock) error {
	if o.output != "text" && o.output != "json" {
		return fmt.Errorf("-o %q is not a format; use one of text, json", o.output)
	}
	n := 0
	for kind, on := range map[string]bool{ops.LogDebug: o.debug, ops.LogQuery: o.slow, ops.LogBoot: o.boot} {
		if on {
			o.Kind, n = kind, n+1
		}
	}
	if n > 1 {
		return fmt.Errorf("--debug, --slow-queries and --boot exclude each other")
	}
	if o.liveTail {
		o.Follow = true
	}
	if clock == nil {
		clock = engine.RealClock{}
	}
	since, err := parseSince(o.since, clock.Now())
	if err != nil {
		return err
	}
	o.Since = since
	return o.Validate()
}

// parseSince reads --since: a duration before now (with d for days) or a time.
func parseSince(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n >= 0 {
			return now.AddDate(0, 0, -n), nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return time.Time{}, fmt.Errorf("--since %q: use a duration (30m, 2h, 3d) or a time (2026-11-26T02:00:00Z)", s)
	}
	return now.Add(-d), nil
}

// write prints one line: [member] message, or a JSON object; flushed at once when following.
func (o *logsOptions) write(w *bufio.Writer, ln ops.LogLine) error {
	if o.output == "json" {
		b, err := json.Marshal(ln)
		if err != nil {
			return err
		}
		w.Write(append(b, '\n'))
	} else if o.timestamps {
		fmt.Fprintf(w, "[%s] %s %s\n", ln.Member, ln.Time.Format("2006-01-02T15:04:05.000Z"), ln.Message)
	} else {
		fmt.Fprintf(w, "[%s] %s\n", ln.Member, ln.Message)
	}
	if o.Follow {
		return w.Flush()
	}
	return nil
}
