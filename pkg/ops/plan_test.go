package ops

import (
	"context"
	"strings"
	"testing"

	"github.com/neo4jctl/neo4jctl/pkg/cluster"
)

func TestPlanListsStacksMembersAndNotes(t *testing.T) {
	p, err := NewPlan(loadExample(t, "minimal.yaml"), testRelease().OfflineInputs())
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Stacks) != 6 || p.Stacks[0].Kind != "vpc" || len(p.Members) != 3 || p.Endpoint != "neo4j://core.graph-dev.neo4j.internal:7687" {
		t.Fatalf("plan %+v", p)
	}
	if p.Members[2].Placement != "private subnet in AZ 3 of 3 (new VPC)" {
		t.Errorf("placement %q", p.Members[2].Placement)
	}
	text := p.Text()
	for _, want := range []string{"Plan for cluster graph-dev in eu-west-1:", "  neo4jctl-graph-dev-shared (shared) after neo4jctl-graph-dev-vpc",
		"Clients connect to neo4j://core.graph-dev.neo4j.internal:7687", "Note: network.clientAccess is empty"} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
}

func TestPlanNotesWhenOneSubnetHoldsAMajorityOfCores(t *testing.T) {
	doc := `apiVersion: neo4jctl.io/v1alpha1
kind: ClusterConfig
metadata: {name: five, region: eu-west-1}
neo4j: {acceptLicense: "yes"}
network: {vpcID: vpc-0a1b2c3d, subnets: [subnet-0a1b2c3d, subnet-0a1b2c3e]}
cores: {count: 5}
backup: {enabled: false}
`
	f, err := cluster.Read(context.Background(), strings.NewReader(doc), "cluster.yaml", cluster.Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPlan(f.Config, testRelease().OfflineInputs())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"5 cores over 2 subnets: losing the busiest subnet loses 3 members, a majority; add subnets in other AZs",
		"scheduled backups are off (backup.enabled: false)"}
	for _, w := range want {
		if !strings.Contains(strings.Join(p.Notes, "\n"), w) {
			t.Errorf("notes lack %q: %q", w, p.Notes)
		}
	}
	if p.Members[4].Placement != "subnet-0a1b2c3d (subnet 1 of 2)" {
		t.Errorf("core-5 placement %q", p.Members[4].Placement)
	}
}
