package ops

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/neo4jctl/neo4jctl/pkg/awsapi"
	"github.com/neo4jctl/neo4jctl/pkg/netcheck"
)

// precheckFor is the pre-check of examples/production.yaml (an existing VPC) against a
// network set up by setup.
func precheckFor(t *testing.T, setup func(ec2 *fakeEC2, vpc string, subnets []string)) (*Environment, *recorder, error) {
	cfg := loadExample(t, "production.yaml")
	ec2 := newFakeEC2()
	setup(ec2, cfg.Network.VPCID, cfg.Network.Subnets)
	events := &recorder{}
	c := &Cluster{Name: cfg.Metadata.Name, Region: "eu-west-1", Events: events}
	pc := Precheck{STS: &fakeSTS{account: "111122223333"}, EC2: ec2, ECR: &fakeECR{images: map[string]bool{defaultImage(cfg): true}}, SSM: &fakeSSM{}}
	_, sum, _ := fakeBundle("amd64")
	env, err := c.precheck(context.Background(), pc, cfg, sum)
	return env, events, err
}

func TestPrecheckMapsSubnetsToAZsAndWarnsWhenOneAZHoldsAMajority(t *testing.T) {
	env, events, err := precheckFor(t, func(ec2 *fakeEC2, vpc string, subnets []string) {
		ec2.vpcs[vpc] = true
		ec2.subnets[subnets[0]] = [2]string{vpc, "eu-west-1a"}
		ec2.subnets[subnets[1]] = [2]string{vpc, "eu-west-1a"} // two subnets, one AZ
		ec2.subnets[subnets[2]] = [2]string{vpc, "eu-west-1c"}
	})
	if err != nil {
		t.Fatal(err)
	}
	if env.Account != "111122223333" || env.SubnetAZs["subnet-0a1b2c3d4e5f60722"] != "eu-west-1a" || !strings.HasPrefix(env.Image, "111122223333.dkr.ecr.eu-west-1.amazonaws.com/neo4jctl/neo4j:5.26.30-enterprise-neo4jctl-") {
		t.Fatalf("environment %+v", env)
	}
	ev, ok := eventOf[QuorumAtRisk](events)
	if !ok || ev.AZ != "eu-west-1a" || ev.Members != 2 || !slices.Equal(ev.Subnets, []string{"subnet-0a1b2c3d4e5f60711", "subnet-0a1b2c3d4e5f60722"}) {
		t.Fatalf("warning %+v in %q", ev, events.lines())
	}
	if !strings.HasSuffix(ev.String(), "losing that AZ loses quorum; use subnets in more AZs") {
		t.Errorf("line: %s", ev)
	}
}

func TestPrecheckNamesTheNetworkField(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(ec2 *fakeEC2, vpc string, subnets []string)
		want  string
	}{
		{"no such VPC", func(*fakeEC2, string, []string) {}, "network check: network.vpcID vpc-0a1b2c3d4e5f60718: not found in eu-west-1 (InvalidVpcID.NotFound"},
		{"subnets missing or elsewhere", func(ec2 *fakeEC2, vpc string, subnets []string) {
			ec2.vpcs[vpc] = true
			ec2.subnets[subnets[0]] = [2]string{vpc, "eu-west-1a"}
			ec2.subnets[subnets[1]] = [2]string{"vpc-other", "eu-west-1b"}
		}, "network check: 2 problems:\n  - network.subnets[1] subnet-0a1b2c3d4e5f60722: belongs to vpc-other, not network.vpcID vpc-0a1b2c3d4e5f60718; fix: use subnets of vpc-0a1b2c3d4e5f60718 only\n  - network.subnets[2] subnet-0a1b2c3d4e5f60733: does not exist in eu-west-1; fix: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := precheckFor(t, tc.setup)
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("got %v\nwant %s", err, tc.want)
			}
		})
	}
}

// A network check that cannot tell (a default route through a transit gateway) warns and
// goes on; one that fails refuses (pkg/netcheck's own tests show which is which, on moto).
func TestPrecheckReportsNetworkWarningsAndGoesOn(t *testing.T) {
	env, events, err := precheckFor(t, func(ec2 *fakeEC2, vpc string, subnets []string) {
		ec2.vpcs[vpc] = true
		for i, s := range subnets {
			ec2.subnets[s] = [2]string{vpc, "eu-west-1" + string(rune('a'+i))}
		}
		ec2.route = &ec2types.Route{DestinationCidrBlock: aws.String("0.0.0.0/0"), TransitGatewayId: aws.String("tgw-0123"), State: ec2types.RouteStateActive}
	})
	if err != nil || len(env.SubnetAZs) != 3 {
		t.Fatalf("%v %+v", err, env)
	}
	ev, ok := eventOf[NetworkWarning](events)
	if !ok || ev.Code != netcheck.CodeEgress || !strings.HasPrefix(ev.String(), "Warning: network.subnets[0] subnet-0a1b2c3d4e5f60711: route table rtb-fake") ||
		!strings.Contains(ev.String(), "sends 0.0.0.0/0 to tgw-0123; neo4jctl cannot see past it") {
		t.Fatalf("warning %+v in %q", ev, events.lines())
	}
}

func TestPrecheckSaysHowToGetCredentials(t *testing.T) {
	cfg := loadExample(t, "minimal.yaml")
	c := &Cluster{Name: "graph-dev", Region: "eu-west-1"}
	_, err := c.precheck(context.Background(), Precheck{STS: &fakeSTS{err: errors.New("dial tcp: lookup sts.eu-west-1.amazonaws.com: no such host")}}, cfg, "")
	// a network failure is not a credentials problem: no credentials hint
	if err == nil || strings.Contains(err.Error(), CredentialsHint) || !strings.Contains(err.Error(), "no such host") {
		t.Fatalf("network failure: %v", err)
	}
	_, err = c.precheck(context.Background(), Precheck{STS: &fakeSTS{err: apiErr("RegionDisabledException", "STS is not activated in this region")}}, cfg, "")
	if err == nil || !strings.HasSuffix(err.Error(), "; "+CredentialsHint) {
		t.Fatalf("another STS refusal: %v", err)
	}
	_, err = c.precheck(context.Background(), Precheck{STS: &fakeSTS{err: apiErr("InvalidClientTokenId", "The security token included in the request is invalid")}}, cfg, "")
	var ce *awsapi.CredentialsError
	if !errors.As(err, &ce) || strings.Contains(err.Error(), CredentialsHint) {
		t.Fatalf("rejected credentials: %v (the command adds the hint once)", err)
	}
}
