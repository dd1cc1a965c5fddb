package cluster

import (
	"fmt"
	"strings"
)

// FieldError is one problem with a config field: where it is, what is wrong and how to fix it.
type FieldError struct {
	File    string `json:"file,omitempty"`
	Path    string `json:"field,omitempty"`
	Line    int    `json:"line,omitempty"`
	Message string `json:"message"`
	Fix     string `json:"fix,omitempty"`
}

func (e FieldError) Error() string {
	var b strings.Builder
	if e.Path != "" {
		fmt.Fprintf(&b, "%s", e.Path)
	}
	switch {
	case e.File != "" && e.Line > 0:
		fmt.Fprintf(&b, " (%s:%d)", e.File, e.Line)
	case e.Line > 0:
		fmt.Fprintf(&b, " (line %d)", e.Line)
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	if e.Fix != "" {
		b.WriteString("; ")
		b.WriteString(e.Fix)
	}
	return b.String()
}

// ErrorList is every problem found in a config, reported together so one run shows them all.
type ErrorList []FieldError

func (l ErrorList) Error() string {
	if len(l) == 1 {
		return "invalid cluster config: " + l[0].Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "invalid cluster config: %d problems:", len(l))
	for _, e := range l {
		b.WriteString("\n  - ")
		b.WriteString(e.Error())
	}
	return b.String()
}

func (l ErrorList) setFile(path string) {
	for i := range l {
		l[i].File = path
	}
}

// IsConfigError reports whether err is a problem with the config rather than with AWS; the
// CLI exits 2 for these.
func IsConfigError(err error) bool {
	_, ok := err.(ErrorList)
	return ok
}
