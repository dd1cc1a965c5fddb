package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	osexec "os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/neo4jversion"
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
	// StartWorker starts the post-start worker (`neo4jctl-agent worker`) with environ
	// before Neo4j starts (default: this executable, detached; see StartWorkerProcess).
	StartWorker func(ctx context.Context, environ []string) error
	// Run is the container's run state (default RunStateFromEnv); Pid the pid recorded in
	// it (default os.Getpid(): the entrypoint execs, so its pid becomes Neo4j's).
	Run *RunState
	Pid int
	// HTTP reads the ECS task metadata (default a client with a 5s timeout).
	HTTP *http.Client
}

// Entrypoint prepares the Neo4j container and execs the official entrypoint: it records the
// run state the health check reads, refuses to start a core whose data volume is not
// mounted, computes the advertised address (core-N.<namespace> for a core, the task's IP for
// a replica), the cluster settings and NEO4J_AUTH from the injected admin password (never
// printed), starts the post-start worker, and execs Neo4j. Nothing is restored before
// Neo4j starts: restore.from is seeded online by the first core's worker.
func Entrypoint(ctx context.Context, o EntrypointOptions) error {
	env := o.Env
	environ := o.Environ
	if environ == nil {
		environ = os.Environ()
	}
	log := func(format string, a ...any) { fmt.Fprintf(o.Stderr, "neo4jctl-agent: "+format+"\n", a...) }

	run := o.Run
	if run == nil {
		r := RunStateFromEnv(env)
		run = &r
	}
	pid := o.Pid
	if pid == 0 {
		pid = os.Getpid()
	}
	if err := run.Begin(pid); err != nil {
		return err
	}

	role := entrypointRole(env)
	if role == "core" {
		if err := CheckVolume(dataDir(env)); err != nil {
			return err
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

	// The worker keeps the agent's environment (it needs the passwords); Neo4j gets the
	// settings and never the NEO4JCTL_*_PASSWORD variables.
	start := o.StartWorker
	if start == nil {
		start = StartWorkerProcess
	}
	workerEnv := MergeEnv(environ, map[string]string{naming.EnvRole: role})
	if err := start(ctx, workerEnv); err != nil {
		// Neo4j runs without it; the health check still works (it marks started itself).
		log("starting the post-start worker failed: %v; Neo4j starts without it", err)
	}

	childEnv := MergeEnv(environ, settings, naming.EnvAdminPassword, naming.EnvReadOnlyPassword, naming.EnvReadWritePassword)
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
	if err := run.EndSetup(); err != nil {
		return err
	}
	argv := append([]string{OfficialEntrypoint}, args...)
	if err := exec(OfficialEntrypoint, argv, childEnv); err != nil {
		return fmt.Errorf("starting %s: %w", OfficialEntrypoint, err)
	}
	return nil
}

func entrypointRole(env Env) string {
	if role := env(naming.EnvRole); role != "" {
		return role
	}
	if env(naming.EnvMember) == "" {
		return "replica"
	}
	return "core"
}

// CheckVolume refuses a core's data directory without the marker the host's user data
// writes on the mounted data volume: without it Neo4j would create a blank store on the
// instance's root disk, and a new cluster could form around it.
func CheckVolume(dir string) error {
	marker := filepath.Join(dir, naming.VolumeMarker)
	if _, err := os.Stat(marker); err != nil {
		return fmt.Errorf("refusing to start Neo4j: %s is missing, so the member's data volume is not mounted at %s "+
			"(the instance attaches and mounts it at %s and writes the marker; it says how that went in the "+
			"boot log stream <member>/boot of the cluster's log group, and in /var/log/neo4jctl-init.log on the instance)", marker, dir, naming.DataMount)
	}
	return nil
}

// StartWorkerProcess starts `neo4jctl-agent worker --detach` and waits for it: that
// intermediate starts the real worker and exits at once, so the worker is reparented to the
// container's init (tini), which reaps it, and not to Neo4j, which would leave a zombie. The
// worker stays in the entrypoint's process group, so tini -g's SIGTERM reaches it too.
func StartWorkerProcess(ctx context.Context, environ []string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := osexec.CommandContext(ctx, self, "worker", "--detach")
	cmd.Env = environ
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	return cmd.Run()
}

// spawnWorker is `worker --detach`: start the worker and return.
func spawnWorker(environ []string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := osexec.Command(self, "worker")
	cmd.Env = environ
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	return cmd.Process.Release()
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
	// Every advertised address explicit: the official entrypoint would otherwise write the
	// container hostname, which changes with every task, into the cluster and raft ones.
	s := map[string]string{
		"NEO4J_server_default__listen__address":         "0.0.0.0",
		"NEO4J_server_default__advertised__address":     addr,
		"NEO4J_server_cluster_advertised__address":      fmt.Sprintf("%s:%d", addr, naming.PortDiscovery),
		"NEO4J_server_cluster_raft_advertised__address": fmt.Sprintf("%s:%d", addr, naming.PortRaft),
		"NEO4J_server_routing_advertised__address":      fmt.Sprintf("%s:%d", addr, naming.PortRouting),
	}
	if eps := splitList(env(naming.EnvCoreEndpoints)); len(eps) > 0 {
		var hp []string
		for _, e := range eps {
			if !strings.Contains(e, ":") {
				e += ":" + strconv.Itoa(naming.PortDiscovery)
			}
			hp = append(hp, e)
		}
		if neo4jversion.IsCalendar(env(naming.EnvNeo4jVersion)) {
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
	// Online seeding (restore.from, the operations Lambda's restore-database) reads s3:// with the task
	// role; every server that will host a seeded database downloads the seed.
	s["NEO4J_dbms_databases_seed__from__uri__providers"] = naming.SeedProviders
	for k := range s {
		if v := env(k); v != "" {
			delete(s, k)
		}
	}
	return s, nil
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
