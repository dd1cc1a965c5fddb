package ops

import (
	"context"
	"fmt"
)

// Prompter asks people a yes/no question (on a terminal). A cancelled ctx (a second Ctrl-C)
// ends the question with no.
type Prompter interface {
	Confirm(ctx context.Context, question string) (bool, error)
}

// ConfirmationNeededError is returned when a change needs a yes and nobody can give it.
type ConfirmationNeededError struct{ What, Flag string }

func (e *ConfirmationNeededError) Error() string {
	return fmt.Sprintf("%s needs confirmation and there is no terminal to ask on; pass %s to go ahead", e.What, e.Flag)
}

// ExitCode is 2: the invocation lacked the flag, and nothing was changed.
func (e *ConfirmationNeededError) ExitCode() int { return 2 }

// confirm is yes when the flag said so, else the answer to question; with nobody to ask it
// fails naming the flag to pass.
func (c *Cluster) confirm(ctx context.Context, question, what, flag string, yes bool) (bool, error) {
	if yes {
		return true, nil
	}
	if c.Prompt == nil {
		return false, &ConfirmationNeededError{What: what, Flag: flag}
	}
	return c.Prompt.Confirm(ctx, question)
}
