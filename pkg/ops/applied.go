package ops

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/neo4jctl/neo4jctl/pkg/cluster"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/stack"
)

// Applied is a cluster's last-applied record, as kubectl keeps a last-applied annotation:
// the config its stacks were last rendered from (the file of the last create or update, with
// what imperative commands changed since), which fields those commands set, and whether the
// cluster is stopped. It lives in the cluster bucket under naming.LastAppliedKey as JSON,
// so it is readable without the file, outlives failed updates (it is written only once a
// change succeeded), holds no secret (the config has none) and needs no service beyond S3.
//
// Commands without -f (stop, start, scale, upgrade, reset-data) load it, change it (Set,
// Stopped) and render the stacks from it; `update -f` compares the file with it (Conflicts)
// and replaces it. Every state a command sets is in here or in the parameters rendered from
// it (Run), so the next update keeps it.
type Applied struct {
	APIVersion string                 `json:"apiVersion"` // cluster.APIVersion
	Kind       string                 `json:"kind"`       // AppliedKind
	Cluster    string                 `json:"cluster"`
	Config     *cluster.ClusterConfig `json:"config"` // defaulted, validated: a cluster.yaml as it stands
	// Imperative are the fields commands without -f set since the last file, one per field.
	Imperative []ImperativeChange `json:"imperative,omitempty"`
	// Stopped is set while the cluster is stopped: everything at zero, alarms muted,
	// backups paused; update keeps it so and only start ends it.
	Stopped *StoppedState `json:"stopped,omitempty"`
	Written Stamp         `json:"written"`
}

// AppliedKind is the Kind of the last-applied record.
const AppliedKind = "LastApplied"

// ImperativeChange is one config field a command without -f set.
type ImperativeChange struct {
	Field   string          `json:"field"`   // e.g. replicas.count
	Value   json.RawMessage `json:"value"`   // what the command set
	File    json.RawMessage `json:"file"`    // what the last applied file said
	Command string          `json:"command"` // e.g. "scale replicas"
	At      time.Time       `json:"at"`
}

// StoppedState is when the cluster was stopped and what ran then; start brings back what the
// config says (the same, unless a file or scale changed it while stopped).
type StoppedState struct {
	At       time.Time `json:"at"`
	Cores    int       `json:"cores"`
	Replicas int       `json:"replicas"`
}

// Stamp says who wrote the record.
type Stamp struct {
	At       time.Time `json:"at"`
	Command  string    `json:"command"` // e.g. "update cluster -f cluster.yaml"
	Neo4jctl string    `json:"neo4jctlVersion"`
}

// NewApplied is the record of a config applied from a file.
func NewApplied(cfg *cluster.ClusterConfig) *Applied {
	return &Applied{APIVersion: cluster.APIVersion, Kind: AppliedKind, Cluster: cfg.Metadata.Name, Config: cfg}
}

// Run is what the record says runs, as stack parameters; keepReplicas when a replicas stack
// exists (it is scaled to zero rather than left alone when the config asks for none).
func (a *Applied) Run(keepReplicas bool) stack.Run {
	if a == nil {
		return stack.Run{KeepReplicas: keepReplicas}
	}
	r := stack.Run{KeepReplicas: keepReplicas}
	if a.Stopped != nil {
		r = stack.Stopped()
		r.KeepReplicas = keepReplicas
	}
	return r
}

// Set records an imperative command's change of one field: change edits the config, and the
// field remembers the file's value (from before the first command that changed it) so that
// `update -f` can tell a file that would undo it. Setting the file's value again clears it.
func (a *Applied) Set(field, command string, at time.Time, change func(*cluster.ClusterConfig)) error {
	before, err := FieldValue(a.Config, field)
	if err != nil {
		return err
	}
	change(a.Config)
	after, err := FieldValue(a.Config, field)
	if err != nil {
		return err
	}
	file := before
	var kept []ImperativeChange
	for _, c := range a.Imperative {
		if c.Field == field {
			file = c.File
			continue
		}
		kept = append(kept, c)
	}
	if !bytes.Equal(after, file) {
		kept = append(kept, ImperativeChange{Field: field, Value: after, File: file, Command: command, At: at.UTC()})
	}
	a.Imperative = kept
	return nil
}

// Conflict is a field the file would set back from what an imperative command set.
type Conflict struct {
	ImperativeChange
	Want json.RawMessage // the file's value
	Line int             // where the file says it (0: not written, a default)
}

// Conflicts lists the imperative changes the file f disagrees with.
func (a *Applied) Conflicts(f *cluster.File) ([]Conflict, error) {
	var out []Conflict
	for _, c := range a.Imperative {
		want, err := FieldValue(f.Config, c.Field)
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(want, c.Value) {
			out = append(out, Conflict{ImperativeChange: c, Want: want, Line: f.Line(c.Field)})
		}
	}
	return out, nil
}

// FieldValue is the JSON value of a dotted config field (e.g. "replicas.count"); null when
// a section on the way is absent.
func FieldValue(cfg *cluster.ClusterConfig, field string) (json.RawMessage, error) {
	b, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	for _, k := range strings.Split(field, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			v = nil
			break
		}
		v = m[k]
	}
	return json.Marshal(v)
}

// ImperativeConflictError is an update whose file would undo what imperative commands set.
// Exit 2: nothing was changed; the file or a flag decides.
type ImperativeConflictError struct {
	Cluster, File string
	Conflicts     []Conflict
	Flag          string // the flag that applies the file anyway
}

func (e *ImperativeConflictError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "update refused: %s disagrees with what commands set on cluster %s since the file was last applied:", e.File, e.Cluster)
	for _, c := range e.Conflicts {
		where := e.File
		if c.Line > 0 {
			where = fmt.Sprintf("%s:%d", e.File, c.Line)
		}
		fmt.Fprintf(&b, "\n  %s (%s): the file says %s; `neo4jctl %s` set %s on %s, and applying the file would set it back to %s",
			c.Field, where, c.Want, c.Command, c.Value, c.At.Format(time.RFC3339), c.Want)
	}
	fmt.Fprintf(&b, "\nNothing was changed. Write the values the commands set into %s, or pass %s to apply the file's values.", e.File, e.Flag)
	return b.String()
}

// ExitCode is 2: the file (or a missing flag) is at fault, and nothing was touched.
func (e *ImperativeConflictError) ExitCode() int { return 2 }

// AppliedStore reads and writes the record in the cluster bucket.
type AppliedStore = StateStore

// NoRecordError: a command without -f found no last-applied record (a create with --detach
// that nobody finished, or a cluster made by a neo4jctl before the record existed).
type NoRecordError struct{ Cluster, Bucket string }

func (e *NoRecordError) Error() string {
	return fmt.Sprintf("cluster %s has no last-applied config (s3://%s/%s), which this command renders the stacks from; record it once with `neo4jctl update cluster -f cluster.yaml`",
		e.Cluster, e.Bucket, naming.LastAppliedKey)
}

// bucket is the cluster bucket (the last-applied record, restart state, backups), from the
// shared stack's outputs.
func (c *Cluster) bucket(ctx context.Context) (string, error) {
	info, err := c.Stacks.Describe(ctx, naming.StackName(c.Name, naming.KindShared, 0))
	if err != nil {
		return "", err
	}
	if info == nil || info.Outputs[stack.OutputBucketName] == "" {
		return "", fmt.Errorf("cluster %s has no shared stack with a %s output: no cluster bucket", c.Name, stack.OutputBucketName)
	}
	return info.Outputs[stack.OutputBucketName], nil
}

// LoadApplied reads the record; a cluster without one gets a *NoRecordError.
func (c *Cluster) LoadApplied(ctx context.Context, api AppliedStore) (*Applied, error) {
	bucket, body, err := c.readBucketObject(ctx, api, naming.LastAppliedKey, 4*cluster.MaxConfigBytes, "the last-applied config")
	if err != nil {
		return nil, err
	}
	if body == nil {
		return nil, &NoRecordError{Cluster: c.Name, Bucket: bucket}
	}
	return parseApplied(ctx, body, "s3://"+bucket+"/"+naming.LastAppliedKey)
}

// parseApplied reads a record; its config goes through the same decoding, defaults and
// validation as a file, so a record this neo4jctl cannot read is refused, not half-used.
func parseApplied(ctx context.Context, body []byte, where string) (*Applied, error) {
	var env struct {
		Applied
		Config json.RawMessage `json:"config"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("the last-applied config %s is not JSON: %w", where, err)
	}
	a := env.Applied
	if a.APIVersion != cluster.APIVersion || a.Kind != AppliedKind {
		return nil, fmt.Errorf("the last-applied config %s is %s %s, which this neo4jctl does not read (written by neo4jctl %s); use that version or a newer one",
			where, a.Kind, a.APIVersion, a.Written.Neo4jctl)
	}
	f, err := cluster.Read(ctx, bytes.NewReader(env.Config), where, cluster.Overrides{})
	if err != nil {
		return nil, fmt.Errorf("the last-applied config %s (written by neo4jctl %s) does not load: %w", where, a.Written.Neo4jctl, err)
	}
	a.Config = f.Config
	return &a, nil
}

// SaveApplied writes the record (stamped with the command and this neo4jctl).
func (c *Cluster) SaveApplied(ctx context.Context, api AppliedStore, a *Applied, command, version string, now time.Time) error {
	if a == nil || a.Config == nil {
		return errors.New("no config to record")
	}
	a.APIVersion, a.Kind, a.Cluster = cluster.APIVersion, AppliedKind, c.Name
	a.Written = Stamp{At: now.UTC(), Command: command, Neo4jctl: version}
	return c.writeBucketObject(ctx, api, naming.LastAppliedKey, a, "the last-applied config")
}
