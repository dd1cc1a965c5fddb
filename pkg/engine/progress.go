package engine

import (
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/briandowns/spinner"

	"github.com/neo4jctl/neo4jctl/pkg/printer"
)

// Progress receives what happens during waits. Implementations are safe for concurrent use:
// stacks are waited for in parallel.
type Progress interface {
	// Stack reports a stack reaching a status (start, end) with CloudFormation's reason.
	Stack(name, status, reason string)
	// Event reports one new stack event.
	Event(Event)
	// Note is a message such as "AWS is throttling".
	Note(msg string)
	// Print writes a line of the command's own (above the spinner, if any).
	Print(msg string)
	// Stop ends the display (the spinner); safe to call more than once.
	Stop()
}

// NoProgress shows nothing.
type NoProgress struct{}

func (NoProgress) Stack(string, string, string) {}
func (NoProgress) Event(Event)                  {}
func (NoProgress) Note(string)                  {}
func (NoProgress) Print(string)                 {}
func (NoProgress) Stop()                        {}

// NewProgress returns a spinner when tty (the file behind w) is a terminal, and one line per
// event otherwise: with quiet, in CI, or on a dumb terminal (TERM=dumb), where the
// spinner's carriage returns and erase sequences would show as garbage.
func NewProgress(w io.Writer, colors printer.Colors, quiet bool, tty *os.File, clock Clock) Progress {
	if clock == nil {
		clock = RealClock{}
	}
	lines := &Lines{W: w, Colors: colors, Clock: clock}
	if quiet || !printer.IsTerminal(tty) || printer.Dumb() || isCI() {
		return lines
	}
	return newSpinner(w, tty, lines)
}

func isCI() bool {
	return strings.TrimSpace(getenv("CI")) != "" && getenv("CI") != "false"
}

// Lines writes one line per stack status and resource event.
type Lines struct {
	W      io.Writer
	Colors printer.Colors
	Clock  Clock
	mu     sync.Mutex
	start  time.Time
}

func (l *Lines) stamp() string {
	if l.Clock == nil {
		return ""
	}
	now := l.Clock.Now()
	if l.start.IsZero() {
		l.start = now
	}
	d := now.Sub(l.start).Round(time.Second)
	return fmt.Sprintf("[%02d:%02d] ", int(d.Minutes()), int(d.Seconds())%60)
}

func (l *Lines) colorStatus(status string) string {
	switch {
	case strings.HasSuffix(status, "_FAILED") || strings.Contains(status, "ROLLBACK"):
		return l.Colors.Red(status)
	case strings.HasSuffix(status, "_COMPLETE"):
		return l.Colors.Green(status)
	}
	return l.Colors.Yellow(status)
}

func (l *Lines) Stack(name, status, reason string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	line := fmt.Sprintf("%s%s %s", l.stamp(), l.Colors.Bold(name), l.colorStatus(status))
	if reason != "" {
		line += ": " + reason
	}
	fmt.Fprintln(l.W, line)
}

func (l *Lines) Event(ev Event) {
	if ev.IsStack() && (ev.Status == StatusCreateInProgress || ev.Status == StatusDeleteInProgress ||
		ev.Status == "UPDATE_IN_PROGRESS" || succeeded(OpCreate, ev.Status) || succeeded(OpUpdate, ev.Status) || succeeded(OpDelete, ev.Status)) {
		return // Stack() reports these
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	line := fmt.Sprintf("%s%s  %s (%s) %s", l.stamp(), ev.Stack, ev.LogicalID, ev.Type, l.colorStatus(ev.Status))
	if ev.Reason != "" && ev.Reason != "User Initiated" {
		line += ": " + ev.Reason
	}
	fmt.Fprintln(l.W, line)
}

func (l *Lines) Note(msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.W, "%s%s\n", l.stamp(), l.Colors.Faint(msg))
}

func (l *Lines) Print(msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintln(l.W, msg)
}

func (l *Lines) Stop() {}

// spinnerProgress keeps one spinner line naming the stacks in progress and their latest
// resource; completed stacks and failures are printed above it as permanent lines.
type spinnerProgress struct {
	mu      sync.Mutex
	s       *spinner.Spinner
	lines   *Lines
	active  map[string]string // stack -> latest resource activity
	order   []string
	stopped bool
}

func newSpinner(w io.Writer, tty *os.File, lines *Lines) *spinnerProgress {
	if !lines.Colors.On {
		// the spinner paints its character (fatih/color, which looks at stdout, not at
		// NO_COLOR-or-not-our-terminal): take the colour out, keep the line erasing
		w = noColor{w}
	}
	s := spinner.New(spinner.CharSets[14], 120*time.Millisecond, spinner.WithWriter(w))
	s.WriterFile = tty // the terminal check: WithWriter would look at stdout
	return &spinnerProgress{s: s, lines: lines, active: map[string]string{}}
}

func (p *spinnerProgress) refresh() {
	var parts []string
	for _, n := range p.order {
		if act := p.active[n]; act != "" {
			parts = append(parts, n+": "+act)
		} else {
			parts = append(parts, n)
		}
	}
	if len(parts) == 0 {
		p.s.Stop()
		return
	}
	p.s.Suffix = " " + strings.Join(parts, " | ")
	if !p.s.Active() && !p.stopped {
		p.s.Start()
	}
}

// permanent prints a line above the spinner.
func (p *spinnerProgress) permanent(f func()) {
	active := p.s.Active()
	if active {
		p.s.Stop()
	}
	f()
	if active && !p.stopped {
		p.s.Start()
	}
}

func (p *spinnerProgress) Stack(name, status, reason string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if InProgress(status) {
		if _, ok := p.active[name]; !ok {
			p.order = append(p.order, name)
		}
		p.active[name] = strings.ToLower(strings.TrimSuffix(status, "_IN_PROGRESS")) + " starting"
		p.refresh()
		return
	}
	delete(p.active, name)
	for i, n := range p.order {
		if n == name {
			p.order = append(p.order[:i], p.order[i+1:]...)
			break
		}
	}
	p.permanent(func() { p.lines.Stack(name, status, reason) })
	p.refresh()
}

func (p *spinnerProgress) Event(ev Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if strings.HasSuffix(ev.Status, "_FAILED") || strings.Contains(ev.Status, "ROLLBACK") {
		p.permanent(func() { p.lines.Event(ev) })
	}
	if _, ok := p.active[ev.Stack]; ok && !ev.IsStack() {
		p.active[ev.Stack] = ev.LogicalID + " " + strings.ToLower(strings.ReplaceAll(ev.Status, "_", " "))
		p.refresh()
	}
}

func (p *spinnerProgress) Note(msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.permanent(func() { p.lines.Note(msg) })
}

func (p *spinnerProgress) Print(msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.permanent(func() { p.lines.Print(msg) })
}

func (p *spinnerProgress) Stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopped = true
	p.s.Stop()
}

// sgr is an ANSI "select graphic rendition" (colour, bold) sequence.
var sgr = regexp.MustCompile("\x1b\\[[0-9;]*m")

// noColor drops colour sequences from what goes through it; other control sequences (the
// spinner's carriage return and erase-line) pass.
type noColor struct{ w io.Writer }

func (n noColor) Write(p []byte) (int, error) {
	if _, err := n.w.Write(sgr.ReplaceAll(p, nil)); err != nil {
		return 0, err
	}
	return len(p), nil
}
