package cluster

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// FieldError is one problem with a config field: where it is, what is wrong and how to fix it.
type FieldError struct {
	File    string `json:"file,omitempty"`
	Path    string `json:"field,omitempty"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	Message string `json:"message"`
	Fix     string `json:"fix,omitempty"`
	// Excerpt is the offending source line with a caret under Column (secrets masked), for
	// problems the YAML parser found.
	Excerpt string `json:"excerpt,omitempty"`
}

func (e FieldError) Error() string {
	var b strings.Builder
	if e.Path != "" {
		b.WriteString(printable(e.Path))
		switch {
		case e.File != "" && e.Line > 0:
			fmt.Fprintf(&b, " (%s:%d)", e.File, e.Line)
		case e.Line > 0:
			fmt.Fprintf(&b, " (line %d)", e.Line)
		}
	} else {
		// no field: the file's own problem, located as compilers do, file:line:column
		loc := e.File
		switch {
		case e.Line > 0 && loc == "":
			loc = fmt.Sprintf("line %d", e.Line)
			if e.Column > 0 {
				loc += fmt.Sprintf(", column %d", e.Column)
			}
		case e.Line > 0:
			loc += fmt.Sprintf(":%d", e.Line)
			if e.Column > 0 {
				loc += fmt.Sprintf(":%d", e.Column)
			}
		}
		b.WriteString(loc)
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	b.WriteString(printable(e.Message))
	if e.Fix != "" {
		b.WriteString("; ")
		b.WriteString(printable(e.Fix))
	}
	if e.Excerpt != "" {
		b.WriteString("\n")
		b.WriteString(e.Excerpt)
	}
	return b.String()
}

// printable escapes what a terminal would act on rather than show: control characters (a
// key written as "\e[2J" in double quotes decodes to one), bidi overrides, zero-width and
// other invisible characters. Messages quote the file's keys and values, so a hostile file
// must not be able to repaint the user's terminal or hide text through them.
func printable(s string) string {
	if strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) < 0 {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case unicode.IsPrint(r):
			b.WriteRune(r)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\n':
			b.WriteString(`\n`)
		case r > 0xFFFF:
			fmt.Fprintf(&b, `\U%08x`, r)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
	}
	return b.String()
}

// ErrorList is every problem found in a config, reported together so one run shows them all.
type ErrorList []FieldError

// maxShownProblems keeps a hostile file's thousands of problems from flooding a terminal.
const maxShownProblems = 50

func (l ErrorList) Error() string {
	if len(l) == 1 {
		return "invalid cluster config: " + l[0].Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "invalid cluster config: %d problems:", len(l))
	for i, e := range l {
		if i == maxShownProblems {
			fmt.Fprintf(&b, "\n  ... and %d more (fix the ones above first)", len(l)-i)
			break
		}
		b.WriteString("\n  - ")
		b.WriteString(strings.ReplaceAll(e.Error(), "\n", "\n    "))
	}
	return b.String()
}

// tooBig is the problem of a file over MaxConfigBytes; size < 0 means "more than the limit"
// (a stream that was not read to its end).
func tooBig(size int64) FieldError {
	what := "more than 1 MiB"
	if size >= 0 {
		what = fmt.Sprintf("%d bytes", size)
	}
	return FieldError{Message: fmt.Sprintf("is %s; a cluster config is at most %d bytes (1 MiB)", what, MaxConfigBytes),
		Fix: "check that -f names the cluster.yaml; a complete one is a few KiB"}
}

// ExitCode is 2: the config is invalid, and nothing was touched.
func (l ErrorList) ExitCode() int { return 2 }

func (l ErrorList) setFile(path string) {
	for i := range l {
		l[i].File = path
	}
}

// IsConfigError reports whether err is, or wraps, a problem with the config rather than with
// AWS; the CLI exits 2 for these.
func IsConfigError(err error) bool {
	var l ErrorList
	return errors.As(err, &l)
}
