package main

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/neo4jctl/neo4jctl/internal/clustersim"
)

// coreServers are the core members Neo4j lists and what each leads.
func coreServers(sim *clustersim.Sim) map[string][]string {
	out := map[string][]string{}
	for _, sv := range sim.View().Servers {
		if sv.Listed && strings.HasPrefix(sv.Member, "core-") && sv.State != "Dropped" {
			out[sv.Member] = sv.Leads
		}
	}
	return out
}

// 3 -> 5 -> 3 cores: new member stacks whose servers join, are enabled and get copies; then
// the two highest members leave (one of them leading databases) through cordon, hand-over,
// topology, dry-run and real deallocation and drop, their stacks deleted and volumes kept
// and named; the remaining members roll once for their discovery endpoints, quorum kept;
// the stored config follows, and update -f with the old count is refused.
func TestScaleCoresOutAndIn(t *testing.T) {
	a, s, file := formedProduction(t, twoDatabases(3, 2))
	s.cores = 5

	code, stdout, stderr := a.cli("", "scale", "cores", "graph-prod", "--count", "5", "--dry-run")
	if code != 0 {
		t.Fatalf("dry run: exit %d\n%s", code, stderr)
	}
	mustContain(t, "dry run", stdout, "Scale the cores of graph-prod from 3 to 5:", "  + core-4: a new member stack", "  + core-5:")
	code, _, stderr = a.cli("", "scale", "cores", "graph-prod", "--count", "5", "--yes")
	if code != 0 {
		t.Fatalf("scale out: exit %d\n%s", code, stderr)
	}
	mustContain(t, "scale out", stderr, "core-4, core-5: join gate passed", "Rolling replicas, core-", "Done: cluster graph-prod has 5 cores.")
	servers := coreServers(s.sim)
	if len(servers) != 5 {
		t.Fatalf("after scale-out Neo4j lists %v", servers)
	}
	for _, d := range s.sim.View().Databases {
		if (d.Name == "neo4j" || d.Name == "system") && d.Voters != 5 {
			t.Errorf("%s has %d primaries after scale-out, want 5", d.Name, d.Voters)
		}
	}
	s.quorumKept(t)
	if r := s.restarted(); r["core-1"] != 1 || r["core-2"] != 1 || r["core-3"] != 1 || r["core-4"] != 0 {
		t.Errorf("restarts after scale-out %v: each old core once (its discovery endpoints), the new ones not", r)
	}
	s.sim.ResetStats()
	code, _, stderr = a.cli("", "update", "cluster", "-f", file, "--yes")
	if code != exitUsage {
		t.Fatalf("update with the old count: exit %d\n%s", code, stderr)
	}
	mustContain(t, "update with the old count", stderr, "cores.count (", "the file says 3; `neo4jctl scale cores` set 5")
	if len(coreServers(s.sim)) != 5 || len(s.restarted()) != 0 {
		t.Fatalf("the refused update changed the cluster: %v, restarts %v", coreServers(s.sim), s.restarted())
	}

	code, stdout, stderr = a.cli("", "scale", "cores", "graph-prod", "--count", "3", "--dry-run")
	if code != 0 {
		t.Fatalf("dry run in: exit %d\n%s", code, stderr)
	}
	leads := coreServers(s.sim)
	if len(leads["core-5"]) == 0 {
		t.Fatalf("core-5 leads nothing before the scale-in (%v): the test wants a leaving leader", leads)
	}
	mustContain(t, "dry run in", stdout, "  - core-5 (leads "+strings.Join(leads["core-5"], ", ")+"): cordoned, leaderships handed over",
		"database neo4j: 5 primaries to 4", "  - core-4")
	code, _, stderr = a.cli("", "scale", "cores", "graph-prod", "--count", "3", "--yes")
	if code != 0 {
		t.Fatalf("scale in: exit %d\n%s", code, stderr)
	}
	mustContain(t, "scale in", stderr, "core-5: leadership of "+leads["core-5"][0]+" to ", "core-5: deallocation moves", "core-5: dropped: its stack can go now",
		"core-4: dropped", "neo4jctl-graph-prod-core-5 DELETE_COMPLETE", "Done: cluster graph-prod has 3 cores.")
	for _, db := range append([]string{"shop", "ledger"}, leads["core-5"]...) {
		if w := s.sim.Stats().WriteUnavailable[db]; w != 0 {
			t.Errorf("%s without a writer for %s during the scale-in", db, w)
		}
	}
	servers = coreServers(s.sim)
	if len(servers) != 3 || servers["core-4"] != nil || servers["core-5"] != nil {
		t.Errorf("after scale-in Neo4j lists %v", servers)
	}
	s.quorumKept(t)
	stacks := a.stacks("graph-prod")
	if _, ok := stacks["neo4jctl-graph-prod-core-5"]; ok {
		t.Errorf("core-5's stack is still there: %v", stacks)
	}
	vols, err := ec2.NewFromConfig(a.cfg).DescribeVolumes(context.Background(), &ec2.DescribeVolumesInput{})
	if err != nil {
		t.Fatal(err)
	}
	keptVolumes := map[string]bool{}
	for _, v := range vols.Volumes {
		if strings.Contains(stderr, aws.ToString(v.VolumeId)+" is kept") {
			keptVolumes[aws.ToString(v.VolumeId)] = true
		}
	}
	if len(keptVolumes) != 2 {
		t.Errorf("%d removed members' volumes named and still there, want 2", len(keptVolumes))
	}
	if v := a.lastApplied("graph-prod")["config"].(map[string]any)["cores"].(map[string]any)["count"]; v != 3.0 {
		t.Errorf("recorded cores.count %v", v)
	}

	// update -f with a file whose count changed runs the same flow; the new core-4 and
	// core-5 get new volumes (their old servers were dropped: the kept volumes cannot serve
	// again), which the simulator is told
	for _, m := range []string{"core-4", "core-5"} {
		if err := s.sim.NewVolume(m); err != nil {
			t.Fatal(err)
		}
	}
	five := writeConfig(t, strings.Replace(readFile(t, file), "count: 3", "count: 5", 1))
	s.sim.ResetStats()
	code, _, stderr = a.cli("", "update", "cluster", "-f", five, "--yes")
	if code != 0 {
		t.Fatalf("update to 5 cores: exit %d\n%s", code, stderr)
	}
	mustContain(t, "update to 5 cores", stderr, "Scale the cores of graph-prod from 3 to 5:", "core-4, core-5: join gate passed",
		"Cluster graph-prod has 5 cores; now the rest of "+five)
	if servers := coreServers(s.sim); len(servers) != 5 {
		t.Errorf("after update to 5 Neo4j lists %v", servers)
	}
	s.quorumKept(t)
	if v := a.lastApplied("graph-prod")["config"].(map[string]any)["cores"].(map[string]any)["count"]; v != 5.0 {
		t.Errorf("recorded cores.count %v after the update", v)
	}
	for _, m := range []string{"core-4", "core-5"} {
		if v := a.stackOutputs("neo4jctl-graph-prod-" + m)["VolumeID"]; v == "" || keptVolumes[v] {
			t.Errorf("%s's new stack has volume %q (kept: %v)", m, v, keptVolumes)
		}
	}
}

// stackOutputs are a stack's outputs.
func (a *motoAccount) stackOutputs(name string) map[string]string {
	a.t.Helper()
	out, err := cloudformation.NewFromConfig(a.cfg).DescribeStacks(context.Background(), &cloudformation.DescribeStacksInput{StackName: aws.String(name)})
	if err != nil {
		a.t.Fatal(err)
	}
	got := map[string]string{}
	for _, o := range out.Stacks[0].Outputs {
		got[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
	}
	return got
}
