// Package printer writes command results to stdout as a table, JSON or YAML, and decides
// whether a stream gets colour. Data goes through here; progress never does.
package printer

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"golang.org/x/term"
	"sigs.k8s.io/yaml"
)

// Formats a data command accepts with -o.
const (
	Table = "table"
	JSON  = "json"
	YAML  = "yaml"
)

// CheckFormat returns an error naming the valid choices for a bad -o value.
func CheckFormat(f string, allowed ...string) error {
	if len(allowed) == 0 {
		allowed = []string{Table, JSON, YAML}
	}
	for _, a := range allowed {
		if f == a {
			return nil
		}
	}
	return fmt.Errorf("-o %q is not a format; use one of %s", f, strings.Join(allowed, ", "))
}

// Write prints v as JSON or YAML, or calls table for the human format.
func Write(w io.Writer, format string, v any, table func(*tabwriter.Writer)) error {
	switch format {
	case JSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	case YAML:
		b, err := yaml.Marshal(v)
		if err != nil {
			return fmt.Errorf("writing YAML: %w", err)
		}
		_, err = w.Write(b)
		return err
	default:
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		table(tw)
		return tw.Flush()
	}
}

// Terminal returns the file behind a stream (stdin, stdout, stderr) when it is a terminal,
// and nil otherwise. The one terminal check of neo4jctl.
func Terminal(stream any) *os.File {
	if f, ok := stream.(*os.File); ok && f != nil && term.IsTerminal(int(f.Fd())) {
		return f
	}
	return nil
}

// IsTerminal reports whether a stream is a terminal.
func IsTerminal(stream any) bool { return Terminal(stream) != nil }

// ColorEnabled is true only on a terminal and never with NO_COLOR set (https://no-color.org).
func ColorEnabled(w io.Writer) bool {
	if os.Getenv("NO_COLOR") != "" { // the convention: any non-empty value
		return false
	}
	if Dumb() {
		return false
	}
	return IsTerminal(w)
}

// Dumb reports TERM=dumb: a terminal that cannot move the cursor or colour text (an editor's
// shell buffer, some CI consoles). It gets plain lines: no colour, no spinner.
func Dumb() bool { return os.Getenv("TERM") == "dumb" }

// Colors wraps text in ANSI colours when enabled, and passes it through otherwise.
type Colors struct{ On bool }

func (c Colors) wrap(code, s string) string {
	if !c.On {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

func (c Colors) Red(s string) string    { return c.wrap("31", s) }
func (c Colors) Green(s string) string  { return c.wrap("32", s) }
func (c Colors) Yellow(s string) string { return c.wrap("33", s) }
func (c Colors) Bold(s string) string   { return c.wrap("1", s) }
func (c Colors) Faint(s string) string  { return c.wrap("2", s) }
