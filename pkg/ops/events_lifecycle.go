package ops

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Events of the commands that change a cluster without -f (stop, start, scale, reset-data)
// and of update's dealings with what they set.

// StaysStopped: update of a stopped cluster keeps it stopped.
type StaysStopped struct {
	Cluster string
	Since   time.Time
}

func (e StaysStopped) String() string {
	return fmt.Sprintf("Cluster %s is stopped (since %s): the update keeps it stopped; `neo4jctl start cluster %s` starts it",
		e.Cluster, e.Since.UTC().Format(time.RFC3339), e.Cluster)
}

// ImperativeOverwritten: update applies the file over what a command without -f set.
type ImperativeOverwritten struct{ Conflict Conflict }

func (e ImperativeOverwritten) String() string {
	c := e.Conflict
	return fmt.Sprintf("Warning: %s goes back from %s (set by `neo4jctl %s` on %s) to the file's %s (%s)",
		c.Field, c.Value, c.Command, c.At.Format(time.RFC3339), c.Want, OverwriteFlag)
}

// StepStarted: a step of a command without -f changes stacks; Notes are the parameters that
// move, per stack.
type StepStarted struct {
	What  string
	Notes map[string][]string
}

func (e StepStarted) String() string {
	var b strings.Builder
	b.WriteString(e.What)
	for _, s := range slices.Sorted(maps.Keys(e.Notes)) {
		fmt.Fprintf(&b, "\n  %s: %s", s, strings.Join(e.Notes[s], ", "))
	}
	return b.String()
}

// ReplicaServerDropped: a replica server that left was deallocated and dropped.
type ReplicaServerDropped struct{ Server, Address string }

func (e ReplicaServerDropped) String() string {
	return fmt.Sprintf("Removed replica server %s (%s), which left: DEALLOCATE and DROP SERVER", e.Server, e.Address)
}
