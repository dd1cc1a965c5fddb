package moto_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/neo4jctl/neo4jctl/internal/testbed"
	"github.com/neo4jctl/neo4jctl/pkg/cluster"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/stack"
)

var (
	subnetIDsRe = regexp.MustCompile(`--subnet-ids (\S+)`)
	ssmNameRe   = regexp.MustCompile(`--name (\S+)`)
)

// TestGeneratedDirectoryDeploysInItsOrder: a `generate templates` directory rendered offline
// (no AZs known) is deployed from its files alone, as deploy.json orders it: placeholders
// filled with the lookups it names (done here through the SDK), the agent bundle checked
// against its SHA-256 and uploaded where it says, each level's stacks created from their
// template, parameters and tags files. (cmd/neo4jctl runs deploy.sh itself with the AWS CLI.)
func TestGeneratedDirectoryDeploysInItsOrder(t *testing.T) {
	ctx := context.Background()
	f, err := cluster.Load("../../examples/production.yaml", cluster.Overrides{Region: "eu-west-1"})
	if err != nil {
		t.Fatal(err)
	}
	cfg := f.Config
	awsCfg, _ := testbed.SharedMoto(t).IsolatedConfig(ctx, cfg.Metadata.Region)
	ec2c := ec2.NewFromConfig(awsCfg)
	existingNetwork(t, ctx, ec2c, cfg) // the VPC the user has; its AZs stay unknown to Build

	bundle := []byte("PK\x05\x06" + strings.Repeat("\x00", 18)) // an empty zip stands in for the agent
	sum := sha256.Sum256(bundle)
	in := stack.Inputs{Neo4jctlVersion: "v0.0.0-test"}
	for _, arch := range naming.Archs {
		in.SetAgent(arch, hex.EncodeToString(sum[:]))
	}
	stacks, err := stack.Build(cfg, in)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := stack.WriteDir(stacks, dir); err != nil {
		t.Fatal(err)
	}
	var d stack.Deployment
	readJSON(t, filepath.Join(dir, stack.DeployManifest), &d)
	// one AZ per member, one AMI per stack that boots instances (the members and the replicas)
	if want := 2*len(cfg.Members()) + 1; d.Region != cfg.Metadata.Region || len(d.FillIn) != want {
		t.Fatalf("deploy.json: region %q, %d values to fill in (want %d)", d.Region, len(d.FillIn), want)
	}

	// what the user does before running it: each lookup, here through the SDK
	for _, fill := range d.FillIn {
		value := ""
		switch m := subnetIDsRe.FindStringSubmatch(fill.Lookup); {
		case fill.Parameter == stack.ParamImageID:
			name := ssmNameRe.FindStringSubmatch(fill.Lookup)
			if name == nil {
				t.Fatalf("no SSM parameter in the lookup %q", fill.Lookup)
			}
			out, err := ssm.NewFromConfig(awsCfg).GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name[1])})
			if err != nil {
				t.Fatal(err)
			}
			value = aws.ToString(out.Parameter.Value)
		case m != nil:
			out, err := ec2c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: []string{m[1]}})
			if err != nil {
				t.Fatal(err)
			}
			value = aws.ToString(out.Subnets[0].AvailabilityZone)
		default:
			t.Fatalf("no subnet in the lookup %q", fill.Lookup)
		}
		path := filepath.Join(dir, fill.File)
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		filled := strings.Replace(string(raw), `"`+fill.Placeholder+`"`, `"`+value+`"`, 1)
		if filled == string(raw) {
			t.Fatalf("%s has no %s", fill.File, fill.Placeholder)
		}
		if err := os.WriteFile(path, []byte(filled), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range d.Uploads {
		if u.SHA256 != hex.EncodeToString(sum[:]) {
			t.Fatalf("upload %s: SHA-256 %s, the bundle's is %x", u.File, u.SHA256, sum)
		}
		if err := os.WriteFile(filepath.Join(dir, u.File), bundle, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// the steps, from the files only
	cfn := cloudformation.NewFromConfig(awsCfg)
	s3c := s3.NewFromConfig(awsCfg, func(o *s3.Options) { o.UsePathStyle = true })
	outputs := map[string]map[string]string{}
	created := 0
	for i, level := range d.Levels {
		for _, u := range d.Uploads {
			if u.BeforeLevel != i {
				continue
			}
			body, err := os.ReadFile(filepath.Join(dir, u.File))
			if err != nil {
				t.Fatal(err)
			}
			bucket := outputs[u.BucketStack][u.BucketOutput]
			if bucket == "" {
				t.Fatalf("upload %s before level %d: stack %s (output %s) is not created yet", u.File, i, u.BucketStack, u.BucketOutput)
			}
			if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(u.Key), Body: strings.NewReader(string(body))}); err != nil {
				t.Fatal(err)
			}
		}
		for _, name := range level {
			st := stack.Stack{Name: name, Parameters: map[string]string{}, Tags: map[string]string{}}
			var err error
			if st.Template, err = os.ReadFile(filepath.Join(dir, name+".template.json")); err != nil {
				t.Fatal(err)
			}
			var params []struct{ ParameterKey, ParameterValue string }
			readJSON(t, filepath.Join(dir, name+".parameters.json"), &params)
			for _, p := range params {
				st.Parameters[p.ParameterKey] = p.ParameterValue
			}
			var tags []struct{ Key, Value string }
			readJSON(t, filepath.Join(dir, name+".tags.json"), &tags)
			for _, tg := range tags {
				st.Tags[tg.Key] = tg.Value
			}
			_, outputs[name] = createStack(t, ctx, cfn, st)
			created++
		}
	}
	if created != len(stacks) {
		t.Errorf("deployed %d stacks, the directory has %d", created, len(stacks))
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
