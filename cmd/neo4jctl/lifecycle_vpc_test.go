package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/servicediscovery"

	"github.com/neo4jctl/neo4jctl/internal/testbed"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

// network makes a VPC ready for a cluster (testbed.NewNetwork: DNS on, private subnets behind
// a NAT gateway) with one private subnet per AZ given, in this account.
func (a *motoAccount) network(cidr string, azs ...string) (string, []string) {
	a.t.Helper()
	n := a.readyNetwork(cidr, azs...)
	return n.VPC, n.Subnets
}

func (a *motoAccount) readyNetwork(cidr string, azs ...string) *testbed.Network {
	a.t.Helper()
	n, err := testbed.NewNetwork(context.Background(), ec2.NewFromConfig(a.cfg), a.region, cidr, azs...)
	if err != nil {
		a.t.Fatal(err)
	}
	return n
}

// productionConfig is examples/production.yaml pointed at a network of this account.
func productionConfig(t testing.TB, vpc string, subnets []string) string {
	doc := readFile(t, "../../examples/production.yaml")
	doc = strings.Replace(doc, "vpc-0a1b2c3d4e5f60718", vpc, 1)
	for i, old := range []string{"subnet-0a1b2c3d4e5f60711", "subnet-0a1b2c3d4e5f60722", "subnet-0a1b2c3d4e5f60733"} {
		doc = strings.Replace(doc, old, subnets[i], 1)
	}
	return writeConfig(t, doc)
}

func TestLifecycleExistingVPC(t *testing.T) {
	a := newMotoAccount(t, "eu-west-1")
	ctx := context.Background()
	a.pushImage(naming.DefaultImageRepository, defaultImageTag("5.26.30"))
	rec := a.withFake() // nothing scripted: it records the change sets
	name := "graph-prod"
	vpc, subnets := a.network("10.30", "a", "b", "c")
	_, other := a.network("10.40", "a")

	// pre-checks: a subnet of another VPC, then two subnets in one AZ
	code, _, stderr := a.cli("", "create", "cluster", "-f", productionConfig(t, vpc, []string{subnets[0], subnets[1], other[0]}))
	if code != exitFailed {
		t.Fatalf("create with a foreign subnet: exit %d\n%s", code, stderr)
	}
	mustContain(t, "pre-check", stderr, fmt.Sprintf("network check: network.subnets[2] %s: belongs to", other[0]), "not network.vpcID "+vpc)

	file := productionConfig(t, vpc, subnets)
	code, stdout, stderr := a.cli("", "--quiet", "create", "cluster", "-f", file)
	if code != 0 || stdout != "" {
		t.Fatalf("create: exit %d, stdout %q\n%s", code, stdout, stderr)
	}
	mustContain(t, "create", stderr, "neo4jctl-graph-prod-replicas CREATE_COMPLETE", "Done: cluster graph-prod created")

	// effects: ECS services and desired counts, Cloud Map services
	ecsc := ecs.NewFromConfig(a.cfg)
	desired := func(svc string) int32 {
		out, err := ecsc.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(naming.ECSCluster(name)), Services: []string{svc}})
		if err != nil || len(out.Services) != 1 {
			t.Fatalf("DescribeServices %s: %v", svc, err)
		}
		return out.Services[0].DesiredCount
	}
	if d := desired("replicas"); d != 2 {
		t.Errorf("replicas desired %d, want 2", d)
	}
	if d := desired("core-2"); d != 1 {
		t.Errorf("core-2 desired %d, want 1", d)
	}

	code, stdout, _ = a.cli("", "get", "cluster", name, "-o", "json")
	var got struct {
		Members []struct {
			Name, AvailabilityZone string
		}
		Replicas struct{ Desired int }
	}
	if code != 0 || json.Unmarshal([]byte(stdout), &got) != nil {
		t.Fatalf("get -o json: exit %d\n%s", code, stdout)
	}
	if len(got.Members) != 3 || got.Members[2].AvailabilityZone != "eu-west-1c" || got.Replicas.Desired != 2 {
		t.Fatalf("get: %+v", got)
	}

	// replicas.count 2 -> 4 in cluster.yaml: the replicas' parameters follow. No --force:
	// nothing in a core stack follows replicas.count (the first core's worker moves the
	// secondaries topology after the replicas service), so no core stack is updated.
	scaledUp := strings.Replace(readFile(t, file), "  count: 2", "  count: 4", 1)
	executedBefore := len(rec.executed)
	code, stdout, stderr = a.cli("", "update", "cluster", "-f", writeConfig(t, scaledUp), "--yes")
	if code != 0 {
		t.Fatalf("update replicas.count: exit %d\n%s\n%s", code, stdout, stderr)
	}
	mustContain(t, "diff", stdout, "neo4jctl-graph-prod-replicas: changes", "  ~ DesiredCount 2 → 4", "  ~ InstanceCount 2 → 4",
		"neo4jctl-graph-prod-core-1: no changes", "neo4jctl-graph-prod-core-2: no changes", "neo4jctl-graph-prod-core-3: no changes")
	for _, s := range rec.executed[executedBefore:] {
		if strings.Contains(s, "-core-") {
			t.Errorf("a replicas.count change updated core stack %s", s)
		}
	}
	if strings.Contains(stderr, "Updating core member stacks") {
		t.Errorf("a replicas.count change rolled the cores:\n%s", stderr)
	}
	if d := desired("replicas"); d != 4 {
		t.Errorf("replicas.count 2 → 4: ECS desired %d, want 4", d)
	}

	// a count set by scale replicas survives an unrelated update of a file that agrees with it
	if code, _, stderr = a.cli("", "scale", "replicas", name, "--count", "3", "--yes", "--wait=false"); code != 0 {
		t.Fatalf("scale replicas: exit %d\n%s", code, stderr)
	}
	changed := strings.Replace(strings.Replace(scaledUp, "  count: 4", "  count: 3", 1), "threshold: 500ms", "threshold: 2s", 1)
	changedFile := writeConfig(t, changed)
	// a new task definition restarts every running member: refused without --force
	code, stdout, stderr = a.cli("", "update", "cluster", "-f", changedFile, "--yes")
	if code != exitFailed {
		t.Fatalf("update restarting running members: exit %d\n%s\n%s", code, stdout, stderr)
	}
	mustContain(t, "diff", stdout, "neo4jctl-graph-prod-shared: no changes", "neo4jctl-graph-prod-core-2: changes",
		"~ Modify  TaskDefinition (AWS::ECS::TaskDefinition)", "neo4jctl-graph-prod-replicas: changes")
	mustContain(t, "refusal", stderr, "update refused:", "core-1 is running and would restart: Modify TaskDefinition (new task definition: the service stops the task and starts a new one)",
		"core-2 is running and would restart", "core-3 is running and would restart", "Pass --force to apply it member by member")
	// moto runs no Neo4j: the gates could not pass, so ungated
	code, stdout, stderr = a.cli("", "update", "cluster", "-f", changedFile, "--yes", "--force", "--ungated")
	if code != 0 {
		t.Fatalf("update --force --ungated: exit %d\n%s\n%s", code, stdout, stderr)
	}
	mustContain(t, "update", stderr, "Updating core member stacks one at a time (neo4jctl-graph-prod-core-1, then neo4jctl-graph-prod-core-2, then neo4jctl-graph-prod-core-3)",
		"neo4jctl-graph-prod-core-1 UPDATE_COMPLETE", "neo4jctl-graph-prod-replicas UPDATE_COMPLETE", "Cluster graph-prod updated.")
	if strings.Contains(stdout, "desired") {
		t.Errorf("an unrelated update shows a desired count change:\n%s", stdout)
	}
	if d := desired("replicas"); d != 3 {
		t.Errorf("update reverted the replicas' desired count to %d, want the scaled 3", d)
	}
	// moto applies a parameter change without showing it, so check what update asked for
	n := len(rec.changeSets)
	for _, cs := range rec.changeSets[n-6:] {
		want := map[string]string{"neo4jctl-graph-prod-replicas": "3", "neo4jctl-graph-prod-core-1": "1", "neo4jctl-graph-prod-core-2": "1"}[aws.ToString(cs.StackName)]
		if want == "" {
			continue
		}
		got := ""
		for _, p := range cs.Parameters {
			if aws.ToString(p.ParameterKey) == "DesiredCount" {
				got = aws.ToString(p.ParameterValue)
			}
		}
		if got != want {
			t.Errorf("change set of %s passes DesiredCount %q, want %s", aws.ToString(cs.StackName), got, want)
		}
	}

	// delete: a Cloud Map instance registered outside CloudFormation (the DNS Lambda's) is
	// removed first; purge asks, names each volume and the bucket
	sd := servicediscovery.NewFromConfig(a.cfg)
	svcs, err := sd.ListServices(ctx, &servicediscovery.ListServicesInput{})
	if err != nil || len(svcs.Services) == 0 {
		t.Fatalf("ListServices: %v", err)
	}
	var coreSvc *string
	for _, s := range svcs.Services {
		if aws.ToString(s.Name) == "core" {
			coreSvc = s.Id
		}
	}
	if coreSvc == nil {
		t.Fatalf("no Cloud Map service core in %v", svcs.Services)
	}
	if _, err := sd.RegisterInstance(ctx, &servicediscovery.RegisterInstanceInput{ServiceId: coreSvc, InstanceId: aws.String("10.30.0.17"), Attributes: map[string]string{"AWS_INSTANCE_IPV4": "10.30.0.17"}}); err != nil {
		t.Fatalf("RegisterInstance: %v", err)
	}
	code, _, stderr = a.cli("", "delete", "cluster", name, "--purge-data")
	if code != exitUsage {
		t.Fatalf("delete --purge-data without a terminal: exit %d", code)
	}
	mustContain(t, "purge", stderr, "--purge-data also deletes, for good:", "(core-1 data)", "(every backup in it)", "pass --yes")
	yes := true
	a.hooks.stdinTTY = &yes
	code, _, stderr = a.cli("yes\n", "delete", "cluster", name, "--purge-data")
	if code != 0 {
		t.Fatalf("delete --purge-data: exit %d\n%s", code, stderr)
	}
	mustContain(t, "delete", stderr, "Delete? [y/N]", "Deregistered 1 Cloud Map instances registered outside CloudFormation",
		"Deleted volume vol-", "(core-3)", "Deleted bucket neo4jctl-graph-prod-shared-bucket", "Done: cluster graph-prod deleted.")
	if left := a.stacks(name); len(left) != 0 {
		t.Fatalf("stacks left: %v", left)
	}
	vols, _ := ec2.NewFromConfig(a.cfg).DescribeVolumes(ctx, &ec2.DescribeVolumesInput{})
	for _, v := range vols.Volumes {
		for _, tag := range v.Tags {
			if aws.ToString(tag.Key) == naming.TagCluster {
				t.Errorf("volume %s left after --purge-data", aws.ToString(v.VolumeId))
			}
		}
	}
	// the Cloud Map services went with their stacks (the namespace itself stays in moto: its
	// registered delete does not remove it, a test/moto matter)
	left, _ := sd.ListServices(ctx, &servicediscovery.ListServicesInput{})
	for _, s := range left.Services {
		t.Errorf("Cloud Map service %s left after delete", aws.ToString(s.Name))
	}
}
