package moto_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	asgtypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/neo4jctl/neo4jctl/internal/testbed"
	"github.com/neo4jctl/neo4jctl/pkg/cluster"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/stack"
)

// The core member's user data fetches the agent with nothing but curl (SigV4 with the
// instance role's credentials), python3's zipfile and sha256sum, and reports a failure to
// CloudWatch Logs and Auto Scaling the same way. These tests run the user data's own
// functions, cut from the rendered template, with the real curl against moto (S3, CloudWatch
// Logs, Auto Scaling) and a fake instance metadata service (named as one: no real IMDS here).

// fakeIMDS answers IMDSv2 like an instance with a role: a token first, then metadata.
func fakeIMDS(t *testing.T, instance, region string) *httptest.Server {
	t.Helper()
	const token = "imds-token"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/latest/api/token" {
			if r.Method != http.MethodPut || r.Header.Get("X-aws-ec2-metadata-token-ttl-seconds") == "" {
				http.Error(w, "IMDSv2 token needs PUT with a TTL", http.StatusBadRequest)
				return
			}
			fmt.Fprint(w, token)
			return
		}
		if r.Header.Get("X-aws-ec2-metadata-token") != token {
			http.Error(w, "IMDSv2 only", http.StatusUnauthorized)
			return
		}
		switch strings.TrimPrefix(r.URL.Path, "/latest/meta-data/") {
		case "instance-id":
			fmt.Fprint(w, instance)
		case "placement/region":
			fmt.Fprint(w, region)
		case "iam/security-credentials/":
			fmt.Fprint(w, "neo4jctl-instance-role")
		case "iam/security-credentials/neo4jctl-instance-role":
			fmt.Fprint(w, "{\n  \"Code\" : \"Success\",\n  \"Type\" : \"AWS-HMAC\",\n  \"AccessKeyId\" : \"testing\",\n  \"SecretAccessKey\" : \"testing\",\n  \"Token\" : \"session-token\",\n  \"Expiration\" : \"2099-01-01T00:00:00Z\"\n}")
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// userDataOf renders a core member's user data with the given values for what CloudFormation
// resolves (imports, parameters, pseudo parameters).
func userDataOf(t *testing.T, st stack.Stack, values map[string]string) string {
	t.Helper()
	var tmpl struct {
		Resources map[string]struct {
			Properties struct {
				LaunchTemplateData struct {
					UserData map[string]any
				}
			}
		}
	}
	if err := json.Unmarshal(st.Template, &tmpl); err != nil {
		t.Fatal(err)
	}
	var render func(v any) string
	render = func(v any) string {
		switch x := v.(type) {
		case string:
			return x
		case map[string]any:
			switch {
			case x["Fn::Join"] != nil:
				var parts []string
				for _, p := range x["Fn::Join"].([]any)[1].([]any) {
					parts = append(parts, render(p))
				}
				return strings.Join(parts, x["Fn::Join"].([]any)[0].(string))
			case x["Fn::If"] != nil:
				return render(x["Fn::If"].([]any)[2])
			case x["Fn::ImportValue"] != nil:
				name := x["Fn::ImportValue"].(string)
				return values[name[strings.LastIndex(name, ":")+1:]]
			case x["Ref"] != nil:
				if v, ok := values[x["Ref"].(string)]; ok {
					return v
				}
				return st.Parameters[x["Ref"].(string)]
			}
		}
		t.Fatalf("user data: cannot render %v", v)
		return ""
	}
	return render(tmpl.Resources["LaunchTemplate"].Properties.LaunchTemplateData.UserData["Fn::Base64"])
}

// bootFunctions cuts the host boot functions out of the user data.
func bootFunctions(t *testing.T, script string) string {
	t.Helper()
	start := strings.Index(script, "# --- neo4jctl host boot functions")
	end := strings.Index(script, "# --- end of the host boot functions ---")
	if start < 0 || end < start {
		t.Fatalf("no host boot functions in the user data:\n%s", script)
	}
	return script[start:end]
}

// agentZip is a bundle like cmd/build-agent's: one entry, bootstrap.
func agentZip(t *testing.T, content string) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "bootstrap", Method: zip.Deflate})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte(content)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(buf.Bytes())
	return buf.Bytes(), hex.EncodeToString(sum[:])
}

func TestHostBootFetchesTheAgentAndReportsFailures(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "python3", "sha256sum"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed (the ECS-optimized AMI has it): %v", tool, err)
		}
	}
	ctx := context.Background()
	const region = "eu-west-1"
	moto := testbed.SharedMoto(t)
	awsCfg := moto.AWSConfig(ctx, region) // the default account: curl sends no account header
	suffix := strings.ToLower(testbed.NewAccountID())
	name := "hb" + suffix[:6]

	// the member's group and instance, the cluster's bucket and log group
	ec2c, asg := ec2.NewFromConfig(awsCfg), autoscaling.NewFromConfig(awsCfg)
	images, err := ec2c.DescribeImages(ctx, &ec2.DescribeImagesInput{})
	if err != nil || len(images.Images) == 0 {
		t.Fatalf("DescribeImages: %v", err)
	}
	lt, err := ec2c.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String(name),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: images.Images[0].ImageId}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := asg.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{AutoScalingGroupName: aws.String(name),
		MinSize: aws.Int32(1), MaxSize: aws.Int32(1), DesiredCapacity: aws.Int32(1), AvailabilityZones: []string{region + "a"},
		LaunchTemplate: &asgtypes.LaunchTemplateSpecification{LaunchTemplateId: lt.LaunchTemplate.LaunchTemplateId}}); err != nil {
		t.Fatal(err)
	}
	groups, err := asg.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{name}})
	if err != nil || len(groups.AutoScalingGroups[0].Instances) != 1 {
		t.Fatalf("the group's instance: %v", err)
	}
	instance := aws.ToString(groups.AutoScalingGroups[0].Instances[0].InstanceId)
	s3c := s3.NewFromConfig(awsCfg, func(o *s3.Options) { o.UsePathStyle = true })
	bucket := name + "-bucket"
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket),
		CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(region)}}); err != nil {
		t.Fatal(err)
	}
	logs := cloudwatchlogs.NewFromConfig(awsCfg)
	logGroup := "/neo4jctl/" + name
	if _, err := logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(logGroup)}); err != nil {
		t.Fatal(err)
	}

	// the user data of member core-1 of a cluster whose agent bundle is zip
	zipBody, sum := agentZip(t, "#!/bin/sh\necho agent\n")
	cfg, err := cluster.Load("../../examples/production.yaml", cluster.Overrides{Region: region})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Config.Metadata.Name = name
	in := stack.Inputs{SubnetAZs: map[string]string{}}
	for _, arch := range naming.Archs {
		in.SetAgent(arch, sum)
	}
	stacks, err := stack.Build(cfg.Config, in)
	if err != nil {
		t.Fatal(err)
	}
	var core stack.Stack
	for _, st := range stacks {
		if st.Kind == naming.KindCore && st.Member == 1 {
			core = st
		}
	}
	key := naming.AgentKey(cfg.Config.Arch(), sum)
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(zipBody)}); err != nil {
		t.Fatal(err)
	}
	script := userDataOf(t, core, map[string]string{stack.OutputBucketName: bucket, stack.OutputLogGroup: logGroup, "AWS::URLSuffix": "amazonaws.com", "DataVolume": "vol-0123456789abcdef0"})
	for _, bad := range []string{"dnf ", "yum ", "aws ec2", "awscli"} {
		if strings.Contains(script, bad) {
			t.Errorf("the user data installs or calls %q", bad)
		}
	}
	functions := bootFunctions(t, script)
	imds := fakeIMDS(t, instance, region)

	run := func(t *testing.T, body string) (string, error) {
		t.Helper()
		dir := t.TempDir()
		lib := filepath.Join(dir, "boot.sh")
		if err := os.WriteFile(lib, []byte(functions), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("bash", "-c", "set -uo pipefail\n. "+lib+"\n"+body)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "NEO4JCTL_IMDS="+imds.URL, "NEO4JCTL_AWS_ENDPOINT="+moto.Endpoint(), "NEO4JCTL_RETRY_SECONDS=0")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	vars := func(sha string) string {
		// the assignments the user data makes before it calls the functions
		var lines []string
		for _, l := range strings.Split(script, "\n") {
			for _, v := range []string{"CLUSTER=", "MEMBER=", "BUCKET=", "AGENT_KEY=", "AGENT_SHA256=", "LOG_GROUP=", "BOOT_STREAM=", "URL_SUFFIX="} {
				if strings.HasPrefix(l, v) {
					lines = append(lines, l)
				}
			}
		}
		if sha != "" {
			lines = append(lines, "AGENT_SHA256="+sha)
		}
		return strings.Join(lines, "\n") + "\n"
	}

	t.Run("fetch, check, unpack", func(t *testing.T) {
		out, err := run(t, vars("")+`host_identity || exit 3
fetch_agent "$PWD/agent" || { echo "$BOOT_ERROR"; exit 4; }
test -x agent/bootstrap && agent/bootstrap`)
		if err != nil || !strings.Contains(out, "agent") {
			t.Fatalf("%v:\n%s", err, out)
		}
	})

	t.Run("wrong SHA-256: unhealthy, and why in the boot log", func(t *testing.T) {
		out, err := run(t, vars(strings.Repeat("0", 64))+`host_identity || exit 3
fetch_agent "$PWD/agent" || boot_failed "$BOOT_ERROR"
echo "not reached"`)
		if err == nil || strings.Contains(out, "not reached") {
			t.Fatalf("the script went on after a bad agent:\n%s", out)
		}
		if !strings.Contains(out, "is not the agent with SHA-256") {
			t.Errorf("no word on the mismatch:\n%s", out)
		}
		h, err := asg.DescribeAutoScalingInstances(ctx, &autoscaling.DescribeAutoScalingInstancesInput{InstanceIds: []string{instance}})
		if err != nil || len(h.AutoScalingInstances) != 1 || !strings.EqualFold(aws.ToString(h.AutoScalingInstances[0].HealthStatus), "unhealthy") {
			t.Errorf("instance %s not marked unhealthy: %v %+v", instance, err, h)
		}
		ev, err := logs.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String(logGroup), LogStreamName: aws.String(naming.LogStreamBoot("core-1"))})
		if err != nil || len(ev.Events) != 1 || !strings.Contains(aws.ToString(ev.Events[0].Message), "could not download the agent s3://"+bucket+"/") {
			t.Fatalf("boot log stream %s: %v %+v", naming.LogStreamBoot("core-1"), err, ev)
		}
		if msg := aws.ToString(ev.Events[0].Message); !strings.HasPrefix(msg, instance+" core-1: FAILED: ") {
			t.Errorf("boot log line %q does not name the instance and member", msg)
		}
	})
}
