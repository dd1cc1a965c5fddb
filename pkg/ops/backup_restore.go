package ops

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/neo4jctl/neo4jctl/pkg/backup"
	"github.com/neo4jctl/neo4jctl/pkg/neo4jadmin"
	"github.com/neo4jctl/neo4jctl/pkg/neo4jversion"
)

// BackupRestoreOptions say which database to restore from which backup.
type BackupRestoreOptions struct {
	Database string
	// From is an artifact as backup list shows it (file name, key, or s3:// URI in the
	// cluster bucket); empty: the database's newest restorable point (--latest).
	From string
}

// RestorePlan is what a restore will do, said before it asks.
type RestorePlan struct {
	Cluster      string        `json:"cluster"`
	Database     string        `json:"database"`
	Artifact     backup.Entry  `json:"artifact"`
	Chain        []string      `json:"chain"` // the artifacts the seed reads, the full backup first
	SeedURI      string        `json:"seedURI"`
	Neo4jVersion string        `json:"neo4jVersion"`
	Procedure    string        `json:"procedure"` // what Neo4j runs
	Exists       bool          `json:"exists"`    // false: the database is created from the backup
	Copies       []RestoreCopy `json:"copies"`    // where it is hosted now
	Others       []string      `json:"otherDatabases"`

	before map[string]string // server id -> lastStartTime before the restore
}

// RestoreCopy is one server's copy of the database.
type RestoreCopy struct {
	Server  string `json:"server"` // name (core-2.<namespace>) or address
	Role    string `json:"role"`   // primary | secondary
	Status  string `json:"status"` // currentStatus
	Message string `json:"message,omitempty"`
	Writer  bool   `json:"writer,omitempty"`
}

// RestoreResult is a finished restore.
type RestoreResult struct {
	*RestorePlan
	Started         time.Time     `json:"started"`
	DurationSeconds float64       `json:"durationSeconds"`
	Restored        []RestoreCopy `json:"restored"` // every copy, online
}

// RestorePlanned: what the restore replaces, said before asking.
type RestorePlanned struct{ Plan *RestorePlan }

func (e RestorePlanned) String() string { return e.Plan.Text() }

// RestoreProgress: copies of the database came online.
type RestoreProgress struct {
	Database    string
	Online      int
	Want        int
	NotOnline   []string // server: status
	ElapsedTime time.Duration
}

func (e RestoreProgress) String() string {
	s := fmt.Sprintf("[%s] %s: %d of %d copies online again", fmtElapsed(e.ElapsedTime), e.Database, e.Online, e.Want)
	if len(e.NotOnline) > 0 {
		s += " (" + strings.Join(e.NotOnline, ", ") + ")"
	}
	return s
}

// RestoreSystemError: the system database is restored offline only.
type RestoreSystemError struct{ Cluster, Bucket string }

func (e *RestoreSystemError) Error() string {
	return fmt.Sprintf("the system database cannot be restored online: it holds the users, roles, privileges and the databases themselves, and every server keeps a copy of it. "+
		"It is restored offline, on every core member at once (Operations Manual: Backup and restore > Restore a database backup; Clustering > Unbind the system database): "+
		"stop Neo4j on all members, then on each run `neo4j-admin database restore --from-path=s3://%s/backups/system-<time>.backup --overwrite-destination=true system` "+
		"and `neo4j-admin dbms unbind-system-db`, then start all members together. The system backups: `neo4jctl backup list %s --database system`",
		e.Bucket, e.Cluster)
}

// ExitCode is 2: the request is refused as asked, and nothing was touched.
func (e *RestoreSystemError) ExitCode() int { return 2 }

// RestoreTimeoutError: copies still not online when the time was up; the restore goes on.
type RestoreTimeoutError struct {
	Cluster, Database string
	After             time.Duration
	NotOnline         []string
	LastErr           error
}

func (e *RestoreTimeoutError) Error() string {
	msg := fmt.Sprintf("database %s is not online on every server after %s", e.Database, e.After)
	if len(e.NotOnline) > 0 {
		msg += ": " + strings.Join(e.NotOnline, ", ")
	}
	if e.LastErr != nil {
		msg += "; the last status request failed: " + e.LastErr.Error()
	}
	return msg + fmt.Sprintf(". Neo4j goes on recreating it; watch it with `neo4jctl get cluster %s` and the members' logs with `neo4jctl logs %s --since 30m`", e.Cluster, e.Cluster)
}

// BackupRestore restores one database online from a backup in the cluster bucket, through
// the admin channel: recreate-database with the artifact as seedURI (the database's
// privileges are kept), then waits until every copy is online again. The other databases
// keep serving throughout.
type BackupRestore struct {
	*Cluster
	S3           backup.S3API
	PollInterval time.Duration // how often to ask Neo4j while waiting (default 5s)
}

// NewBackupRestore is backup restore on the handle's clients and admin channel.
func NewBackupRestore(c *Cluster) *BackupRestore { return &BackupRestore{Cluster: c, S3: c.AWS.S3} }

// Plan finds the artifact in the catalog and the database in Neo4j, and says what the
// restore will replace. Nothing changes.
func (r *BackupRestore) Plan(ctx context.Context, o BackupRestoreOptions) (*RestorePlan, error) {
	setup, err := r.backupSetup(ctx)
	if err != nil {
		return nil, err
	}
	if strings.EqualFold(o.Database, "system") {
		return nil, &RestoreSystemError{Cluster: r.Name, Bucket: setup.Bucket}
	}
	if r.Admin == nil {
		return nil, fmt.Errorf("restoring %s needs Neo4j: no admin channel", o.Database)
	}
	dbs, err := setup.store(r.S3).Load(ctx, 0)
	if err != nil {
		return nil, fmt.Errorf("reading the backup catalog of %s: %w", r.Name, err)
	}
	p := &RestorePlan{Cluster: r.Name, Database: o.Database}
	if err := p.pick(dbs, setup.Bucket, o); err != nil {
		return nil, err
	}
	p.SeedURI = "s3://" + setup.Bucket + "/" + p.Artifact.Key
	resp, err := sendOK(ctx, r.Admin, neo4jadmin.Request{Type: neo4jadmin.ReqStatus})
	if err != nil {
		return nil, fmt.Errorf("reading %s's databases before the restore: %w", r.Name, err)
	}
	return p, p.placed(resp.Status)
}

// pick chooses the artifact: the named one, else the newest restorable point; it must be
// recorded, of this database, and its chain whole.
func (p *RestorePlan) pick(dbs []backup.Database, bucket string, o BackupRestoreOptions) error {
	var d *backup.Database
	for i := range dbs {
		if dbs[i].Name == o.Database {
			d = &dbs[i]
		}
	}
	if o.From == "" {
		if d == nil || d.Newest == nil {
			return fmt.Errorf("database %s has no restorable backup in s3://%s/%s (see `neo4jctl backup list %s`)", o.Database, bucket, backup.Prefix, p.Cluster)
		}
		return p.chainOf(*d, d.Newest.Key)
	}
	key := strings.TrimPrefix(o.From, "s3://"+bucket+"/")
	if strings.HasPrefix(key, "s3://") {
		return fmt.Errorf("--from %s: the cluster's servers restore from their own bucket only (s3://%s/%s)", o.From, bucket, backup.Prefix)
	}
	if name, _, _ := backup.ParseName(key); name != "" && name != o.Database {
		return fmt.Errorf("--from %s is a backup of database %s, not %s", o.From, name, o.Database)
	}
	if d == nil {
		return fmt.Errorf("--from %s: no recorded backup of %s (see `neo4jctl backup list %s`)", o.From, o.Database, p.Cluster)
	}
	return p.chainOf(*d, key)
}

// chainOf sets the artifact named key and the chain up to it, refusing what Neo4j could not
// seed from.
func (p *RestorePlan) chainOf(d backup.Database, key string) error {
	want := backup.ArtifactName(key)
	for _, c := range d.Chains {
		for i, e := range c.Artifacts {
			if backup.ArtifactName(e.Key) != want {
				continue
			}
			if c.Broken != "" {
				return fmt.Errorf("%s cannot be restored: its chain is broken (%s); `neo4jctl backup list %s --database %s` shows the restorable points", path.Base(e.Key), c.Broken, p.Cluster, d.Name)
			}
			p.Artifact = e
			for _, x := range c.Artifacts[:i+1] {
				p.Chain = append(p.Chain, x.Key)
			}
			return nil
		}
	}
	for _, e := range d.Unrecorded {
		if backup.ArtifactName(e.Key) == want {
			return fmt.Errorf("%s is in no manifest yet, so neo4jctl cannot tell whether it is restorable; the next backup records it (`neo4jctl backup create %s`)", path.Base(e.Key), p.Cluster)
		}
	}
	return fmt.Errorf("no backup %s of %s (see `neo4jctl backup list %s --database %s`)", want, d.Name, p.Cluster, d.Name)
}

// placed reads the database's copies and the procedure off Neo4j's status.
func (p *RestorePlan) placed(st *neo4jadmin.Status) error {
	p.Neo4jVersion, p.before = st.Version, map[string]string{}
	names := serverNames(st)
	for _, d := range st.Databases {
		if d.Name != p.Database {
			if !slices.Contains(p.Others, d.Name) {
				p.Others = append(p.Others, d.Name)
			}
			continue
		}
		p.Exists = true
		p.before[d.ServerID] = d.LastStartTime
		p.Copies = append(p.Copies, RestoreCopy{Server: serverLabel(names, d), Role: d.Role, Status: d.CurrentStatus, Writer: d.Writer})
		if slices.Contains([]string{"starting", "stopping", "store copying", "initial"}, strings.ToLower(d.CurrentStatus)) {
			return fmt.Errorf("database %s is %s on %s: a restore or start is under way; wait for it (`neo4jctl get cluster %s`) and try again", p.Database, d.CurrentStatus, serverLabel(names, d), p.Cluster)
		}
	}
	primariesFirst(p.Copies)
	switch {
	case !p.Exists:
		p.Procedure = "CREATE DATABASE ... OPTIONS {seedURI} (the database does not exist)"
	case neo4jversion.AtLeast(p.Neo4jVersion, 2025, 4):
		p.Procedure = "dbms.recreateDatabase"
	case neo4jversion.AtLeast(p.Neo4jVersion, 5, 24):
		p.Procedure = "dbms.cluster.recreateDatabase"
	default:
		return fmt.Errorf("Neo4j %s cannot recreate a database online (5.24 and later can): restore %s offline with neo4j-admin database restore", p.Neo4jVersion, p.Database)
	}
	return nil
}

// Text is the plan for people: exactly what is replaced, what keeps serving.
func (p *RestorePlan) Text() string {
	var b strings.Builder
	a := p.Artifact
	fmt.Fprintf(&b, "Restore database %s of cluster %s from %s\n", p.Database, p.Cluster, p.SeedURI)
	fmt.Fprintf(&b, "  backup: %s, taken %s, transactions up to %d", a.Type, a.Time.UTC().Format("2006-01-02 15:04:05Z"), a.HighestTx)
	if len(p.Chain) > 1 {
		fmt.Fprintf(&b, " (its full backup and %d differentials)", len(p.Chain)-1)
	}
	b.WriteString("\n")
	if !p.Exists {
		fmt.Fprintf(&b, "  %s does not exist: it is created from the backup (privileges granted on it before it was dropped are not restored)\n", p.Database)
	} else {
		var where []string
		for _, c := range p.Copies {
			where = append(where, c.Server+" ("+c.Role+")")
		}
		fmt.Fprintf(&b, "  REPLACES everything in %s on %s: whatever was written since the backup is lost\n", p.Database, strings.Join(where, ", "))
		fmt.Fprintf(&b, "  %s is offline until every copy is online again; its privileges are kept (%s, Neo4j %s)\n", p.Database, p.Procedure, p.Neo4jVersion)
	}
	if len(p.Others) > 0 {
		fmt.Fprintf(&b, "  keep serving: %s", strings.Join(p.Others, ", "))
	}
	return b.String()
}

// Ask says the plan and asks for a yes (given with yes).
func (r *BackupRestore) Ask(ctx context.Context, p *RestorePlan, yes bool) error {
	r.emit(RestorePlanned{Plan: p})
	ok, err := r.confirm(ctx, fmt.Sprintf("Replace database %s with this backup? [y/N] ", p.Database), "restoring "+p.Database, "--yes", yes)
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("restore cancelled; nothing was changed")
	}
	return nil
}

// Execute sends the recreate (or, for a database that does not exist, the create from the
// seed) and waits until every copy is online again, timeout at most.
func (r *BackupRestore) Execute(ctx context.Context, p *RestorePlan, timeout time.Duration) (*RestoreResult, error) {
	req := neo4jadmin.Request{Type: neo4jadmin.ReqRecreateDatabase, Database: p.Database, SeedURI: p.SeedURI, IdempotencyKey: "restore-" + rand.Text()}
	if !p.Exists {
		req.Type, req.IdempotencyKey = neo4jadmin.ReqRestoreDatabase, ""
	}
	start := r.clock().Now()
	if _, err := sendOK(ctx, r.Admin, req); err != nil {
		return nil, fmt.Errorf("restoring %s from %s: %w", p.Database, p.SeedURI, err)
	}
	copies, err := r.wait(ctx, p, start, timeout)
	if err != nil {
		return nil, err
	}
	return &RestoreResult{RestorePlan: p, Started: start.UTC(), DurationSeconds: r.clock().Now().Sub(start).Seconds(), Restored: copies}, nil
}

// restoreState is what one status says of the restored database.
type restoreState struct {
	copies    []RestoreCopy
	online    int      // copies online and started since the restore
	want      int      // copies the database asks for
	notOnline []string // server: status, for the progress line and a timeout
	down      bool     // some copy is not online (the recreate has reached it)
	writer    bool
}

func (s restoreState) done() bool { return s.online >= s.want && s.writer && len(s.notOnline) == 0 }

// state reads the database off a status. A copy counts once it is online and started again
// since the restore: its lastStartTime changed, or, from a function that does not tell it,
// once some copy was seen not online (right after the recreate, a copy may still say online
// until its server gets to it).
func (p *RestorePlan) state(st *neo4jadmin.Status, sawDown bool) restoreState {
	names := serverNames(st)
	var s restoreState
	rows, requested := 0, -1
	for _, d := range st.Databases {
		if d.Name != p.Database {
			continue
		}
		rows++
		if d.RequestedPrimaries != nil && d.RequestedSecondaries != nil {
			requested = int(*d.RequestedPrimaries + *d.RequestedSecondaries)
		}
		label := serverLabel(names, d)
		c := RestoreCopy{Server: label, Role: d.Role, Status: d.CurrentStatus, Message: d.StatusMessage, Writer: d.Writer}
		s.copies = append(s.copies, c)
		online := strings.EqualFold(d.CurrentStatus, "online")
		restarted := sawDown
		if d.LastStartTime != "" {
			restarted = d.LastStartTime != p.before[d.ServerID]
		}
		switch {
		case !online:
			s.down = true
			s.notOnline = append(s.notOnline, strings.TrimSpace(label+": "+d.CurrentStatus+" "+d.StatusMessage))
		case !restarted:
			s.notOnline = append(s.notOnline, label+": not restarted yet")
		default:
			s.online++
			s.writer = s.writer || d.Writer
		}
	}
	s.want = max(rows, requested)
	primariesFirst(s.copies)
	return s
}

// primariesFirst orders copies as people look for them: the primaries, then the secondaries.
func primariesFirst(c []RestoreCopy) {
	sort.SliceStable(c, func(i, j int) bool { return c[i].Role == "primary" && c[j].Role != "primary" })
}

// wait polls Neo4j until the database is back on every server that should host it, with a
// writer; each change is reported.
func (r *BackupRestore) wait(ctx context.Context, p *RestorePlan, start time.Time, timeout time.Duration) ([]RestoreCopy, error) {
	clock := r.clock()
	interval := r.PollInterval
	if interval <= 0 {
		interval = 5 * time.Second
	}
	sawDown, lastLine := false, ""
	var last restoreState
	var lastErr error
	for {
		resp, err := sendOK(ctx, r.Admin, neo4jadmin.Request{Type: neo4jadmin.ReqStatus})
		switch {
		case err == nil:
			last, lastErr = p.state(resp.Status, sawDown), nil
			sawDown = sawDown || last.down
			ev := RestoreProgress{Database: p.Database, Online: last.online, Want: last.want, NotOnline: last.notOnline, ElapsedTime: clock.Now().Sub(start)}
			if line := fmt.Sprint(ev.Online, ev.Want, ev.NotOnline); line != lastLine {
				lastLine = line
				r.emit(ev)
			}
			if last.done() {
				return last.copies, nil
			}
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case permanent(err):
			return nil, fmt.Errorf("database %s is being restored, but Neo4j's status cannot be read: %w; watch it with `neo4jctl get cluster %s`", p.Database, err, p.Cluster)
		default:
			lastErr = err
		}
		if clock.Now().Sub(start) >= timeout {
			return nil, &RestoreTimeoutError{Cluster: p.Cluster, Database: p.Database, After: timeout, NotOnline: last.notOnline, LastErr: lastErr}
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-clock.After(interval):
		}
	}
}

// serverNames maps server ids to their host (core-2.<namespace>), from SHOW SERVERS.
func serverNames(st *neo4jadmin.Status) map[string]string {
	out := map[string]string{}
	for _, s := range st.Servers {
		host, _, _ := strings.Cut(s.Address, ":")
		out[s.ID] = host
	}
	return out
}

// serverLabel names the server of a database copy: its host, else its id.
func serverLabel(names map[string]string, d neo4jadmin.Database) string {
	if host, _, _ := strings.Cut(d.Address, ":"); host != "" {
		return host
	}
	if n := names[d.ServerID]; n != "" {
		return n
	}
	return d.ServerID
}
