package ops

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/neo4jctl/neo4jctl/pkg/cluster"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/stack"
)

var testNow = time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC)

// putRecord stores a last-applied record in the fixture's bucket, as an earlier command did.
func (x *updateFixture) putRecord(t *testing.T, rec *Applied) {
	t.Helper()
	c := &Cluster{Name: rec.Config.Metadata.Name, Stacks: x.eng}
	if err := c.SaveApplied(context.Background(), x.s3, rec, "test", "test", testNow.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
}

// record reads the fixture's record back.
func (x *updateFixture) record(t *testing.T, name string) *Applied {
	t.Helper()
	rec, err := (&Cluster{Name: name, Stacks: x.eng}).LoadApplied(context.Background(), x.s3)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func TestRecordRoundTripsThroughTheBucket(t *testing.T) {
	x, u := newUpdateFixture(t)
	rec := NewApplied(u.Config)
	if err := rec.Set("replicas.count", "scale replicas", testNow, func(c *cluster.ClusterConfig) { c.Replicas.Count = 4 }); err != nil {
		t.Fatal(err)
	}
	rec.Stopped = &StoppedState{At: testNow, Cores: 3, Replicas: 4}
	x.putRecord(t, rec)
	if !slices.Equal(x.s3.puts, []string{naming.LastAppliedKey}) {
		t.Fatalf("wrote %v", x.s3.puts)
	}
	got := x.record(t, "graph-prod")
	if !reflect.DeepEqual(got.Config, rec.Config) || got.Config.Replicas.Count != 4 {
		t.Errorf("config did not come back as written:\n%+v\n%+v", got.Config, rec.Config)
	}
	if len(got.Imperative) != 1 || string(got.Imperative[0].Value) != "4" || string(got.Imperative[0].File) != "2" ||
		got.Imperative[0].Command != "scale replicas" || !got.Stopped.At.Equal(testNow) || got.Written.Neo4jctl != "test" {
		t.Errorf("record: %+v", got)
	}
	// what is in the bucket is JSON whose config is a cluster.yaml as it stands
	var doc struct {
		Kind   string
		Config json.RawMessage
	}
	if err := json.Unmarshal(x.s3.buckets["bucket-1"].data[naming.LastAppliedKey], &doc); err != nil || doc.Kind != AppliedKind {
		t.Fatalf("object: %v %q", err, doc.Kind)
	}
	if _, err := cluster.Read(context.Background(), strings.NewReader(string(doc.Config)), "config", cluster.Overrides{}); err != nil {
		t.Errorf("the recorded config does not load as a cluster.yaml: %v", err)
	}
}

func TestRecordThatDoesNotLoadIsRefused(t *testing.T) {
	x, _ := newUpdateFixture(t)
	x.s3.buckets["bucket-1"].data = map[string][]byte{naming.LastAppliedKey: []byte(`{"apiVersion":"neo4jctl.io/v1alpha1","kind":"LastApplied","config":{"kind":"ClusterConfig","apiVersion":"neo4jctl.io/v1alpha1","metadata":{"name":"graph-prod"},"neo4j":{"acceptLicense":"yes"},"cores":{"count":4}},"written":{"neo4jctlVersion":"v9"}}`)}
	x.s3.buckets["bucket-1"].objects[naming.LastAppliedKey] = 1
	_, err := (&Cluster{Name: "graph-prod", Stacks: x.eng}).LoadApplied(context.Background(), x.s3)
	if err == nil || !strings.Contains(err.Error(), "s3://bucket-1/neo4jctl/last-applied.json (written by neo4jctl v9) does not load") ||
		!strings.Contains(err.Error(), "cores.count") {
		t.Fatalf("got %v", err)
	}
	delete(x.s3.buckets["bucket-1"].data, naming.LastAppliedKey)
	_, err = (&Cluster{Name: "graph-prod", Stacks: x.eng}).LoadApplied(context.Background(), x.s3)
	var none *NoRecordError
	if !errors.As(err, &none) || !strings.Contains(err.Error(), "record it once with `neo4jctl update cluster -f cluster.yaml`") {
		t.Fatalf("no record: %v", err)
	}
}

func TestSetRemembersTheFilesValueUntilItIsSetBack(t *testing.T) {
	rec := NewApplied(loadExample(t, "production.yaml"))
	set := func(n int) {
		if err := rec.Set("replicas.count", "scale replicas", testNow, func(c *cluster.ClusterConfig) { c.Replicas.Count = n }); err != nil {
			t.Fatal(err)
		}
	}
	set(4)
	set(5)
	if len(rec.Imperative) != 1 || string(rec.Imperative[0].Value) != "5" || string(rec.Imperative[0].File) != "2" {
		t.Fatalf("after 4 then 5: %+v", rec.Imperative)
	}
	set(2) // back to what the file says: nothing imperative left
	if len(rec.Imperative) != 0 {
		t.Fatalf("after 2: %+v", rec.Imperative)
	}
	if err := rec.Set("neo4j.version", "upgrade cluster", testNow, func(c *cluster.ClusterConfig) { c.Neo4j.Version = "2025.10.1" }); err != nil {
		t.Fatal(err)
	}
	if v := rec.Imperative[0]; v.Field != "neo4j.version" || string(v.Value) != `"2025.10.1"` || string(v.File) != `"5.26.30"` {
		t.Fatalf("version: %+v", v)
	}
}

func TestUpdateRefusesToUndoWhatCommandsSet(t *testing.T) {
	x, u := newUpdateFixture(t)
	rec := NewApplied(loadExample(t, "production.yaml"))
	_ = rec.Set("replicas.count", "scale replicas", testNow, func(c *cluster.ClusterConfig) { c.Replicas.Count = 3 })
	_ = rec.Set("neo4j.version", "upgrade cluster", testNow, func(c *cluster.ClusterConfig) { c.Neo4j.Version = "2025.10.1" })
	x.putRecord(t, rec)
	f, err := cluster.Load("../../examples/production.yaml", cluster.Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	u.Loaded, u.File = f, "../../examples/production.yaml"

	_, err = u.Plan(context.Background())
	var ce *ImperativeConflictError
	if !errors.As(err, &ce) || exitCodeOf(err) != 2 {
		t.Fatalf("plan: %v", err)
	}
	for _, want := range []string{
		"update refused: ../../examples/production.yaml disagrees with what commands set on cluster graph-prod since the file was last applied:",
		"replicas.count (../../examples/production.yaml:" + itoa(f.Line("replicas.count")) + "): the file says 2; `neo4jctl scale replicas` set 3 on 2026-11-26T03:00:00Z, and applying the file would set it back to 2",
		`neo4j.version (../../examples/production.yaml:` + itoa(f.Line("neo4j.version")) + `): the file says "5.26.30"; ` + "`neo4jctl upgrade cluster` set \"2025.10.1\"",
		"Nothing was changed. Write the values the commands set into ../../examples/production.yaml, or pass --overwrite-imperative to apply the file's values.",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal lacks %q:\n%s", want, err)
		}
	}
	if len(x.eng.discarded) != 0 || len(x.eng.executed) != 0 {
		t.Errorf("a refused plan made change sets: %v %v", x.eng.discarded, x.eng.executed)
	}

	// told to: the file's values go in, and the record forgets the commands' changes
	u.Overwrite, u.Yes = true, true
	p, err := u.Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if ev, ok := eventOf[ImperativeOverwritten](x.events); !ok || !strings.Contains(ev.String(), "replicas.count goes back from 3 (set by `neo4jctl scale replicas`") {
		t.Errorf("events %q", x.events.lines())
	}
	if err := u.Execute(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	got := x.record(t, "graph-prod")
	if len(got.Imperative) != 0 || got.Config.Replicas.Count != 2 || got.Written.Command != "update cluster -f ../../examples/production.yaml" || !got.Written.At.Equal(testNow) {
		t.Errorf("record after the update: %+v", got)
	}
}

func TestUpdateWithAFileThatAgreesClearsTheMarks(t *testing.T) {
	x, u := newUpdateFixture(t)
	rec := NewApplied(loadExample(t, "production.yaml"))
	_ = rec.Set("replicas.count", "scale replicas", testNow, func(c *cluster.ClusterConfig) { c.Replicas.Count = 3 })
	x.putRecord(t, rec)
	u.Config.Replicas.Count = 3 // the user wrote the scaled count into the file
	p, err := u.Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if p.Changed() != 0 {
		t.Fatalf("changed %d", p.Changed())
	}
	if err := u.Record(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := x.record(t, "graph-prod"); len(got.Imperative) != 0 || got.Config.Replicas.Count != 3 {
		t.Errorf("record: %+v", got.Imperative)
	}
	// and an update that changes nothing of the record writes nothing
	x.s3.puts = nil
	if err := u.Record(context.Background()); err != nil || len(x.s3.puts) != 0 {
		t.Errorf("a second record wrote %v (%v)", x.s3.puts, err)
	}
}

func TestUpdateKeepsAStoppedClusterStopped(t *testing.T) {
	x, u := newUpdateFixture(t)
	rec := NewApplied(loadExample(t, "production.yaml"))
	rec.Stopped = &StoppedState{At: testNow.Add(-time.Hour), Cores: 3, Replicas: 2}
	x.putRecord(t, rec)
	u.Config.Replicas.Count = 4 // changed in the file while stopped: start brings 4
	u.Yes = true
	p, err := u.Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range p.stacks {
		for k, v := range map[string]string{stack.ParamDesiredCount: "0", stack.ParamInstanceCount: "0", stack.ParamAlarmActions: "false", stack.ParamBackupSchedules: "DISABLED"} {
			if got, ok := s.Parameters[k]; ok && got != v {
				t.Errorf("%s: %s=%s, want %s", s.Name, k, got, v)
			}
		}
	}
	if _, ok := eventOf[StaysStopped](x.events); !ok {
		t.Errorf("events %q", x.events.lines())
	}
	if err := u.Execute(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	got := x.record(t, "graph-prod")
	if got.Stopped == nil || got.Config.Replicas.Count != 4 {
		t.Errorf("record: stopped %v, replicas %d", got.Stopped, got.Config.Replicas.Count)
	}
}

func TestFirstUpdateOfAClusterWithoutARecordRecordsOne(t *testing.T) {
	x, u := newUpdateFixture(t)
	u.Yes = true
	p, err := u.Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := u.Record(context.Background()); err != nil {
		t.Fatal(err)
	}
	_ = p
	if got := x.record(t, "graph-prod"); got.Config.Metadata.Name != "graph-prod" || got.Stopped != nil {
		t.Errorf("record: %+v", got)
	}
}

func exitCodeOf(err error) int {
	var ec interface{ ExitCode() int }
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	return 1
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }
