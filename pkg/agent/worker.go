package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/neo4jadmin"
)

// Admin is the admin Cypher the worker runs: a *neo4jadmin.Client in the container.
type Admin interface {
	Ping(ctx context.Context) error
	EnsureUsers(ctx context.Context, users []neo4jadmin.UserSpec) ([]neo4jadmin.UserResult, error)
	Servers(ctx context.Context) ([]neo4jadmin.Server, error)
	Databases(ctx context.Context) ([]neo4jadmin.Database, error)
	SeedDatabase(ctx context.Context, db, seedURI string, replace bool, waitSeconds int) (string, error)
	DeallocateServer(ctx context.Context, ref string, dryRun bool) (string, []neo4jadmin.Row, error)
	DropServer(ctx context.Context, ref string) (string, error)
	TopologyDefaults(ctx context.Context) (neo4jadmin.Defaults, error)
	SetDefaultAllocation(ctx context.Context, primaries, secondaries int) (string, error)
	SetTopology(ctx context.Context, db string, primaries, secondaries, waitSeconds int) (string, error)
	Close(ctx context.Context) error
}

// Object is one S3 object of a listing.
type Object struct {
	Key          string
	Size         int64
	LastModified time.Time
}

// ErrNoObject is ObjectStore.Get's answer for a missing key.
var ErrNoObject = errors.New("no such object")

// ObjectStore is the S3 the worker and the backup runner use.
type ObjectStore interface {
	List(ctx context.Context, bucket, prefix string) ([]Object, error)
	Get(ctx context.Context, bucket, key string) ([]byte, error)
	Put(ctx context.Context, bucket, key string, body []byte) error
	Delete(ctx context.Context, bucket string, keys []string) error
}

// Metric is one CloudWatch data point.
type Metric struct {
	Namespace, Name, Unit string
	Value                 float64
	Dimensions            map[string]string
	Time                  time.Time
}

// MetricPublisher puts metrics to CloudWatch.
type MetricPublisher interface {
	PutMetric(ctx context.Context, m Metric) error
}

// LogEvent is one shipped log line.
type LogEvent struct {
	Time    time.Time
	Message string
}

// LogSink is the CloudWatch Logs the shipper writes to.
type LogSink interface {
	EnsureStream(ctx context.Context, group, stream string) error
	Put(ctx context.Context, group, stream string, events []LogEvent) error
}

// WorkerConfig is what the worker does, from the task definition's environment.
type WorkerConfig struct {
	Role    string // core | replica
	Member  string // core-N; for a replica "replica-<host>"
	First   bool   // the first core: users, restore seeding, dead replicas, secondaries
	Cluster string
	// ECSCluster is the ECS cluster of the replicas service (the secondaries follow its
	// desired count).
	ECSCluster string
	Namespace  string
	CoreCount  int
	BoltURI    string // default neo4j://127.0.0.1:7687 (routing: admin commands reach the leader)

	AdminPassword string
	// With users.rotation: the secrets the passwords are read from (CurrentPasswords), by
	// user name for the managed users.
	AdminSecretARN string
	UserSecretARNs map[string]string
	Users          []neo4jadmin.UserSpec

	RestoreFrom      string
	RestoreDatabases []string
	Bucket           string

	DataDir  string
	LogsDir  string
	ShipLogs []string
	LogGroup string

	// Intervals (defaults: disk 1m, users 15m, dead replicas 5m, secondaries 5m, log poll
	// 5s, probe 5s).
	DiskEvery, UsersEvery, ReapEvery, SecondariesEvery, LogEvery, ProbeEvery time.Duration
	// SeedWait bounds how long the worker watches seeded databases come online (default 30m).
	SeedWait time.Duration
}

// WorkerConfigFromEnv reads the worker's configuration.
func WorkerConfigFromEnv(env Env) (WorkerConfig, error) {
	c := WorkerConfig{
		Role: entrypointRole(env), Member: env(naming.EnvMember), Cluster: env(naming.EnvCluster),
		Namespace: env(naming.EnvNamespace), ECSCluster: env(naming.EnvECSCluster), BoltURI: naming.BoltURI("127.0.0.1"),
		AdminPassword: env(naming.EnvAdminPassword), AdminSecretARN: env(naming.EnvAdminSecretARN),
		RestoreFrom: env(naming.EnvRestoreFrom), RestoreDatabases: splitList(env(naming.EnvRestoreDatabases)),
		Bucket: env(naming.EnvBucket), DataDir: dataDir(env), LogsDir: env(naming.EnvLogsDir),
		ShipLogs: splitList(env(naming.EnvShipLogs)), LogGroup: env(naming.EnvLogGroup),
	}
	if c.LogsDir == "" {
		c.LogsDir = "/logs"
	}
	if n := env(naming.EnvCoreCount); n != "" {
		v, err := strconv.Atoi(n)
		if err != nil {
			return c, fmt.Errorf("%s=%q is not a number", naming.EnvCoreCount, n)
		}
		c.CoreCount = v
	}
	if c.Role == "core" {
		c.First = IsFirstCore(c.Member, env(naming.EnvCoreEndpoints))
	} else if c.Member == "" {
		host, _ := os.Hostname()
		c.Member = "replica-" + host
	}
	for _, u := range []struct {
		user, pw string
		access   neo4jadmin.Access
	}{{env(naming.EnvReadOnlyUser), env(naming.EnvReadOnlyPassword), neo4jadmin.ReadOnly},
		{env(naming.EnvReadWriteUser), env(naming.EnvReadWritePassword), neo4jadmin.ReadWrite}} {
		if u.user != "" {
			if u.pw == "" {
				return c, fmt.Errorf("user %s has no password: the task definition must inject its secret", u.user)
			}
			c.Users = append(c.Users, neo4jadmin.UserSpec{Username: u.user, Password: u.pw, Access: u.access})
			if arn := env(map[neo4jadmin.Access]string{neo4jadmin.ReadOnly: naming.EnvReadOnlyARN, neo4jadmin.ReadWrite: naming.EnvReadWriteARN}[u.access]); arn != "" {
				if c.UserSecretARNs == nil {
					c.UserSecretARNs = map[string]string{}
				}
				c.UserSecretARNs[u.user] = arn
			}
		}
	}
	return c, nil
}

// IsFirstCore reports whether member (core-N) is the first of the core endpoints
// (core-1.<ns>:6000,...): the one core that runs the once-per-cluster work.
func IsFirstCore(member, endpoints string) bool {
	eps := splitList(endpoints)
	if member == "" || len(eps) == 0 {
		return false
	}
	host, _, _ := strings.Cut(eps[0], ":")
	first, _, _ := strings.Cut(host, ".")
	return first == member
}

func (c *WorkerConfig) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.DiskEvery, time.Minute)
	def(&c.UsersEvery, 15*time.Minute)
	def(&c.ReapEvery, 5*time.Minute)
	def(&c.SecondariesEvery, 5*time.Minute)
	def(&c.LogEvery, 5*time.Second)
	def(&c.ProbeEvery, 5*time.Second)
	def(&c.SeedWait, 30*time.Minute)
}

// Worker is the post-start worker of a Neo4j container. It runs next to Neo4j until Neo4j
// exits or the task stops, and retries everything with backoff:
//   - writes the started marker once Neo4j answers locally (read by `health`);
//   - cores: publishes the data volume's used percent every minute;
//   - ships the Neo4j logs named in NEO4JCTL_SHIP_LOGS to CloudWatch Logs;
//   - the first core only: keeps the managed users, seeds restore.from once, removes
//     dead replicas from SHOW SERVERS, and makes the databases' secondaries follow the
//     replicas service's desired count (ReconcileSecondaries).
type Worker struct {
	Config  WorkerConfig
	Connect func(ctx context.Context) (Admin, error)
	Objects ObjectStore
	Metrics MetricPublisher
	Logs    LogSink
	// Services reads the replicas service's desired count (nil: secondaries are not followed).
	Services   Services
	LookupHost func(ctx context.Context, host string) ([]string, error)
	Probe      func(ctx context.Context) error
	Run        RunState
	// NeoAlive reports whether Neo4j still runs (default: the run state's pid).
	NeoAlive func() bool
	// DiskUsed measures the data directory (default statfs).
	DiskUsed func(dir string) (float64, error)
	Stderr   io.Writer
	Now      func() time.Time
	// Passwords, with users.rotation, gives the passwords' current versions (nil: the ones
	// injected at the task's start hold).
	Passwords *CurrentPasswords
}

func (w *Worker) logf(format string, a ...any) {
	out := w.Stderr
	if out == nil {
		out = os.Stderr
	}
	fmt.Fprintf(out, "neo4jctl-agent worker: "+format+"\n", a...)
}

func (w *Worker) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

// RunForever runs the worker until ctx ends or Neo4j is gone.
func (w *Worker) RunForever(ctx context.Context) error {
	w.Config.defaults()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	spawn := func(f func(context.Context)) {
		wg.Add(1)
		go func() { defer wg.Done(); f(ctx) }()
	}
	started := make(chan struct{})
	alive := w.NeoAlive
	if alive == nil {
		alive = func() bool {
			pid, ok := w.Run.Pid()
			return !ok || processAlive(pid)
		}
	}
	spawn(func(ctx context.Context) {
		for sleep(ctx, w.Config.ProbeEvery) {
			if !alive() {
				w.logf("Neo4j is gone; stopping")
				cancel()
				return
			}
		}
	})
	spawn(func(ctx context.Context) {
		for {
			if w.Probe == nil || w.Probe(ctx) == nil {
				if err := w.Run.MarkStarted(); err != nil {
					w.logf("writing the started marker: %v", err)
				}
				w.logf("Neo4j answers locally")
				close(started)
				return
			}
			if !sleep(ctx, w.Config.ProbeEvery) {
				return
			}
		}
	})
	if w.Config.Role == "core" && w.Metrics != nil {
		spawn(func(ctx context.Context) {
			for {
				if err := w.PublishDisk(ctx); err != nil {
					w.logf("publishing %s: %v", naming.MetricDiskUsed, err)
				}
				if !sleep(ctx, w.Config.DiskEvery) {
					return
				}
			}
		})
	}
	if w.Logs != nil && w.Config.LogGroup != "" {
		for _, name := range w.Config.ShipLogs {
			s := w.Shipper(name)
			spawn(func(ctx context.Context) { s.Run(ctx, w.Config.LogEvery) })
		}
	}
	if w.Config.First && w.Connect != nil {
		spawn(func(ctx context.Context) {
			select {
			case <-started:
			case <-ctx.Done():
				return
			}
			w.adminLoop(ctx)
		})
	}
	wg.Wait()
	return nil
}

// adminLoop is the first core's once-per-cluster work.
func (w *Worker) adminLoop(ctx context.Context) {
	var admin Admin
	defer func() {
		if admin != nil {
			admin.Close(context.WithoutCancel(ctx))
		}
	}()
	bo := backoff{min: 5 * time.Second, max: 2 * time.Minute}
	var usersDue, reapDue, secondariesDue time.Time
	restoreDone := w.Config.RestoreFrom == ""
	suspects := map[string]int{}
	followSecondaries := w.Services != nil && w.Config.ECSCluster != ""
	if !followSecondaries {
		w.logf("secondaries: not following the replicas service (no ECS client or %s)", naming.EnvECSCluster)
	}
	for {
		if admin == nil {
			a, err := w.Connect(ctx)
			if err != nil {
				w.logf("connecting to Neo4j: %v", err)
				if !sleep(ctx, bo.next()) {
					return
				}
				continue
			}
			admin = a
		}
		ok := true
		now := w.now()
		unauthorized := false
		if !now.Before(usersDue) {
			if err := w.EnsureUsers(ctx, admin); err != nil {
				w.logf("ensuring users: %v", err)
				ok = false
				unauthorized = neo4jadmin.IsCode(err, neo4jadmin.CodeUnauthorized)
				usersDue = now.Add(bo.peek())
			} else {
				usersDue = now.Add(w.Config.UsersEvery)
			}
		}
		if !restoreDone {
			done, err := w.SeedRestore(ctx, admin)
			if err != nil {
				w.logf("seeding from %s: %v", w.Config.RestoreFrom, err)
				ok = false
			}
			restoreDone = done
		}
		if !now.Before(reapDue) {
			if err := w.ReapReplicas(ctx, admin, suspects); err != nil {
				w.logf("checking for dead replicas: %v", err)
			}
			reapDue = now.Add(w.Config.ReapEvery)
		}
		// once the cluster has formed, then every SecondariesEvery; failures retry with backoff
		if followSecondaries && !now.Before(secondariesDue) {
			_, err := w.ReconcileSecondaries(ctx, admin)
			switch {
			case err == nil:
				secondariesDue = now.Add(w.Config.SecondariesEvery)
			case neo4jadmin.IsCode(err, neo4jadmin.CodeUnsupported):
				// Community (or a version without these commands): it will not change while
				// this process runs
				w.logf("secondaries: not supported by this Neo4j, not following the replicas service: %v", err)
				followSecondaries = false
			default:
				w.logf("secondaries: %v", err)
				ok = false
				secondariesDue = now.Add(bo.peek())
			}
		}
		if unauthorized && w.Passwords != nil {
			// the admin password was rotated: log in again with its current version
			admin.Close(context.WithoutCancel(ctx))
			admin = nil
		}
		wait := 30 * time.Second
		if ok {
			bo.reset()
		} else {
			wait = bo.next()
		}
		if !sleep(ctx, wait) {
			return
		}
	}
}

// EnsureUsers brings the managed users to their secrets' passwords and roles (idempotent);
// without managed users it only checks the admin login.
func (w *Worker) EnsureUsers(ctx context.Context, admin Admin) error {
	users := w.Config.Users
	if w.Passwords != nil && len(users) > 0 {
		var skipped []string
		var err error
		if users, skipped, err = w.Passwords.Users(ctx, users); err != nil {
			return err
		}
		for _, u := range skipped {
			w.logf("user %s: its password is being rotated; left alone this round", u)
		}
	}
	if len(users) == 0 {
		return admin.Ping(ctx)
	}
	res, err := admin.EnsureUsers(ctx, users)
	if err != nil {
		return err
	}
	for _, r := range res {
		if r.Created || r.PasswordChanged || len(r.RolesGranted)+len(r.RolesRevoked) > 0 {
			w.logf("user %s (%s): created=%v passwordChanged=%v granted=%v revoked=%v %s",
				r.Username, r.Access, r.Created, r.PasswordChanged, r.RolesGranted, r.RolesRevoked, r.Note)
		}
	}
	return nil
}

// PublishDisk puts the data volume's used percent.
func (w *Worker) PublishDisk(ctx context.Context) error {
	used := w.DiskUsed
	if used == nil {
		used = diskUsedPercent
	}
	pct, err := used(w.Config.DataDir)
	if err != nil {
		return fmt.Errorf("measuring %s: %w", w.Config.DataDir, err)
	}
	return w.Metrics.PutMetric(ctx, Metric{
		Namespace: naming.MetricNamespace, Name: naming.MetricDiskUsed, Unit: "Percent", Value: pct,
		Dimensions: map[string]string{"Cluster": w.Config.Cluster, "Member": w.Config.Member},
		Time:       w.now(),
	})
}

// sleep waits d or until ctx ends; false when ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

type backoff struct{ min, max, cur time.Duration }

func (b *backoff) next() time.Duration {
	if b.cur == 0 {
		b.cur = b.min
	} else if b.cur *= 2; b.cur > b.max {
		b.cur = b.max
	}
	return b.cur
}

func (b *backoff) peek() time.Duration {
	if b.cur == 0 {
		return b.min
	}
	return b.cur
}

func (b *backoff) reset() { b.cur = 0 }
