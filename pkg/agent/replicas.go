package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/neo4jctl/neo4jctl/pkg/neo4jadmin"
)

// clusterFormed checks that admin Cypher works and at least want servers (default 1) that
// may host primaries (replicas are SECONDARY-only) are Enabled and Available.
func clusterFormed(ctx context.Context, admin Admin, want int) error {
	if want < 1 {
		want = 1
	}
	if _, err := admin.Databases(ctx); err != nil {
		return err
	}
	servers, err := admin.Servers(ctx)
	if err != nil {
		return err
	}
	n := 0
	for _, s := range servers {
		if strings.EqualFold(s.State, "Enabled") && strings.EqualFold(s.Health, "Available") && !strings.EqualFold(s.ModeConstraint, "SECONDARY") {
			n++
		}
	}
	if n < want {
		return fmt.Errorf("%d of %d core servers Enabled and Available", n, want)
	}
	return nil
}

func hasDatabase(dbs []neo4jadmin.Database, name string) bool {
	for _, d := range dbs {
		if d.Name == name {
			return true
		}
	}
	return false
}

// deadRounds is how many checks in a row a replica must look dead before it is removed.
const deadRounds = 2

// ReapReplicas removes dead replicas from SHOW SERVERS: a server constrained to SECONDARY,
// not Available, whose address is not among replica.<namespace>'s live addresses, for
// deadRounds checks in a row, is deallocated and then dropped (a replica has no volume: its
// replacement joins as a new server). suspects carries the counts between checks.
func (w *Worker) ReapReplicas(ctx context.Context, admin Admin, suspects map[string]int) error {
	servers, err := admin.Servers(ctx)
	if err != nil {
		return err
	}
	live := map[string]bool{}
	if w.Config.Namespace != "" && w.LookupHost != nil {
		addrs, err := w.LookupHost(ctx, "replica."+w.Config.Namespace)
		var dnsErr *net.DNSError
		if err != nil && !(errors.As(err, &dnsErr) && dnsErr.IsNotFound) {
			return fmt.Errorf("resolving replica.%s: %w", w.Config.Namespace, err)
		}
		for _, a := range addrs {
			live[a] = true
		}
	}
	seen := map[string]bool{}
	var errs []error
	for _, s := range servers {
		host, _, err := net.SplitHostPort(s.Address)
		if err != nil {
			host = s.Address
		}
		dead := strings.EqualFold(s.ModeConstraint, "SECONDARY") && !strings.EqualFold(s.Health, "Available") &&
			!live[host] && !strings.EqualFold(s.State, "Dropped")
		if !dead {
			continue
		}
		seen[s.Name] = true
		suspects[s.Name]++
		if suspects[s.Name] < deadRounds {
			w.logf("replica server %s (%s) is %s and no longer in replica.%s; removing it if it stays so", s.Name, s.Address, s.Health, w.Config.Namespace)
			continue
		}
		if strings.EqualFold(s.State, "Enabled") || strings.EqualFold(s.State, "Cordoned") {
			msg, _, err := admin.DeallocateServer(ctx, s.Name, false)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			w.logf("dead replica: %s", msg)
		}
		msg, err := admin.DropServer(ctx, s.Name)
		if err != nil {
			errs = append(errs, err) // still deallocating: the next check drops it
			continue
		}
		w.logf("dead replica: %s", msg)
		delete(suspects, s.Name)
	}
	for name := range suspects {
		if !seen[name] {
			delete(suspects, name)
		}
	}
	return errors.Join(errs...)
}
