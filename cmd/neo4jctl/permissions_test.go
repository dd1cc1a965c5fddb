package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"

	"github.com/neo4jctl/neo4jctl/pkg/iampolicy"
)

// awsCall is one AWS API call of a CLI run: the IAM action it needs and, where neo4jctl
// names the resource (a stack, a bucket or object, a function, a log group), its ARN.
type awsCall struct{ service, operation, action, arn string }

// callRecorder records every AWS call of one CLI run (an aws.Config customization, as the
// test hooks apply them), whatever the command: a new verb is covered as soon as its tests
// run it through motoAccount.cli.
type callRecorder struct {
	account string
	mu      sync.Mutex
	calls   []awsCall
}

func (r *callRecorder) install(cfg *aws.Config) {
	region := cfg.Region
	cfg.APIOptions = append(cfg.APIOptions, func(st *middleware.Stack) error {
		return st.Initialize.Add(middleware.InitializeMiddlewareFunc("neo4jctl-test-permissions",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				svc, op := awsmiddleware.GetServiceID(ctx), awsmiddleware.GetOperationName(ctx)
				c := awsCall{service: svc, operation: op, action: iampolicy.Action(svc, op, in.Parameters), arn: requestARN(svc, in.Parameters, region, r.account)}
				r.mu.Lock()
				r.calls = append(r.calls, c)
				r.mu.Unlock()
				return next.HandleInitialize(ctx, in)
			}), middleware.After)
	})
}

// field is a string field of a request ("" when it has none).
func field(input any, name string) (string, bool) {
	v := reflect.ValueOf(input)
	if v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return "", false
	}
	f := v.FieldByName(name)
	if !f.IsValid() || f.Kind() != reflect.Pointer || f.IsNil() || f.Elem().Kind() != reflect.String {
		return "", false
	}
	return f.Elem().String(), true
}

// requestARN is the ARN of the resource a request names, for the services whose resources
// the policy narrows to neo4jctl's names; "" otherwise.
func requestARN(service string, input any, region, account string) string {
	arnOr := func(name, arn string) string {
		if strings.HasPrefix(name, "arn:") {
			return name
		}
		return arn
	}
	switch service {
	case "CloudFormation":
		if n, ok := field(input, "StackName"); ok {
			return arnOr(n, fmt.Sprintf("arn:aws:cloudformation:%s:%s:stack/%s/id", region, account, n))
		}
	case "S3":
		b, ok := field(input, "Bucket")
		if !ok {
			return ""
		}
		if k, ok := field(input, "Key"); ok {
			return "arn:aws:s3:::" + b + "/" + k
		}
		if reflect.TypeOf(input).Elem().Name() == "DeleteObjectsInput" {
			return "arn:aws:s3:::" + b + "/*" // the objects it names
		}
		return "arn:aws:s3:::" + b
	case "Lambda":
		if n, ok := field(input, "FunctionName"); ok {
			return arnOr(n, fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", region, account, n))
		}
	case "CloudWatch Logs":
		if n, ok := field(input, "LogGroupName"); ok {
			return fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s:*", region, account, n)
		}
	}
	return ""
}

// commandOf is the command a CLI run's arguments name, e.g. "create cluster".
func commandOf(args []string) string {
	c, _, err := newRootCommand(&globals{}).Find(args)
	if err != nil {
		return ""
	}
	return strings.TrimPrefix(c.CommandPath(), "neo4jctl ")
}

// checkPermissions fails the test when a run made an AWS call that the policies of its
// command (`neo4jctl utils iam-policy COMMAND`) do not grant, on the resource it named.
// NEO4JCTL_RECORD_ACTIONS=FILE appends every call to FILE, to see what a new verb calls.
func (r *callRecorder) checkPermissions(t interface{ Errorf(string, ...any) }, args []string) {
	cmd := commandOf(args)
	r.mu.Lock()
	defer r.mu.Unlock()
	if f := os.Getenv("NEO4JCTL_RECORD_ACTIONS"); f != "" {
		if out, err := os.OpenFile(f, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
			for _, c := range r.calls {
				fmt.Fprintf(out, "%s\t%s\t%s\t%s\t%s\n", cmd, c.service, c.operation, c.action, c.arn)
			}
			out.Close()
		}
	}
	if len(r.calls) == 0 {
		return
	}
	ps, err := iampolicy.Policies("", cmd)
	if err != nil {
		t.Errorf("`neo4jctl %s` calls AWS but has no IAM policy: add its actions to pkg/iampolicy/commands.go (%v)", cmd, err)
		return
	}
	seen := map[string]bool{}
	for _, c := range r.calls {
		key := c.action + " " + c.arn
		switch {
		case seen[key]:
		case c.action == "":
			t.Errorf("`neo4jctl %s` called %s %s, a service pkg/iampolicy/action.go has no IAM prefix for", cmd, c.service, c.operation)
		case !iampolicy.Allows(ps, c.action, c.arn):
			on := ""
			if c.arn != "" {
				on = " on " + c.arn
			}
			t.Errorf("`neo4jctl %s` called %s (%s)%s, which `neo4jctl utils iam-policy %s` does not grant: add it to pkg/iampolicy/commands.go",
				cmd, c.operation, c.action, on, cmd)
		}
		seen[key] = true
	}
}

// Every command of the tree has an IAM policy (possibly empty: it calls no AWS), and every
// policy a command of the tree.
func TestEveryCommandHasAnIAMPolicy(t *testing.T) {
	tree := map[string]bool{}
	for _, c := range commands(newRootCommand(&globals{})) {
		if c.Runnable() && !c.HasSubCommands() {
			tree[strings.TrimPrefix(c.CommandPath(), "neo4jctl ")] = true
		}
	}
	for cmd := range tree {
		if _, err := iampolicy.Policies("", cmd); err != nil {
			t.Errorf("`neo4jctl %s` has no entry in pkg/iampolicy/commands.go (nil if it calls no AWS)", cmd)
		}
	}
	for _, cmd := range iampolicy.Commands() {
		if !tree[cmd] {
			t.Errorf("pkg/iampolicy has a policy for `neo4jctl %s`, which is no command", cmd)
		}
	}
}

func TestIAMPolicyCommand(t *testing.T) {
	noAWS(t)
	code, stdout, stderr := cli(t, "utils", "iam-policy", "get", "cluster", "backup", "list", "--cluster", "graph-prod")
	var got map[string]iampolicy.Document
	if code != 0 || json.Unmarshal([]byte(stdout), &got) != nil || len(got) != 1 {
		t.Fatalf("exit %d, %d policies\n%s\n%s", code, len(got), stdout, stderr)
	}
	doc := got["neo4jctl-commands"]
	if !doc.Allows("ecs:DescribeServices", "") || !doc.Allows("s3:GetObject", "arn:aws:s3:::neo4jctl-graph-prod-shared-bucket-x/backups/a") ||
		doc.Allows("s3:GetObject", "arn:aws:s3:::neo4jctl-graph-dev-shared-bucket-x/backups/a") || doc.Allows("cloudformation:DeleteStack", "") {
		t.Errorf("get and backup list for graph-prod:\n%s", stdout)
	}
	mustContain(t, "stderr", stderr, "1 policy; attach them all")
	dir := t.TempDir()
	code, stdout, _ = cli(t, "utils", "iam-policy", "--dir", dir)
	files := strings.Fields(stdout)
	if code != 0 || len(files) < 2 || files[0] != filepath.Join(dir, "neo4jctl-commands.json") {
		t.Fatalf("--dir: exit %d %v", code, files)
	}
	for _, f := range files {
		var d iampolicy.Document
		if err := json.Unmarshal([]byte(readFile(t, f)), &d); err != nil || d.Version != "2012-10-17" || d.Size() > iampolicy.MaxDocumentSize {
			t.Errorf("%s: %v, %d characters", f, err, d.Size())
		}
	}
	code, stdout, _ = cli(t, "utils", "iam-policy", "delete", "cluster", "-o", "table")
	mustContain(t, "table", stdout, "POLICY", "neo4jctl-commands  CloudFormationStacks", "arn:aws:cloudformation:*:*:stack/neo4jctl-*/*", "neo4jctl-deploy-1")
	if code, _, stderr := cli(t, "utils", "iam-policy", "get", "clustr"); code != exitUsage || !strings.Contains(stderr, `"get clustr" is not a neo4jctl command; name one or more of: backup create,`) {
		t.Errorf("unknown command: exit %d %s", code, stderr)
	}
}
