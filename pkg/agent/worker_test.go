package agent

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/neo4jctl/neo4jctl/internal/testbed"
	"github.com/neo4jctl/neo4jctl/pkg/backup"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/neo4jadmin"
)

// The worker's user handling runs against the real Neo4j 5.26 of the test bed; the S3
// adapter against moto.
func TestMain(m *testing.M) { testbed.Main(m, testbed.NeedNeo4j, testbed.NeedMoto) }

func TestWorkerEnsuresUsersOnRealNeo4j(t *testing.T) {
	n := testbed.SharedNeo4j(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ro, rw := "ro_"+strings.ToLower(rand.Text()[:8]), "rw_"+strings.ToLower(rand.Text()[:8])
	roPW, rwPW := rand.Text(), rand.Text()
	env := MapEnv(map[string]string{
		naming.EnvRole: "core", naming.EnvMember: "core-1", naming.EnvCoreEndpoints: "core-1.ns:6000,core-2.ns:6000,core-3.ns:6000",
		naming.EnvAdminPassword: n.Password, naming.EnvReadOnlyUser: ro, naming.EnvReadOnlyPassword: roPW,
		naming.EnvReadWriteUser: rw, naming.EnvReadWritePassword: rwPW, naming.EnvECSCluster: "neo4jctl-graph",
	})
	cfg, err := WorkerConfigFromEnv(env)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.First || len(cfg.Users) != 2 || cfg.Users[1].Access != neo4jadmin.ReadWrite || cfg.ECSCluster != "neo4jctl-graph" {
		t.Fatalf("config %+v", cfg)
	}
	var logs bytes.Buffer
	w := &Worker{Config: cfg, Stderr: &logs}
	admin, err := neo4jadmin.New(n.BoltURI, n.User, cfg.AdminPassword)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	for range 2 { // idempotent
		if err := w.EnsureUsers(ctx, admin); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []struct{ user, pw string }{{ro, roPW}, {rw, rwPW}} {
		c, err := neo4jadmin.New(n.BoltURI, u.user, u.pw)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Ping(ctx); err != nil {
			t.Errorf("%s cannot log in: %v", u.user, err)
		}
		c.Close(ctx)
	}
	// A changed secret is applied on the next round.
	w.Config.Users[0].Password = rand.Text()
	if err := w.EnsureUsers(ctx, admin); err != nil {
		t.Fatal(err)
	}
	c, _ := neo4jadmin.New(n.BoltURI, ro, w.Config.Users[0].Password)
	if err := c.Ping(ctx); err != nil {
		t.Errorf("new password not applied: %v", err)
	}
	c.Close(ctx)
	for _, pw := range []string{roPW, rwPW, n.Password, w.Config.Users[0].Password} {
		if strings.Contains(logs.String(), pw) {
			t.Fatal("a password was logged")
		}
	}
	// Wrong admin password: an error, no panic, no password in it.
	bad, _ := neo4jadmin.New(n.BoltURI, n.User, rand.Text())
	defer bad.Close(ctx)
	if err := w.EnsureUsers(ctx, bad); err == nil || !neo4jadmin.IsCode(err, neo4jadmin.CodeUnauthorized) {
		t.Errorf("err %v", err)
	}
}

func TestIsFirstCore(t *testing.T) {
	eps := "core-1.neo4j.internal:6000,core-2.neo4j.internal:6000"
	for member, want := range map[string]bool{"core-1": true, "core-2": false, "core-10": false, "": false} {
		if IsFirstCore(member, eps) != want {
			t.Errorf("%s: want %v", member, want)
		}
	}
}

// --- fakes

// fakeStore is an in-memory ObjectStore.
type fakeStore struct {
	mu      sync.Mutex
	objects map[string][]byte // bucket/key
	deleted []string
	putErr  error
}

func newFakeStore(keys ...string) *fakeStore {
	f := &fakeStore{objects: map[string][]byte{}}
	for _, k := range keys {
		f.objects[k] = []byte("x")
	}
	return f
}

func (f *fakeStore) List(_ context.Context, bucket, prefix string) ([]Object, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Object
	for k := range f.objects {
		if key, ok := strings.CutPrefix(k, bucket+"/"); ok && strings.HasPrefix(key, prefix) {
			out = append(out, Object{Key: key})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

func (f *fakeStore) Get(_ context.Context, bucket, key string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.objects[bucket+"/"+key]
	if !ok {
		return nil, ErrNoObject
	}
	return b, nil
}

func (f *fakeStore) Put(_ context.Context, bucket, key string, body []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.putErr != nil {
		return f.putErr
	}
	f.objects[bucket+"/"+key] = body
	return nil
}

func (f *fakeStore) Delete(_ context.Context, bucket string, keys []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, k := range keys {
		delete(f.objects, bucket+"/"+k)
		f.deleted = append(f.deleted, k)
	}
	return nil
}

// fakeEnterpriseAdmin is a FAKE Neo4j Enterprise 5.26 cluster behind the worker's Admin
// interface, for what the Community test server cannot answer (SHOW SERVERS of a cluster,
// seeding from a URI, dropping servers). Rows have the shape of recorded real answers
// (pkg/neo4jadmin/testdata/enterprise-5.26-3cores-1replica.json); it records every call.
type fakeEnterpriseAdmin struct {
	servers   []neo4jadmin.Server
	databases []neo4jadmin.Database
	defaults  neo4jadmin.Defaults // dbms.showTopologyGraphConfig
	calls     []string
	seedErr   map[string]error
	// noTopologyConfig: a version without dbms.showTopologyGraphConfig (unsupported)
	noTopologyConfig bool
}

func newFakeEnterpriseAdmin() *fakeEnterpriseAdmin {
	core := func(n int) neo4jadmin.Server {
		return neo4jadmin.Server{ID: fmt.Sprintf("0a3f1e2c-1111-4c5a-9d1e-00000000000%d", n), Name: fmt.Sprintf("0a3f1e2c-1111-4c5a-9d1e-00000000000%d", n),
			Address: fmt.Sprintf("core-%d.neo4j.internal:7687", n), State: "Enabled", Health: "Available", Hosting: []string{"neo4j", "system"}, ModeConstraint: "NONE"}
	}
	return &fakeEnterpriseAdmin{
		servers: []neo4jadmin.Server{core(1), core(2), core(3),
			{ID: "7b2c9d10-2222-4e6f-8a7b-000000000004", Name: "7b2c9d10-2222-4e6f-8a7b-000000000004", Address: "10.0.2.17:7687",
				State: "Enabled", Health: "Available", Hosting: []string{"neo4j", "system"}, ModeConstraint: "SECONDARY"}},
		databases: []neo4jadmin.Database{
			{Name: "neo4j", Type: "standard", Address: "core-1.neo4j.internal:7687", Role: "primary", Writer: true, RequestedStatus: "online", CurrentStatus: "online",
				RequestedPrimaries: i64(3), RequestedSecondaries: i64(1)},
			{Name: "neo4j", Type: "standard", Address: "10.0.2.17:7687", Role: "secondary", RequestedStatus: "online", CurrentStatus: "online",
				RequestedPrimaries: i64(3), RequestedSecondaries: i64(1)},
			{Name: "system", Type: "system", Address: "core-1.neo4j.internal:7687", Role: "primary", RequestedStatus: "online", CurrentStatus: "online"},
		},
		defaults: neo4jadmin.Defaults{Primaries: 3, Secondaries: 1},
		seedErr:  map[string]error{},
	}
}

func (f *fakeEnterpriseAdmin) Ping(context.Context) error {
	f.calls = append(f.calls, "ping")
	return nil
}
func (f *fakeEnterpriseAdmin) EnsureUsers(_ context.Context, u []neo4jadmin.UserSpec) ([]neo4jadmin.UserResult, error) {
	f.calls = append(f.calls, "ensure-users")
	return nil, nil
}
func (f *fakeEnterpriseAdmin) Servers(context.Context) ([]neo4jadmin.Server, error) {
	return slices.Clone(f.servers), nil
}
func (f *fakeEnterpriseAdmin) Databases(context.Context) ([]neo4jadmin.Database, error) {
	return slices.Clone(f.databases), nil
}
func (f *fakeEnterpriseAdmin) SeedDatabase(_ context.Context, db, uri string, replace bool, _ int) (string, error) {
	f.calls = append(f.calls, fmt.Sprintf("seed %s from %s replace=%v", db, uri, replace))
	if err := f.seedErr[db]; err != nil {
		return "", err
	}
	if !hasDatabase(f.databases, db) {
		f.databases = append(f.databases, neo4jadmin.Database{Name: db, RequestedStatus: "online", CurrentStatus: "online"})
	}
	return "database " + db + " seeded", nil
}
func (f *fakeEnterpriseAdmin) DeallocateServer(_ context.Context, ref string, _ bool) (string, []neo4jadmin.Row, error) {
	f.calls = append(f.calls, "deallocate "+ref)
	for i := range f.servers {
		if f.servers[i].Name == ref {
			f.servers[i].State = "Deallocating"
		}
	}
	return "deallocating " + ref, nil, nil
}
func (f *fakeEnterpriseAdmin) DropServer(_ context.Context, ref string) (string, error) {
	f.calls = append(f.calls, "drop "+ref)
	f.servers = slices.DeleteFunc(f.servers, func(s neo4jadmin.Server) bool { return s.Name == ref })
	return "dropped " + ref, nil
}
func (f *fakeEnterpriseAdmin) TopologyDefaults(context.Context) (neo4jadmin.Defaults, error) {
	if f.noTopologyConfig {
		return neo4jadmin.Defaults{}, &neo4jadmin.Error{Code: neo4jadmin.CodeUnsupported, Message: "there is no procedure dbms.showTopologyGraphConfig"}
	}
	return f.defaults, nil
}
func (f *fakeEnterpriseAdmin) SetDefaultAllocation(_ context.Context, p, s int) (string, error) {
	f.calls = append(f.calls, fmt.Sprintf("set-defaults %d %d", p, s))
	f.defaults = neo4jadmin.Defaults{Primaries: p, Secondaries: s}
	return fmt.Sprintf("default topology %d primaries, %d secondaries", p, s), nil
}
func (f *fakeEnterpriseAdmin) SetTopology(_ context.Context, db string, p, s, _ int) (string, error) {
	if strings.EqualFold(db, "system") {
		panic("fakeEnterpriseAdmin: the system database's topology cannot be altered")
	}
	if p+s > len(f.servers) {
		return "", &neo4jadmin.Error{Code: neo4jadmin.CodeNeo4j, Message: "not enough servers"}
	}
	f.calls = append(f.calls, fmt.Sprintf("set-topology %s %d %d", db, p, s))
	for i := range f.databases {
		if f.databases[i].Name == db {
			f.databases[i].RequestedPrimaries, f.databases[i].RequestedSecondaries = i64(p), i64(s)
		}
	}
	return fmt.Sprintf("database %s: topology %d primaries, %d secondaries", db, p, s), nil
}
func (f *fakeEnterpriseAdmin) Close(context.Context) error { return nil }

func i64(n int) *int64 { v := int64(n); return &v }

// --- restore seeding

func TestSeedRestore(t *testing.T) {
	backups := []string{
		"old/backups/neo4j-2025-01-01T02-00-00.backup", // full
		"old/backups/neo4j-2025-01-01T03-00-00.backup", // diff: the newest
		"old/backups/shop-2025-01-01T02-00-01.backup",
		"old/backups/system-2025-01-01T02-00-02.backup", // never restored
		"old/backups/nested/other-2025-01-01T02-00-00.backup",
		"old/backups/README",
	}
	newWorker := func(store *fakeStore, admin *fakeEnterpriseAdmin) (*Worker, *bytes.Buffer) {
		var logs bytes.Buffer
		return &Worker{Config: WorkerConfig{First: true, CoreCount: 3, RestoreFrom: "s3://old/backups", Bucket: "cluster-bucket"},
			Objects: store, Stderr: &logs, Now: func() time.Time { return time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC) }}, &logs
	}
	ctx := context.Background()

	t.Run("seeds each user database once, after the cluster formed", func(t *testing.T) {
		store, admin := newFakeStore(backups...), newFakeEnterpriseAdmin()
		w, _ := newWorker(store, admin)
		admin.servers[2].Health = "Unavailable" // 2 of 3 cores: not formed
		if done, err := w.SeedRestore(ctx, admin); done || err != nil || len(admin.calls) != 0 {
			t.Fatalf("seeded before the cluster formed: %v %v %q", done, err, admin.calls)
		}
		admin.servers[2].Health = "Available"
		done, err := w.SeedRestore(ctx, admin)
		if !done || err != nil {
			t.Fatal(done, err)
		}
		want := []string{
			"seed neo4j from s3://old/backups/neo4j-2025-01-01T03-00-00.backup replace=true", // the default database exists, empty
			"seed shop from s3://old/backups/shop-2025-01-01T02-00-01.backup replace=false",
		}
		if !slices.Equal(admin.calls, want) {
			t.Fatalf("calls %q\nwant %q", admin.calls, want)
		}
		if _, err := store.Get(ctx, "cluster-bucket", naming.RestoreDoneKey); err != nil {
			t.Fatal("no done marker")
		}
		// A restarted worker (or another container) never seeds again, even with another restore.from.
		for _, from := range []string{"s3://old/backups", "s3://other/"} {
			w2, logs := newWorker(store, admin)
			w2.Config.RestoreFrom = from
			if done, err := w2.SeedRestore(ctx, admin); !done || err != nil {
				t.Fatal(done, err)
			}
			if len(admin.calls) != 2 || !strings.Contains(logs.String(), "seeded from s3://old/backups") {
				t.Fatalf("seeded again: %q %s", admin.calls, logs.String())
			}
		}
	})

	t.Run("a folder with manifests seeds from the newest restorable point", func(t *testing.T) {
		// neo4j's newest artifact is a differential whose chain lost transactions: the manifest
		// knows, the names do not; shop has no manifest and seeds by name
		at := func(h int) time.Time { return time.Date(2025, 1, 1, h, 0, 0, 0, time.UTC) }
		m := backup.NewManifest("neo4j")
		m.Artifacts = []backup.Entry{
			{Key: "backups/neo4j-2025-01-01T02-00-00.backup", Time: at(2), Type: backup.TypeFull, LowestTx: 1, HighestTx: 10},
			{Key: "backups/neo4j-2025-01-01T03-00-00.backup", Time: at(3), Type: backup.TypeDiff, LowestTx: 20, HighestTx: 30},
		}
		body, _ := m.Encode()
		store, admin := newFakeStore(backups...), newFakeEnterpriseAdmin()
		store.objects["old/backups/.neo4jctl/manifests/neo4j.json"] = body
		w, _ := newWorker(store, admin)
		if done, err := w.SeedRestore(ctx, admin); !done || err != nil {
			t.Fatal(done, err)
		}
		want := []string{
			"seed neo4j from s3://old/backups/neo4j-2025-01-01T02-00-00.backup replace=true",
			"seed shop from s3://old/backups/shop-2025-01-01T02-00-01.backup replace=false",
		}
		if !slices.Equal(admin.calls, want) {
			t.Fatalf("calls %q\nwant %q", admin.calls, want)
		}
	})

	t.Run("a half-finished seed resumes with the databases not done", func(t *testing.T) {
		store, admin := newFakeStore(backups...), newFakeEnterpriseAdmin()
		w, _ := newWorker(store, admin)
		admin.seedErr["shop"] = errors.New("neo4j-error: not enough servers")
		if done, err := w.SeedRestore(ctx, admin); done || err == nil {
			t.Fatal("failure not reported")
		}
		delete(admin.seedErr, "shop")
		admin.calls = nil
		w2, _ := newWorker(store, admin)
		if done, err := w2.SeedRestore(ctx, admin); !done || err != nil {
			t.Fatal(done, err)
		}
		if len(admin.calls) != 1 || !strings.HasPrefix(admin.calls[0], "seed shop") {
			t.Fatalf("calls %q: neo4j seeded twice or shop not retried", admin.calls)
		}
	})

	t.Run("named databases, one artifact, empty folder", func(t *testing.T) {
		store, admin := newFakeStore(backups...), newFakeEnterpriseAdmin()
		w, _ := newWorker(store, admin)
		w.Config.RestoreDatabases = []string{"shop", "system"}
		if done, err := w.SeedRestore(ctx, admin); !done || err != nil || len(admin.calls) != 1 || !strings.HasPrefix(admin.calls[0], "seed shop") {
			t.Fatalf("%v %v %q", done, err, admin.calls)
		}
		store2, admin2 := newFakeStore(backups...), newFakeEnterpriseAdmin()
		w2, _ := newWorker(store2, admin2)
		w2.Config.RestoreFrom = "s3://old/backups/shop-2025-01-01T02-00-01.backup"
		if done, err := w2.SeedRestore(ctx, admin2); !done || err != nil || len(admin2.calls) != 1 {
			t.Fatalf("%v %v %q", done, err, admin2.calls)
		}
		store3, admin3 := newFakeStore(), newFakeEnterpriseAdmin()
		w3, _ := newWorker(store3, admin3)
		if done, err := w3.SeedRestore(ctx, admin3); done || err == nil || !strings.Contains(err.Error(), "no backup artifacts") {
			t.Fatalf("%v %v", done, err)
		}
		store4, admin4 := newFakeStore(backups...), newFakeEnterpriseAdmin()
		w4, _ := newWorker(store4, admin4)
		w4.Config.RestoreDatabases = []string{"missing"}
		if done, err := w4.SeedRestore(ctx, admin4); done || err == nil || !strings.Contains(err.Error(), "no backup of database missing") {
			t.Fatalf("%v %v", done, err)
		}
	})
}

// --- dead replicas

func TestReapReplicas(t *testing.T) {
	ctx := context.Background()
	admin := newFakeEnterpriseAdmin()
	const live, dead, deadInDNS = "7b2c9d10-2222-4e6f-8a7b-000000000004", "dead-replica", "flaky-replica"
	admin.servers = append(admin.servers,
		neo4jadmin.Server{Name: dead, Address: "10.0.3.41:7687", State: "Enabled", Health: "Unavailable", ModeConstraint: "SECONDARY"},
		neo4jadmin.Server{Name: deadInDNS, Address: "10.0.3.42:7687", State: "Enabled", Health: "Unavailable", ModeConstraint: "SECONDARY"},
	)
	admin.servers[2].Health = "Unavailable" // a core that is down is never touched
	var logs bytes.Buffer
	w := &Worker{Config: WorkerConfig{Namespace: "neo4j.internal"}, Stderr: &logs,
		LookupHost: func(_ context.Context, host string) ([]string, error) {
			if host != "replica.neo4j.internal" {
				t.Errorf("looked up %s", host)
			}
			return []string{"10.0.2.17", "10.0.3.42"}, nil
		}}
	suspects := map[string]int{}
	if err := w.ReapReplicas(ctx, admin, suspects); err != nil {
		t.Fatal(err)
	}
	if len(admin.calls) != 0 {
		t.Fatalf("removed after one check: %q", admin.calls)
	}
	if err := w.ReapReplicas(ctx, admin, suspects); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(admin.calls, []string{"deallocate " + dead, "drop " + dead}) {
		t.Fatalf("calls %q", admin.calls)
	}
	for _, s := range admin.servers {
		if s.Name == dead {
			t.Error("dead replica still in SHOW SERVERS")
		}
	}
	if len(suspects) != 0 {
		t.Errorf("suspects %v", suspects)
	}
	_ = live
	// No replicas at all: replica.<ns> does not resolve, and that is not an error.
	w.LookupHost = func(context.Context, string) ([]string, error) {
		return nil, &net.DNSError{Err: "no such host", Name: "replica.neo4j.internal", IsNotFound: true}
	}
	if err := w.ReapReplicas(ctx, admin, suspects); err != nil {
		t.Fatal(err)
	}
	// DNS failing otherwise: nothing is removed.
	w.LookupHost = func(context.Context, string) ([]string, error) { return nil, errors.New("timeout") }
	admin.calls = nil
	for range 3 {
		if err := w.ReapReplicas(ctx, admin, map[string]int{}); err == nil {
			t.Fatal("DNS failure not reported")
		}
	}
	if len(admin.calls) != 0 {
		t.Fatalf("removed servers without DNS: %q", admin.calls)
	}
}

// --- disk metric

type fakeMetrics struct {
	mu  sync.Mutex
	got []Metric
	err error
}

func (f *fakeMetrics) PutMetric(_ context.Context, m Metric) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	f.got = append(f.got, m)
	return nil
}

func TestPublishDisk(t *testing.T) {
	m := &fakeMetrics{}
	w := &Worker{Config: WorkerConfig{Role: "core", Cluster: "graph-prod", Member: "core-2", DataDir: t.TempDir()}, Metrics: m}
	if err := w.PublishDisk(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := m.got[0]
	if got.Namespace != naming.MetricNamespace || got.Name != naming.MetricDiskUsed || got.Unit != "Percent" ||
		got.Dimensions["Cluster"] != "graph-prod" || got.Dimensions["Member"] != "core-2" || len(got.Dimensions) != 2 {
		t.Errorf("metric %+v", got)
	}
	if got.Value <= 0 || got.Value > 100 {
		t.Errorf("used %v%% of a real file system", got.Value)
	}
	w.Config.DataDir = filepath.Join(t.TempDir(), "missing")
	if err := w.PublishDisk(context.Background()); err == nil {
		t.Error("no error for a missing data directory")
	}
}

// --- log shipping

type fakeLogs struct {
	mu      sync.Mutex
	streams map[string]bool
	events  map[string][]string
	fail    int // fail the next n Put calls
}

func (f *fakeLogs) EnsureStream(_ context.Context, group, stream string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.streams[group+":"+stream] = true
	return nil
}

func (f *fakeLogs) Put(_ context.Context, group, stream string, events []LogEvent) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.streams[group+":"+stream] {
		return errors.New("ResourceNotFoundException: stream does not exist")
	}
	if f.fail > 0 {
		f.fail--
		return errors.New("ThrottlingException")
	}
	for _, e := range events {
		f.events[stream] = append(f.events[stream], e.Message)
	}
	return nil
}

func TestLogShipper(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	sink := &fakeLogs{streams: map[string]bool{}, events: map[string][]string{}}
	w := &Worker{Config: WorkerConfig{Member: "core-1", LogsDir: dir, LogGroup: "/neo4jctl/graph-prod/neo4j"}, Logs: sink}
	s := w.Shipper("query")
	defer s.Close()
	if s.Path != filepath.Join(dir, "query.log") || s.Stream != "core-1/query" {
		t.Fatalf("shipper %+v", s)
	}
	appendTo := func(name, text string) {
		f, err := os.OpenFile(filepath.Join(dir, name), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(text)
		f.Close()
	}
	poll := func() {
		t.Helper()
		if err := s.Poll(ctx); err != nil {
			t.Fatal(err)
		}
	}
	poll() // no file yet
	appendTo("query.log", "q1\nq2\npart")
	poll()
	appendTo("query.log", "ial\n")
	poll()
	// Rotation: Neo4j renames query.log to query.log.1 (after a last line) and starts a new one.
	appendTo("query.log", "q3 before rotation\n")
	os.Rename(filepath.Join(dir, "query.log"), filepath.Join(dir, "query.log.1"))
	appendTo("query.log", "q4 after rotation\n")
	poll()
	// Truncation in place.
	os.WriteFile(filepath.Join(dir, "query.log"), []byte("q5\n"), 0o644)
	poll()
	// CloudWatch Logs refusing: kept and sent on the next poll.
	sink.fail = 1
	appendTo("query.log", "q6\n")
	if err := s.Poll(ctx); err == nil {
		t.Fatal("refusal not reported")
	}
	poll()
	want := []string{"q1", "q2", "partial", "q3 before rotation", "q4 after rotation", "q5", "q6"}
	if got := sink.events["core-1/query"]; !slices.Equal(got, want) {
		t.Fatalf("shipped %q\nwant %q", got, want)
	}
}

// --- the worker as a whole

func TestWorkerRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "debug.log"), []byte("started\n"), 0o644)
	run := RunState{Dir: t.TempDir()}
	run.Begin(os.Getpid())
	run.EndSetup()
	metrics := &fakeMetrics{}
	sink := &fakeLogs{streams: map[string]bool{}, events: map[string][]string{}}
	admin := newFakeEnterpriseAdmin()
	store := newFakeStore("old/neo4j-2025-01-01T02-00-00.backup")
	var alive sync.Mutex
	neoAlive := true
	probes := 0
	var logs syncBuffer
	w := &Worker{
		Config: WorkerConfig{Role: "core", Member: "core-1", First: true, Cluster: "c", CoreCount: 3, DataDir: dir, LogsDir: dir,
			ShipLogs: []string{"debug"}, LogGroup: "g", RestoreFrom: "s3://old/", Bucket: "b", ECSCluster: "neo4jctl-c",
			Users:     []neo4jadmin.UserSpec{{Username: "app", Password: "secret-pw", Access: neo4jadmin.ReadWrite}},
			DiskEvery: 50 * time.Millisecond, LogEvery: 50 * time.Millisecond, ProbeEvery: 50 * time.Millisecond, SeedWait: -1},
		Connect: func(context.Context) (Admin, error) { return admin, nil },
		Objects: store, Metrics: metrics, Logs: sink, Run: run, Stderr: &logs,
		Services: &fakeServices{desired: 0}, // the replicas scaled to 0
		Probe: func(context.Context) error {
			if probes++; probes < 3 {
				return errors.New("not yet")
			}
			return nil
		},
		NeoAlive: func() bool { alive.Lock(); defer alive.Unlock(); return neoAlive },
	}
	done := make(chan error)
	go func() { done <- w.RunForever(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		_, err := store.Get(ctx, "b", naming.RestoreDoneKey)
		metrics.mu.Lock()
		n := len(metrics.got)
		metrics.mu.Unlock()
		sink.mu.Lock()
		shipped := len(sink.events["core-1/debug"])
		sink.mu.Unlock()
		if err == nil && n >= 2 && shipped == 1 && run.Started() {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	alive.Lock()
	neoAlive = false // Neo4j exits: the worker stops
	alive.Unlock()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the worker did not stop when Neo4j exited")
	}
	if !run.Started() {
		t.Error("no started marker")
	}
	if _, err := store.Get(ctx, "b", naming.RestoreDoneKey); err != nil {
		t.Error("restore not seeded")
	}
	if !slices.Contains(admin.calls, "ensure-users") {
		t.Errorf("users not ensured: %q", admin.calls)
	}
	if !slices.Contains(admin.calls, "set-topology neo4j 3 0") || !slices.Contains(admin.calls, "set-defaults 3 0") {
		t.Errorf("secondaries not reconciled once the cluster formed: %q", admin.calls)
	}
	if strings.Contains(logs.String(), "secret-pw") {
		t.Fatal("a password was logged")
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// --- the S3 adapter against moto

func TestS3StoreMoto(t *testing.T) {
	ctx := context.Background()
	cfg, _ := testbed.SharedMoto(t).IsolatedConfig(ctx, "eu-west-1")
	client := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	bucket := "agent-" + strings.ToLower(rand.Text()[:10])
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket),
		CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: "eu-west-1"}}); err != nil {
		t.Fatal(err)
	}
	st := S3Store{S3: client}
	if _, err := st.Get(ctx, bucket, naming.RestoreDoneKey); !errors.Is(err, ErrNoObject) {
		t.Fatalf("missing marker: %v", err)
	}
	var keys []string
	for i := range 1005 { // more than one page and one DeleteObjects batch
		k := fmt.Sprintf("backups/neo4j-2025-01-01T00-%02d-%02d.backup", i/60%60, i%60)
		if i >= 60*60 {
			t.Fatal("too many")
		}
		keys = append(keys, k)
	}
	keys = slices.Compact(keys)
	for _, k := range keys {
		if err := st.Put(ctx, bucket, k, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	objs, err := st.List(ctx, bucket, "backups/")
	if err != nil || len(objs) != len(keys) {
		t.Fatalf("listed %d of %d: %v", len(objs), len(keys), err)
	}
	if err := st.Delete(ctx, bucket, keys[:1001]); err != nil {
		t.Fatal(err)
	}
	if objs, _ := st.List(ctx, bucket, "backups/"); len(objs) != len(keys)-1001 {
		t.Fatalf("%d left", len(objs))
	}
	if err := st.Put(ctx, bucket, naming.RestoreDoneKey, []byte(`{"complete":true}`)); err != nil {
		t.Fatal(err)
	}
	if b, err := st.Get(ctx, bucket, naming.RestoreDoneKey); err != nil || string(b) != `{"complete":true}` {
		t.Fatalf("%s %v", b, err)
	}
}
