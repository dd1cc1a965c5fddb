package ops

import (
	"context"
	"reflect"
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

// TestPlanSaysWhatEncryptsInTransit: member traffic is encrypted by the instances' hardware
// only between types that do it; Neo4j's TLS is on only where neo4j.config turns it on.
func TestPlanSaysWhatEncryptsInTransit(t *testing.T) {
	minimal := loadExample(t, "minimal.yaml")
	tls := loadExample(t, "minimal.yaml")
	tls.Cores.InstanceType = "t4g.xlarge"
	tls.Neo4j.Config = map[string]string{"dbms.ssl.policy.cluster.enabled": "TRUE", "dbms.ssl.policy.bolt.enabled": "false"}
	for _, tc := range []struct {
		name string
		cfg  *cluster.ClusterConfig
		want cluster.TransitEncryption
		tls  PlanTLS
		text []string
		not  string
	}{
		{"production: a replica type that does not encrypt", loadExample(t, "production.yaml"),
			cluster.TransitEncryption{CoreToCore: true, Unencrypting: []string{"r6g.large"}}, PlanTLS{},
			[]string{"between members, by the instances' Nitro cards (in hardware): core to core yes, core to replica no, replica to replica no; not by r6g.large",
				"Neo4j TLS between members (dbms.ssl.policy.cluster): off\n", "Neo4j TLS for clients (dbms.ssl.policy.bolt): off\n"}, ""},
		{"no replicas", minimal, minimal.TransitEncryption(), PlanTLS{},
			[]string{"(in hardware): core to core yes\n"}, "replica"},
		{"Neo4j TLS between members", tls, cluster.TransitEncryption{Unencrypting: []string{"t4g.xlarge"}}, PlanTLS{Cluster: true},
			[]string{"core to core no; not by t4g.xlarge", "Neo4j TLS between members (dbms.ssl.policy.cluster): on (neo4j.config)", "(dbms.ssl.policy.bolt): off"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := NewPlan(tc.cfg, testRelease().OfflineInputs())
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(p.TransitEncryption, tc.want) || p.TLS != tc.tls {
				t.Errorf("transit %+v tls %+v, want %+v %+v", p.TransitEncryption, p.TLS, tc.want, tc.tls)
			}
			text := p.Text()
			_, enc, _ := strings.Cut(text, "Encryption in transit:\n")
			for _, w := range tc.text {
				if !strings.Contains(enc, w) {
					t.Errorf("text lacks %q:\n%s", w, text)
				}
			}
			if before, _, _ := strings.Cut(enc, "\n  Neo4j"); tc.not != "" && strings.Contains(before, tc.not) {
				t.Errorf("says %q of a cluster without it: %s", tc.not, before)
			}
		})
	}
}
