package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

// OfficialEntrypoint is the official Neo4j image's entrypoint, which the helper execs.
const OfficialEntrypoint = "/startup/docker-entrypoint.sh"

// EntrypointOptions configure the container entrypoint.
type EntrypointOptions struct {
	Env    Env
	Args   []string // passed to the official entrypoint (default ["neo4j"])
	Stdout io.Writer
	Stderr io.Writer
	// Environ is the process environment handed on to Neo4j (default os.Environ()).
	Environ []string
	// Exec replaces the process (default syscall.Exec); tests capture the call.
	Exec func(path string, argv, envv []string) error
	// Restore runs neo4j-admin for the seed (default exec; tests replace it).
	Restore func(ctx context.Context, argv []string, stdout, stderr io.Writer) (int, error)
	// HTTP reads the ECS task metadata (default a client with a 5s timeout).
	HTTP *http.Client
}

// Entrypoint prepares the Neo4j container and execs the official entrypoint: it computes
// the advertised address (core-N.<namespace> for a core, the task's IP for a replica), the
// cluster settings, NEO4J_AUTH from the injected admin password (never printed), and seeds
// the data volume once from NEO4JCTL_RESTORE_FROM.
func Entrypoint(ctx context.Context, o EntrypointOptions) error {
	env := o.Env
	environ := o.Environ
	if environ == nil {
		environ = os.Environ()
	}
	log := func(format string, a ...any) { fmt.Fprintf(o.Stderr, "neo4jctl-agent: "+format+"\n", a...) }

	role := env(naming.EnvRole)
	if role == "" {
		role = "core"
		if env(naming.EnvMember) == "" {
			role = "replica"
		}
	}
	addr, err := AdvertisedAddress(ctx, role, env, o.HTTP)
	if err != nil {
		return err
	}
	settings, err := ClusterSettings(role, addr, env)
	if err != nil {
		return err
	}
	password := env(naming.EnvAdminPassword)
	if password == "" {
		return fmt.Errorf("%s is not set: the task definition must inject the admin secret", naming.EnvAdminPassword)
	}
	settings["NEO4J_AUTH"] = "neo4j/" + password
	log("role %s, advertised address %s", role, addr)

	if from := env(naming.EnvRestoreFrom); from != "" && role == "core" {
		if err := Seed(ctx, SeedOptions{
			DataDir: dataDir(env), From: from, Databases: splitList(env(naming.EnvRestoreDatabases)),
			TempDir: scratchDir(env), Admin: NeoAdmin(env), Run: o.Restore, Log: log,
			Stdout: o.Stderr, Stderr: o.Stderr,
		}); err != nil {
			return err
		}
	}

	childEnv := MergeEnv(environ, settings, naming.EnvAdminPassword)
	args := o.Args
	if len(args) == 0 {
		args = []string{"neo4j"}
	}
	keys := make([]string, 0, len(settings))
	for k := range settings {
		if k != "NEO4J_AUTH" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	log("starting Neo4j with %s (and NEO4J_AUTH)", strings.Join(keys, ", "))
	exec := o.Exec
	if exec == nil {
		exec = syscall.Exec
	}
	argv := append([]string{OfficialEntrypoint}, args...)
	if err := exec(OfficialEntrypoint, argv, childEnv); err != nil {
		return fmt.Errorf("starting %s: %w", OfficialEntrypoint, err)
	}
	return nil
}

// AdvertisedAddress is the host other members and clients reach this server by.
func AdvertisedAddress(ctx context.Context, role string, env Env, client *http.Client) (string, error) {
	switch role {
	case "core":
		member, ns := env(naming.EnvMember), env(naming.EnvNamespace)
		if member == "" || ns == "" {
			return "", fmt.Errorf("a core needs %s and %s", naming.EnvMember, naming.EnvNamespace)
		}
		return member + "." + ns, nil
	case "replica":
		return TaskIPv4(ctx, env("ECS_CONTAINER_METADATA_URI_V4"), client)
	}
	return "", fmt.Errorf("%s=%q: want core or replica", naming.EnvRole, role)
}

// TaskIPv4 reads this container's awsvpc IPv4 from the ECS task metadata endpoint v4.
func TaskIPv4(ctx context.Context, metadataURI string, client *http.Client) (string, error) {
	if metadataURI == "" {
		return "", fmt.Errorf("ECS_CONTAINER_METADATA_URI_V4 is not set: a replica must run as an ECS task")
	}
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second}
	}
	var last error
	for attempt := 0; attempt < 5; attempt++ { // the endpoint can lag the container start
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, metadataURI, nil)
		if err != nil {
			return "", err
		}
		resp, err := client.Do(req)
		if err == nil {
			var md struct {
				Networks []struct {
					IPv4Addresses []string `json:"IPv4Addresses"`
				} `json:"Networks"`
			}
			err = json.NewDecoder(resp.Body).Decode(&md)
			resp.Body.Close()
			if err == nil && resp.StatusCode == http.StatusOK {
				for _, n := range md.Networks {
					for _, ip := range n.IPv4Addresses {
						if ip != "" {
							return ip, nil
						}
					}
				}
				err = fmt.Errorf("no IPv4 address in the task metadata")
			} else if err == nil {
				err = fmt.Errorf("HTTP %s", resp.Status)
			}
		}
		last = err
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(time.Duration(attempt+1) * 500 * time.Millisecond):
		}
	}
	return "", fmt.Errorf("reading the task IP from %s: %w", metadataURI, last)
}

// ClusterSettings are the NEO4J_* variables (the official image turns them into neo4j.conf)
// for this server. Values already in the environment win: the task definition can override
// any of them.
func ClusterSettings(role, addr string, env Env) (map[string]string, error) {
	s := map[string]string{
		"NEO4J_server_default__listen__address":     "0.0.0.0",
		"NEO4J_server_default__advertised__address": addr,
	}
	if eps := splitList(env(naming.EnvCoreEndpoints)); len(eps) > 0 {
		var hp []string
		for _, e := range eps {
			if !strings.Contains(e, ":") {
				e += ":" + strconv.Itoa(naming.PortDiscovery)
			}
			hp = append(hp, e)
		}
		if calendarVersion(env(naming.EnvNeo4jVersion)) {
			s["NEO4J_dbms_cluster_endpoints"] = strings.Join(hp, ",")
		} else {
			s["NEO4J_dbms_cluster_discovery_version"] = "V2_ONLY"
			s["NEO4J_dbms_cluster_discovery_v2_endpoints"] = strings.Join(hp, ",")
		}
		s["NEO4J_dbms_cluster_discovery_resolver__type"] = "LIST"
	}
	if n := env(naming.EnvCoreCount); n != "" {
		if _, err := strconv.Atoi(n); err != nil {
			return nil, fmt.Errorf("%s=%q is not a number", naming.EnvCoreCount, n)
		}
		s["NEO4J_initial_dbms_default__primaries__count"] = n
		s["NEO4J_dbms_cluster_minimum__initial__system__primaries__count"] = n
	}
	if role == "replica" {
		s["NEO4J_initial_server_mode__constraint"] = "SECONDARY"
	}
	for k := range s {
		if v := env(k); v != "" {
			delete(s, k)
		}
	}
	return s, nil
}

// calendarVersion reports 2025.x and later (which use dbms.cluster.endpoints).
func calendarVersion(v string) bool {
	major, _, _ := strings.Cut(v, ".")
	n, err := strconv.Atoi(major)
	return err == nil && n >= 2025
}

// MergeEnv returns environ with settings set (replacing existing keys) and drop removed.
func MergeEnv(environ []string, settings map[string]string, drop ...string) []string {
	out := make([]string, 0, len(environ)+len(settings))
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		if _, ok := settings[k]; ok || contains(drop, k) {
			continue
		}
		out = append(out, kv)
	}
	keys := make([]string, 0, len(settings))
	for k := range settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out = append(out, k+"="+settings[k])
	}
	return out
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func dataDir(env Env) string {
	if d := env(naming.EnvDataDir); d != "" {
		return d
	}
	return "/data"
}

// SeedOptions configure the one-time seed of a core's data volume.
type SeedOptions struct {
	DataDir   string
	From      string   // s3://... folder or backup artifact
	Databases []string // default: every backup in From
	TempDir   string
	Admin     string // neo4j-admin path
	Run       func(ctx context.Context, argv []string, stdout, stderr io.Writer) (int, error)
	Log       func(format string, a ...any)
	Stdout    io.Writer
	Stderr    io.Writer
}

// Seed markers, on the data volume so they survive container and instance restarts.
const (
	seedDir        = ".neo4jctl"
	seedDoneFile   = "seed.done"    // JSON {from, finished}: never seed again
	seedActiveFile = "seed.attempt" // JSON {from, started}: an attempt began (and may have died)
)

type seedMarker struct {
	From     string `json:"from"`
	Started  string `json:"started,omitempty"`
	Finished string `json:"finished,omitempty"`
}

// Seed restores the backup at From into the data volume once. A done marker makes every
// later start skip it; an attempt marker without a done marker means an earlier attempt
// died half-way, so the restore runs again over it (--overwrite-destination).
func Seed(ctx context.Context, o SeedOptions) error {
	logf := o.Log
	if logf == nil {
		logf = func(string, ...any) {}
	}
	dir := filepath.Join(o.DataDir, seedDir)
	done := filepath.Join(dir, seedDoneFile)
	active := filepath.Join(dir, seedActiveFile)
	if b, err := os.ReadFile(done); err == nil {
		var m seedMarker
		_ = json.Unmarshal(b, &m)
		if m.From != o.From {
			logf("data volume was seeded from %s at %s; ignoring %s=%s (a cluster is seeded once)", m.From, m.Finished, naming.EnvRestoreFrom, o.From)
		} else {
			logf("data volume already seeded from %s at %s", m.From, m.Finished)
		}
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("reading seed marker %s: %w", done, err)
	}
	if b, err := os.ReadFile(active); err == nil {
		var m seedMarker
		_ = json.Unmarshal(b, &m)
		logf("an earlier seed from %s (started %s) did not finish; restoring again over it", m.From, m.Started)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	if err := writeMarker(active, seedMarker{From: o.From, Started: time.Now().UTC().Format(time.RFC3339)}); err != nil {
		return err
	}
	argv := []string{o.Admin, "database", "restore", "--from-path=" + o.From, "--overwrite-destination=true"}
	if o.TempDir != "" {
		argv = append(argv, "--temp-path="+filepath.Join(o.TempDir, "neo4jctl-restore-tmp"))
		if err := os.MkdirAll(filepath.Join(o.TempDir, "neo4jctl-restore-tmp"), 0o700); err != nil {
			return fmt.Errorf("creating the restore temp directory: %w", err)
		}
	}
	argv = append(argv, o.Databases...)
	run := o.Run
	if run == nil {
		run = execCommand
	}
	logf("seeding the data volume from %s", o.From)
	t0 := time.Now()
	if code, err := run(ctx, argv, o.Stdout, o.Stderr); err != nil || code != 0 {
		return fmt.Errorf("seeding from %s: neo4j-admin database restore failed (exit %d): %v; the next start retries", o.From, code, err)
	}
	chownLike(o.DataDir)
	if err := writeMarker(done, seedMarker{From: o.From, Finished: time.Now().UTC().Format(time.RFC3339)}); err != nil {
		return err
	}
	_ = os.Remove(active)
	logf("seeded from %s in %s", o.From, time.Since(t0).Round(time.Second))
	return nil
}

func writeMarker(path string, m seedMarker) error {
	b, _ := json.Marshal(m)
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("writing seed marker %s: %w", path, err)
	}
	if _, err := f.Write(b); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing seed marker %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("writing seed marker %s: %w", path, err)
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
