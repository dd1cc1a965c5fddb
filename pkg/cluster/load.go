package cluster

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// Overrides are values from the command line that the file may leave out.
type Overrides struct {
	Region string // --region / AWS_REGION, used only when metadata.region is empty
}

// Load is LoadContext without a way to cancel it.
func Load(path string, o Overrides) (*File, error) {
	return LoadContext(context.Background(), path, o)
}

// LoadContext reads, decodes, defaults and validates the cluster.yaml at path: the entry
// point the CLI uses. The returned error is an ErrorList when the file is at fault (exit 2);
// ctx ends a read that waits (a FIFO, a slow disk) and the load between its steps.
func LoadContext(ctx context.Context, path string, o Overrides) (*File, error) {
	data, err := readFile(ctx, path)
	if err != nil {
		return nil, err
	}
	return loadData(ctx, data, path, o)
}

// Read is LoadContext for a config read from r, such as standard input for `-f -`; name
// stands for the file in messages (e.g. "<stdin>"). At most MaxConfigBytes are read.
func Read(ctx context.Context, r io.Reader, name string, o Overrides) (*File, error) {
	data, err := readAll(ctx, r, name)
	if err != nil {
		return nil, err
	}
	return loadData(ctx, data, name, o)
}

func loadData(ctx context.Context, data []byte, name string, o Overrides) (*File, error) {
	f, err := decodeNamed(data, name)
	if cerr := ctx.Err(); cerr != nil {
		return nil, fmt.Errorf("loading %s: %w", name, cerr)
	}
	decodeErrs, partial := err.(ErrorList)
	if err != nil && (!partial || f == nil) {
		return nil, err
	}
	if f.Config.Metadata.Region == "" {
		f.Config.Metadata.Region = o.Region
	}
	// Validate even after decoding problems, so that one run reports everything.
	SetDefaults(f.Config)
	all := append(ErrorList{}, decodeErrs...)
	if verr, ok := Validate(f.Config, f).(ErrorList); ok {
		reported := map[string]bool{}
		for _, e := range decodeErrs {
			reported[e.Path] = true
		}
		for _, e := range verr {
			if !reported[e.Path] {
				all = append(all, e)
			}
		}
	}
	if len(all) > 0 {
		sort.SliceStable(all, func(i, j int) bool { return all[i].Line < all[j].Line })
		return nil, all
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("loading %s: %w", name, err)
	}
	return f, nil
}

// readFile reads at most MaxConfigBytes of path; a regular file that is larger is refused
// from its size alone, before anything is read.
func readFile(ctx context.Context, path string) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading cluster config: %w", err)
	}
	defer fh.Close()
	if st, err := fh.Stat(); err == nil && st.Mode().IsRegular() && st.Size() > MaxConfigBytes {
		return nil, named(ErrorList{tooBig(st.Size())}, path)
	} else if err == nil && st.IsDir() {
		return nil, fmt.Errorf("reading cluster config: %s is a directory; -f takes the cluster.yaml file", path)
	}
	return readAll(ctx, fh, path)
}

// readAll reads r up to one byte past the limit, or until ctx ends. A read that blocks
// (a terminal, a pipe nobody writes) is left behind on cancel: the caller is exiting.
func readAll(ctx context.Context, r io.Reader, name string) ([]byte, error) {
	type result struct {
		data []byte
		err  error
	}
	done := make(chan result, 1)
	go func() {
		b, err := io.ReadAll(io.LimitReader(r, MaxConfigBytes+1))
		done <- result{b, err}
	}()
	select {
	case <-ctx.Done():
		return nil, fmt.Errorf("reading %s: %w", name, ctx.Err())
	case res := <-done:
		switch {
		case res.err != nil:
			return nil, fmt.Errorf("reading cluster config %s: %w", name, res.err)
		case len(res.data) > MaxConfigBytes:
			return nil, named(ErrorList{tooBig(-1)}, name)
		}
		return res.data, nil
	}
}

func named(l ErrorList, name string) ErrorList {
	l.setFile(name)
	return l
}

// zeroMeaningful are the int fields where a written 0 means something; elsewhere 0 would be
// silently replaced by the default, so it is refused instead.
var zeroMeaningful = map[string]bool{"replicas.count": true}

func explicitZeros(f *File) ErrorList {
	var out ErrorList
	for _, p := range f.zeros {
		if !zeroMeaningful[p] {
			out = append(out, FieldError{Path: p, Line: f.Line(p), Message: "0 is not a valid value", Fix: "remove the key to get the default, or give a positive number"})
		}
	}
	return out
}

// Member is one core member: its ordinal, DNS name and the subnet slot it lives in.
type Member struct {
	Index       int    `json:"index"`       // 1-based, stable for the member's life
	Name        string `json:"name"`        // core-N
	DNSName     string `json:"dnsName"`     // core-N.<namespace>
	SubnetIndex int    `json:"subnetIndex"` // index into the subnets (or created AZs)
	Subnet      string `json:"subnet,omitempty"`
}

// Members spreads the cores round-robin over the subnets, so 5 cores in 3 AZs work and
// losing one AZ never takes a majority.
func (c *ClusterConfig) Members() []Member {
	if c.Cores.Count < 1 || c.Cores.Count > 7 {
		return nil // not a valid config; Validate says why
	}
	slots := c.SubnetSlots()
	out := make([]Member, c.Cores.Count)
	for i := range out {
		name := fmt.Sprintf("%s-%d", c.Network.Subdomains.Cores, i+1)
		out[i] = Member{Index: i + 1, Name: name, DNSName: name + "." + c.Namespace(), SubnetIndex: i % slots}
		if !c.CreatesVPC() && i%slots < len(c.Network.Subnets) {
			out[i].Subnet = c.Network.Subnets[i%slots]
		}
	}
	return out
}

// SubnetSlots is how many subnets the members are spread over.
func (c *ClusterConfig) SubnetSlots() int {
	if c.Network.VPCID != "" && len(c.Network.Subnets) > 0 {
		return len(c.Network.Subnets)
	}
	return max(1, c.Network.AZCount)
}

// Namespace is the Cloud Map namespace name (empty when an existing namespace id is used and
// its name is not known offline).
func (c *ClusterConfig) Namespace() string { return c.Network.Namespace }

// CreatesVPC is true when neo4jctl makes the VPC.
func (c *ClusterConfig) CreatesVPC() bool { return c.Network.VPCID == "" }

// ParsedVersion is the Neo4j version of a validated config.
func (c *ClusterConfig) ParsedVersion() Version {
	v, _ := ParseVersion(c.Neo4j.Version)
	return v
}

// BackupsEnabled is true unless backups were switched off.
func (c *ClusterConfig) BackupsEnabled() bool { return c.Backup.Enabled == nil || *c.Backup.Enabled }

// ReplicaCount is the number of secondaries (0 without a replicas section).
func (c *ClusterConfig) ReplicaCount() int {
	if c.Replicas == nil {
		return 0
	}
	return c.Replicas.Count
}

// StackPrefix starts every stack name of the cluster.
func (c *ClusterConfig) StackPrefix() string { return "neo4jctl-" + c.Metadata.Name }

// Arch is the CPU architecture of the core instances.
func (c *ClusterConfig) Arch() string { return InstanceArch(c.Cores.InstanceType) }

// MemberNameOK reports whether s names a core member of this cluster (core-N).
func (c *ClusterConfig) MemberNameOK(s string) bool {
	for _, m := range c.Members() {
		if strings.EqualFold(m.Name, s) {
			return true
		}
	}
	return false
}
