package ops

import (
	"fmt"
	"io"

	"github.com/neo4jctl/neo4jctl/pkg/engine"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/printer"
)

// BundleFunc returns the agent bundle (zip) for an architecture and its SHA-256 in hex;
// agentbundle.Bundle in neo4jctl.
type BundleFunc func(arch string) ([]byte, string, error)

// Ops runs cluster operations. Log receives what people read (stderr); data is returned.
type Ops struct {
	AWS     *AWS
	Engine  *engine.Engine
	Log     io.Writer
	Colors  printer.Colors
	Bundle  BundleFunc
	Archs   []string // agent architectures uploaded; default amd64 and arm64
	Version string   // neo4jctl version, for the stack tags
	// Confirm asks a yes/no question; nil when nobody can answer (no terminal).
	Confirm func(question string) (bool, error)
}

// logf writes a line for people: through the engine's progress (above its spinner) when
// there is one, else to Log.
func (o *Ops) logf(format string, a ...any) {
	switch {
	case o.Engine != nil && o.Engine.Progress != nil:
		o.Engine.Progress.Print(fmt.Sprintf(format, a...))
	case o.Log != nil:
		fmt.Fprintf(o.Log, format+"\n", a...)
	}
}

func (o *Ops) archs() []string {
	if len(o.Archs) == 0 {
		return naming.Archs
	}
	return o.Archs
}

// ConfirmationNeededError is returned when a change needs a yes and nobody can give it.
type ConfirmationNeededError struct{ What, Flag string }

func (e *ConfirmationNeededError) Error() string {
	return fmt.Sprintf("%s needs confirmation and there is no terminal to ask on; pass %s to go ahead", e.What, e.Flag)
}

// ExitCode is 2: the invocation lacked the flag, and nothing was changed.
func (e *ConfirmationNeededError) ExitCode() int { return 2 }

// confirm asks, or fails with the flag to pass.
func (o *Ops) confirm(question, what, flag string, yes bool) (bool, error) {
	if yes {
		return true, nil
	}
	if o.Confirm == nil {
		return false, &ConfirmationNeededError{What: what, Flag: flag}
	}
	return o.Confirm(question)
}
