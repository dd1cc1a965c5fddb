package agent

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/neo4jadmin"
)

// Services reads the desired count of an ECS service: the replicas service, whose desired
// count the secondaries follow. exists is false for a service that is missing or being
// deleted.
type Services interface {
	DesiredCount(ctx context.Context, cluster, service string) (count int, exists bool, err error)
}

// ECSAPI is the part of the ECS client the agent uses.
type ECSAPI interface {
	DescribeServices(ctx context.Context, in *ecs.DescribeServicesInput, opts ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error)
}

// ECSServices is Services over ECS (the task role may describe the replicas service only).
type ECSServices struct{ ECS ECSAPI }

func (e ECSServices) DesiredCount(ctx context.Context, cluster, service string) (int, bool, error) {
	out, err := e.ECS.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{service}})
	if err != nil {
		return 0, false, err
	}
	for _, s := range out.Services {
		if aws.ToString(s.ServiceName) != service {
			continue
		}
		if aws.ToString(s.Status) != "ACTIVE" { // DRAINING or INACTIVE: being deleted or gone
			return 0, false, nil
		}
		return int(s.DesiredCount), true, nil
	}
	for _, f := range out.Failures {
		if aws.ToString(f.Reason) != "MISSING" {
			return 0, false, fmt.Errorf("describing ECS service %s: %s %s", service, aws.ToString(f.Reason), aws.ToString(f.Detail))
		}
	}
	return 0, false, nil // MISSING: no replicas stack
}

// SecondariesPlan is what ReconcileSecondaries decided.
type SecondariesPlan struct {
	Desired     int // the replicas service's desired count (0 without the service)
	Hosts       int // Enabled servers that may host a secondary next to the primaries
	Secondaries int // min(Desired, Hosts): what the defaults and the user databases get
}

// secondaryHosts counts the Enabled servers that can take a secondary of a database with
// primaries primaries: the servers whose mode constraint allows SECONDARY, but never more
// than those left over by the primaries (a server hosts a database once).
func secondaryHosts(servers []neo4jadmin.Server, primaries int) int {
	enabled, secondaryOK := 0, 0
	for _, s := range servers {
		if !strings.EqualFold(s.State, "Enabled") {
			continue
		}
		enabled++
		if !strings.EqualFold(s.ModeConstraint, "PRIMARY") {
			secondaryOK++
		}
	}
	return max(0, min(secondaryOK, enabled-primaries))
}

// ReconcileSecondaries makes the secondaries follow the replicas: S is the replicas
// service's desired count, capped at the servers that can host a secondary (ALTER DATABASE
// fails when the cluster lacks them; the count grows as replicas join). The default
// topology of new databases becomes <cores> primaries and S secondaries
// (dbms.setDefaultAllocationNumbers, which initial.dbms.default_secondaries_count only
// seeds at the first start), and every user database whose requested secondaries differ
// from S is altered (ALTER DATABASE ... SET TOPOLOGY, its requested primaries kept). The
// system database is never altered. Idempotent: nothing is written when all agree. It
// needs a formed cluster; errors are returned for the caller to retry.
func (w *Worker) ReconcileSecondaries(ctx context.Context, admin Admin) (SecondariesPlan, error) {
	var plan SecondariesPlan
	cores := w.Config.CoreCount
	if cores < 1 {
		return plan, fmt.Errorf("%s is not set: the core count is unknown", naming.EnvCoreCount)
	}
	if err := clusterFormed(ctx, admin, cores); err != nil {
		return plan, fmt.Errorf("waiting for the cluster to form: %w", err)
	}
	desired, _, err := w.Services.DesiredCount(ctx, w.Config.ECSCluster, naming.ReplicasService)
	if err != nil {
		return plan, fmt.Errorf("reading the desired count of ECS service %s: %w", naming.ReplicasService, err)
	}
	servers, err := admin.Servers(ctx)
	if err != nil {
		return plan, err
	}
	plan = SecondariesPlan{Desired: desired, Hosts: secondaryHosts(servers, cores)}
	plan.Secondaries = min(plan.Desired, plan.Hosts)
	s := plan.Secondaries

	var errs []error
	cur, err := admin.TopologyDefaults(ctx)
	switch {
	case err == nil && cur == neo4jadmin.Defaults{Primaries: cores, Secondaries: s}:
	case err != nil && !neo4jadmin.IsCode(err, neo4jadmin.CodeUnsupported):
		errs = append(errs, err)
	default: // different, or unreadable on this version: set (SetDefaultAllocation is idempotent)
		msg, err := admin.SetDefaultAllocation(ctx, cores, s)
		switch {
		case neo4jadmin.IsCode(err, neo4jadmin.CodeUnsupported):
			w.logf("secondaries: the default topology cannot be set on this Neo4j: %v", err)
		case err != nil:
			errs = append(errs, err)
		default:
			w.logf("secondaries: %s (replicas service wants %d, %d servers can host one)", msg, desired, plan.Hosts)
		}
	}

	dbs, err := admin.Databases(ctx)
	if err != nil {
		return plan, errors.Join(append(errs, err)...)
	}
	type topology struct{ primaries, secondaries *int64 }
	requested := map[string]topology{}
	var names []string
	for _, d := range dbs {
		if strings.EqualFold(d.Name, "system") || strings.EqualFold(d.Type, "system") || strings.EqualFold(d.Type, "composite") {
			continue
		}
		t, seen := requested[d.Name]
		if !seen {
			names = append(names, d.Name)
		}
		if t.secondaries == nil && d.RequestedSecondaries != nil {
			t = topology{d.RequestedPrimaries, d.RequestedSecondaries}
		}
		requested[d.Name] = t
	}
	sort.Strings(names)
	for _, name := range names {
		t := requested[name]
		if t.secondaries == nil || int(*t.secondaries) == s {
			continue // unknown (no such column on this version) or already right
		}
		primaries := cores
		if t.primaries != nil && *t.primaries >= 1 {
			primaries = int(*t.primaries) // a database's own primaries are not ours to change
		}
		msg, err := admin.SetTopology(ctx, name, primaries, s, 0)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		w.logf("secondaries: %s (was %d secondaries; replicas service wants %d, %d servers can host one)", msg, *t.secondaries, desired, plan.Hosts)
	}
	return plan, errors.Join(errs...)
}
