package stack

// Assertions on how the templates behave once running in AWS (volume lookup, schedules, IAM
// for what the agent and Lambdas call, task environment), each for a defect found in review.

import (
	"fmt"
	"maps"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/neo4jctl/neo4jctl/pkg/backup"
	"github.com/neo4jctl/neo4jctl/pkg/cluster"
	"github.com/neo4jctl/neo4jctl/pkg/lambdas/admin"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

// resolve renders a template value as a string: pseudo parameters get fixed test values,
// other intrinsics a readable placeholder (<Ref X>, <GetAtt X.Y>, <Import name>), Fn::If
// its last branch (the stack's own resource rather than an adopted one).
func resolve(v any) string {
	pseudoValues := strings.NewReplacer("${AWS::Partition}", "aws", "${AWS::Region}", "eu-west-1",
		"${AWS::AccountId}", "123456789012", "${AWS::URLSuffix}", "amazonaws.com")
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return fmt.Sprint(x)
	case M:
		switch {
		case x["Fn::Sub"] != nil:
			str, _ := x["Fn::Sub"].(string)
			return pseudoValues.Replace(str)
		case x["Fn::Join"] != nil:
			j := x["Fn::Join"].([]any)
			var parts []string
			for _, p := range j[1].([]any) {
				parts = append(parts, resolve(p))
			}
			return strings.Join(parts, j[0].(string))
		case x["Fn::If"] != nil:
			// the created resource's branch: adoption (params.go) picks the other
			return resolve(x["Fn::If"].([]any)[2])
		case x["Ref"] != nil:
			return "<Ref " + x["Ref"].(string) + ">"
		case x["Fn::GetAtt"] != nil:
			ga := x["Fn::GetAtt"].([]any)
			return fmt.Sprintf("<GetAtt %v.%v>", ga[0], ga[1])
		case x["Fn::ImportValue"] != nil:
			return "<Import " + resolve(x["Fn::ImportValue"]) + ">"
		}
	}
	return fmt.Sprintf("%v", v)
}

// resolveSub renders an Fn::Sub with variables: each ${Var} by its resolved value.
func resolveSub(v any) string {
	sub := v.(M)["Fn::Sub"].([]any)
	out := sub[0].(string)
	for k, val := range sub[1].(M) {
		out = strings.ReplaceAll(out, "${"+k+"}", resolve(val))
	}
	return out
}

// b0 is a builder of a case's config (for the values the templates derive).
func b0(tc testCase) *builder { return &builder{cfg: tc.cfg, name: tc.cfg.Metadata.Name} }

// iamMatch tells whether an IAM resource pattern (* and ? wildcards) matches an ARN.
func iamMatch(pattern, arn string) bool {
	re := "^" + strings.NewReplacer(`\*`, ".*", `\?`, ".").Replace(regexp.QuoteMeta(pattern)) + "$"
	return regexp.MustCompile(re).MatchString(arn)
}

// stmt is one Allow statement of a role, with its actions and resources resolved.
type stmt struct {
	actions   []string
	resources []string
	cond      M
}

func roleStatements(t *testing.T, doc M, role string) []stmt {
	t.Helper()
	r, ok := section(doc, "Resources")[role].(M)
	if !ok {
		t.Fatalf("no role %s", role)
	}
	var out []stmt
	for _, p := range props(r)["Policies"].([]any) {
		for _, s := range p.(M)["PolicyDocument"].(M)["Statement"].([]any) {
			sm := s.(M)
			var st stmt
			for _, a := range asList(sm["Action"]) {
				st.actions = append(st.actions, a.(string))
			}
			for _, r := range asList(sm["Resource"]) {
				st.resources = append(st.resources, resolve(r))
			}
			st.cond, _ = sm["Condition"].(M)
			out = append(out, st)
		}
	}
	return out
}

func asList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	return []any{v}
}

// allows tells whether some statement allows action on resource.
func allows(stmts []stmt, action, resource string) bool {
	for _, s := range stmts {
		for _, a := range s.actions {
			if iamMatch(a, action) {
				for _, r := range s.resources {
					if iamMatch(r, resource) {
						return true
					}
				}
			}
		}
	}
	return false
}

// stacksByKind indexes the parsed templates of a case.
func stacksByKind(t *testing.T, tc testCase) (map[string]M, []Stack) {
	t.Helper()
	stacks := build(t, tc)
	docs := map[string]M{}
	for _, s := range stacks {
		key := s.Kind
		if s.Kind == naming.KindCore {
			key = fmt.Sprintf("core-%d", s.Member)
		}
		docs[key] = parse(t, s)
	}
	return docs, stacks
}

func tagMap(tags any) map[string]string {
	out := map[string]string{}
	for _, tg := range asList(tags) {
		out[tg.(M)["Key"].(string)] = resolve(tg.(M)["Value"])
	}
	return out
}

var assignRe = regexp.MustCompile(`(?m)^([A-Z_0-9]+)='([^']*)'$`)

// TestCoreUserData: a member's instance boots with what the ECS-optimized AMI has: no package
// manager, no AWS CLI. It fetches the agent named by the template's SHA-256 from the cluster
// bucket and has it attach the member's own volume (by id, checked against the volume's
// tags), with an instance role that allows exactly what that takes.
func TestCoreUserData(t *testing.T) {
	for _, tc := range allCases(t) {
		docs, stacks := stacksByKind(t, tc)
		role := roleStatements(t, docs[naming.KindShared], sharedInstanceRole)
		name := tc.cfg.Metadata.Name
		for _, s := range stacks {
			doc := parse(t, s)
			res := section(doc, "Resources")
			for id, lt := range resourcesOf(doc, "AWS::EC2::LaunchTemplate") {
				script := resolve(props(lt)["LaunchTemplateData"].(M)["UserData"].(M)["Fn::Base64"])
				for _, bad := range []string{"dnf ", "yum ", "aws ec2", "aws autoscaling", "awscli", "pip "} {
					if strings.Contains(script, bad) {
						t.Errorf("%s: %s user data runs %q: the host has no package manager or AWS CLI to count on", s.Name, id, bad)
					}
				}
				cmd := exec.Command("bash", "-n")
				cmd.Stdin = strings.NewReader(script)
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Errorf("%s: user data is not valid bash: %v\n%s", s.Name, err, out)
				}
			}
			if s.Kind != naming.KindCore {
				continue
			}
			m := tc.cfg.Members()[s.Member-1]
			data := props(res["LaunchTemplate"].(M))["LaunchTemplateData"].(M)
			script := resolve(data["UserData"].(M)["Fn::Base64"])
			vars := map[string]string{}
			for _, a := range assignRe.FindAllStringSubmatch(script, -1) {
				vars[a[1]] = a[2]
			}
			arch := tc.cfg.Arch()
			want := map[string]string{
				"CLUSTER": name, "MEMBER": m.Name, "MOUNT": naming.DataMount, "VOLUME": "<Ref DataVolume>",
				"BUCKET": "<Import " + naming.Export(name, OutputBucketName) + ">", "AGENT_SHA256": "<Ref " + ParamHostAgentSHA256 + ">",
				"AGENT_KEY": naming.AgentKey(arch, "<Ref "+ParamHostAgentSHA256+">"), "LOG_GROUP": "<Import " + naming.Export(name, OutputLogGroup) + ">",
				"BOOT_STREAM": naming.LogStreamBoot(m.Name), "URL_SUFFIX": "<Ref AWS::URLSuffix>",
			}
			for k, v := range want {
				if vars[k] != v {
					t.Errorf("%s: user data %s=%q, want %q", s.Name, k, vars[k], v)
				}
			}
			if got := s.Parameters[ParamHostAgentSHA256]; got != strings.Repeat("ab", 32) && got != strings.Repeat("cd", 32) {
				t.Errorf("%s: %s=%q, not the %s bundle's SHA-256", s.Name, ParamHostAgentSHA256, got, arch)
			}
			attach := strings.Index(script, `bootstrap attach-volume --cluster "$CLUSTER" --member "$MEMBER" --volume "$VOLUME"`)
			if attach < 0 || !strings.Contains(script, `--mount "$MOUNT" --log-group "$LOG_GROUP" || exit 1`) {
				t.Errorf("%s: the user data does not run attach-volume for its own volume", s.Name)
			}
			if at := strings.Index(script, "ECS_INSTANCE_ATTRIBUTES"); at < attach {
				t.Errorf("%s: the member attribute (task placement) comes before the volume is mounted", s.Name)
			}
			for _, w := range []string{"RequiresMountsFor=" + naming.DataMount, `fetch_agent /var/lib/neo4jctl || boot_failed "$BOOT_ERROR"`, "--aws-sigv4", "sha256sum"} {
				if !strings.Contains(script, w) {
					t.Errorf("%s: user data lacks %q", s.Name, w)
				}
			}
			// the agent takes the volume by id and checks these tags; the root volume (which
			// carries the member's tags too) never has the data role
			vol := tagMap(props(res["DataVolume"].(M))["Tags"])
			if vol[naming.TagCluster] != name || vol[naming.TagMember] != m.Name || vol[naming.TagRole] != naming.TagRoleData {
				t.Errorf("%s: data volume tags %v", s.Name, vol)
			}
			for _, spec := range data["TagSpecifications"].([]any) {
				if spec.(M)["ResourceType"] == "volume" && tagMap(spec.(M)["Tags"])[naming.TagRole] == naming.TagRoleData {
					t.Errorf("%s: the root volume has the data role", s.Name)
				}
			}
			// what the boot does, the instance role allows
			asg := "arn:aws:autoscaling:eu-west-1:123456789012:autoScalingGroup:0a1b2c3d-0000-4000-8000-000000000000:autoScalingGroupName/" + s.Name + "-AutoScalingGroup-1A2B3C4D5E6F"
			for _, c := range []struct{ action, resource string }{
				{"s3:GetObject", "<GetAtt Bucket.Arn>/" + naming.AgentKey(arch, strings.Repeat("ab", 32))},
				{"ec2:DescribeVolumes", "*"},
				{"ec2:AttachVolume", "arn:aws:ec2:eu-west-1:123456789012:volume/vol-0123456789abcdef0"},
				{"logs:CreateLogStream", "<GetAtt LogGroup.Arn>"},
				{"logs:PutLogEvents", "<GetAtt LogGroup.Arn>"},
				{"autoscaling:SetInstanceHealth", asg},
			} {
				if !allows(role, c.action, c.resource) {
					t.Errorf("%s: the instance role does not allow %s on %s", s.Name, c.action, c.resource)
				}
			}
			if allows(role, "autoscaling:SetInstanceHealth", strings.Replace(asg, "neo4jctl-"+name+"-", "neo4jctl-other-", 1)) {
				t.Errorf("%s: the instance role may mark another cluster's instances unhealthy", s.Name)
			}
		}
	}
}

// TestBackupSchedulesCanRun: the scheduler role must be allowed to run exactly the backup
// task families, pass the backup task role and dead-letter into the backup DLQ; the
// differential runs --type=AUTO; a missing success raises an alarm.
func TestBackupSchedulesCanRun(t *testing.T) {
	for _, tc := range allCases(t) {
		if !tc.cfg.BackupsEnabled() {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			docs, _ := stacksByKind(t, tc)
			shared, ops := docs[naming.KindShared], docs[naming.KindOperations]
			sched := roleStatements(t, shared, sharedSchedulerRole)
			wantType := map[string]string{opsBackupFull: "FULL", opsBackupDiff: "AUTO"}
			tasks := resourcesOf(ops, "AWS::ECS::TaskDefinition")
			if _, ok := tasks[opsBackupVerify]; !ok || len(tasks) < 2 {
				t.Fatalf("backup task definitions %v", slices.Sorted(maps.Keys(tasks)))
			}
			backupSz, verifySz := backupSizes(tc.cfg.Cores.Volume.SizeGiB)
			for id, td := range tasks {
				family := props(td)["Family"].(string)
				arn := "arn:aws:ecs:eu-west-1:123456789012:task-definition/" + family + ":7"
				if !allows(sched, "ecs:RunTask", arn) {
					t.Errorf("scheduler role may not run %s", arn)
				}
				e := env(t, ops, id)
				if id == opsBackupVerify {
					if e[naming.EnvVerifyTarget] != naming.VerifyNewestFull || e[naming.EnvBackupType] != "" {
						t.Errorf("%s: verify target %q, type %q", id, e[naming.EnvVerifyTarget], e[naming.EnvBackupType])
					}
				} else {
					if got := e[naming.EnvBackupType]; got != wantType[id] {
						t.Errorf("%s: %s=%q, want %q", id, naming.EnvBackupType, got, wantType[id])
					}
					if got := e[naming.EnvBackupRetentionDays]; got != fmt.Sprint(tc.cfg.Backup.Retention.Days) {
						t.Errorf("%s: %s=%q, want backup.retention.days %d", id, naming.EnvBackupRetentionDays, got, tc.cfg.Backup.Retention.Days)
					}
				}
				// the scratch volume: configured at launch (the first volume; a bind mount for
				// neo4j-admin's logs follows), mounted where the agent writes
				vols := props(td)["Volumes"].([]any)
				c := props(td)["ContainerDefinitions"].([]any)[0].(M)
				mp := c["MountPoints"].([]any)[0].(M)
				if len(vols) < 1 || vols[0].(M)["ConfiguredAtLaunch"] != true || mp["SourceVolume"] != vols[0].(M)["Name"] ||
					e[naming.EnvScratchDir] != mp["ContainerPath"] || props(td)["EphemeralStorage"] != nil {
					t.Errorf("%s: scratch volume %v mounted %v, %s=%q", id, vols, mp, naming.EnvScratchDir, e[naming.EnvScratchDir])
				}
				size := backupSz
				if id == opsBackupVerify {
					size = verifySz
				}
				if props(td)["Cpu"] != fmt.Sprint(size.CPU) || props(td)["Memory"] != fmt.Sprint(size.MemoryMiB) {
					t.Errorf("%s: cpu %v memory %v, want %+v", id, props(td)["Cpu"], props(td)["Memory"], size)
				}
				if got := resolve(props(td)["TaskRoleArn"]); got != "<Import "+naming.Export(tc.cfg.Metadata.Name, OutputBackupTaskRoleArn)+">" {
					t.Errorf("%s: task role %s, want the backup task role", id, got)
				}
			}
			// every schedule sends a complete RunTask request with the scratch volume
			infra := "<Import " + naming.Export(tc.cfg.Metadata.Name, OutputECSInfrastructureRoleArn) + ">"
			for id, sc := range resourcesOf(ops, "AWS::Scheduler::Schedule") {
				target := props(sc)["Target"].(M)
				if resolve(target["Arn"]) != "arn:aws:scheduler:::aws-sdk:ecs:runTask" {
					t.Errorf("%s: target %v", id, target["Arn"])
				}
				in, err := backup.ParseRunTaskInput(resolveSub(target["Input"]))
				if err != nil {
					t.Fatalf("%s: %v", id, err)
				}
				td := strings.TrimSuffix(strings.TrimPrefix(aws.ToString(in.TaskDefinition), "<Ref "), ">")
				size := backupSz
				if td == opsBackupVerify {
					size = verifySz
				}
				ebs := in.VolumeConfigurations[0].ManagedEBSVolume
				if tasks[td] == nil || aws.ToString(in.VolumeConfigurations[0].Name) != backup.ScratchVolume || aws.ToInt32(ebs.SizeInGiB) != int32(size.ScratchGiB) ||
					aws.ToString(ebs.RoleArn) != infra || !aws.ToBool(ebs.Encrypted) || string(in.LaunchType) != "FARGATE" ||
					len(in.NetworkConfiguration.AwsvpcConfiguration.Subnets) != len(b0(tc).privateSubnets()) {
					t.Errorf("%s: RunTask request %s", id, resolveSub(target["Input"]))
				}
				for _, tag := range ebs.TagSpecifications[0].Tags {
					if aws.ToString(tag.Key) == naming.TagRole && aws.ToString(tag.Value) == naming.TagRoleData {
						t.Errorf("%s: scratch volumes tagged as member data", id)
					}
				}
			}
			if !allows(sched, "iam:PassRole", "<GetAtt "+sharedInfraRole+".Arn>") {
				t.Error("scheduler role may not pass the ECS infrastructure role")
			}
			if v := tc.cfg.Backup.Verify.Schedule; v != "" {
				if s, ok := section(ops, "Resources")["VerifyBackupSchedule"].(M); !ok || props(s)["ScheduleExpression"] != v {
					t.Errorf("no verify schedule %s", v)
				}
			} else if _, ok := section(ops, "Resources")["VerifyBackupSchedule"]; ok {
				t.Error("a verify schedule nobody asked for")
			}
			if allows(sched, "ecs:RunTask", "arn:aws:ecs:eu-west-1:123456789012:task-definition/"+naming.StackPrefix(tc.cfg.Metadata.Name)+"-core-1:1") {
				t.Error("scheduler role may run a member's task definition")
			}
			if !allows(sched, "iam:PassRole", "<GetAtt "+sharedBackupTaskRole+".Arn>") || allows(sched, "iam:PassRole", "<GetAtt "+sharedTaskRole+".Arn>") {
				t.Error("scheduler role must pass the backup task role, not the members' role")
			}
			for id, sc := range resourcesOf(ops, "AWS::Scheduler::Schedule") {
				dlq, _ := props(sc)["Target"].(M)["DeadLetterConfig"].(M)
				if dlq == nil {
					t.Errorf("%s: no dead-letter queue", id)
					continue
				}
				q := props(section(ops, "Resources")[strings.TrimSuffix(strings.TrimPrefix(resolve(dlq["Arn"]), "<GetAtt "), ".Arn>")].(M))
				if !allows(sched, "sqs:SendMessage", "arn:aws:sqs:eu-west-1:123456789012:"+q["QueueName"].(string)) {
					t.Errorf("%s: scheduler role may not send to its DLQ %v", id, q["QueueName"])
				}
			}
			var okFilter bool
			for _, f := range resourcesOf(ops, "AWS::Logs::MetricFilter") {
				p := props(f)
				mt := p["MetricTransformations"].([]any)[0].(M)
				if strings.Contains(p["FilterPattern"].(string), `$.backup = "ok"`) && mt["MetricName"] == naming.MetricBackupSucceeded {
					okFilter = true
				}
			}
			if !okFilter {
				t.Error("no metric filter counting successful backups")
			}
			alarm, ok := section(ops, "Resources")["BackupMissingAlarm"].(M)
			if !ok {
				t.Fatal("no alarm on missing backups")
			}
			p := props(alarm)
			window := p["Period"].(float64) * p["EvaluationPeriods"].(float64)
			if p["MetricName"] != naming.MetricBackupSucceeded || p["Statistic"] != "Sum" || p["ComparisonOperator"] != "LessThanThreshold" ||
				p["Threshold"] != float64(1) || p["TreatMissingData"] != "breaching" || p["DatapointsToAlarm"] != p["EvaluationPeriods"] {
				t.Errorf("missing-backup alarm: %v", p)
			}
			if need := float64(scheduleHours(tc.cfg.Backup.Schedule.Full) * 3600); window <= need || window > 7*24*3600 {
				t.Errorf("missing-backup alarm looks back %vs, want more than the full interval %vs and at most 7 days", window, need)
			}
		})
	}
}

func TestScheduleHours(t *testing.T) {
	for expr, want := range map[string]int{
		cluster.DefaultFullBackup:    24,
		cluster.DefaultDiffBackup:    1,
		"rate(12 hours)":             12,
		"rate(1 day)":                24,
		"rate(3 days)":               72,
		"rate(90 minutes)":           2,
		"cron(0 */6 * * ? *)":        24,
		"cron(0 2 ? * SUN *)":        168,
		"cron(0 2 1 * ? *)":          0,
		"cron(0 2 ? * MON-FRI *)":    168,
		"cron(0 2 * * ? 2030)":       0,
		"something else entirely":    0,
		"rate(1 minute)":             1,
		"cron(15 10 ? * 6L 2022)":    0,
		"cron(0 3 ? * SAT,SUN *)":    168,
		"cron(30 1,13 * * ? *)":      24,
		"cron(0 2 L * ? *)":          0,
		"cron(0/30 * ? * MON *)":     168,
		"rate(7 days)":               168,
		"rate(2 hours)":              2,
		"rate(15 minutes)":           1,
		"cron(0 2 * * ? *) extra":    0,
		"cron(0 2 * * ?)":            0,
		"rate(10 days)":              240,
		"cron(0 0 * * ? *)":          24,
		"cron(0 12 * JAN ? *)":       0,
		"cron(0 12 ? * 2#1 *)":       168,
		"cron(5 4 ? * * *)":          24,
		"cron(0 8-17 ? * MON-FRI *)": 168,
	} {
		if got := scheduleHours(expr); got != want {
			t.Errorf("scheduleHours(%q) = %d, want %d", expr, got, want)
		}
	}
	// the window of the alarm: full interval + 2h, else the differential's, else none
	for _, c := range []struct {
		full, diff string
		want       int
	}{
		{cluster.DefaultFullBackup, cluster.DefaultDiffBackup, 26},
		{"rate(12 hours)", "", 14},
		{"cron(0 2 ? * SUN *)", "rate(1 hour)", 3},
		{"cron(0 2 1 * ? *)", "", 0},
		{"rate(6 days)", "", 146},
	} {
		b := &builder{cfg: &cluster.ClusterConfig{}}
		b.cfg.Backup.Schedule.Full, b.cfg.Backup.Schedule.Differential = c.full, c.diff
		if got := b.backupAlarmHours(); got != c.want {
			t.Errorf("backupAlarmHours(%s, %s) = %d, want %d", c.full, c.diff, got, c.want)
		}
	}
}

// TestLambdaRoleCoversCloudMapRegistration: RegisterInstance in a DNS namespace calls
// Route 53 as the caller (the AWSCloudMapRegisterInstanceAccess actions).
func TestLambdaRoleCoversCloudMapRegistration(t *testing.T) {
	for _, tc := range allCases(t) {
		docs, _ := stacksByKind(t, tc)
		st := roleStatements(t, docs[naming.KindShared], sharedLambdaRole)
		zone := "arn:aws:route53:::hostedzone/<GetAtt Namespace.HostedZoneId>"
		if tc.cfg.Network.NamespaceID != "" {
			zone = "arn:aws:route53:::hostedzone/Z0123456789ABCDEFGHIJ"
		}
		service := "arn:aws:servicediscovery:eu-west-1:123456789012:service/srv-abcdefgh12345678"
		for action, resource := range map[string]string{
			"route53:ListHostedZonesByName":       "*",
			"route53:GetHostedZone":               zone,
			"route53:ChangeResourceRecordSets":    zone,
			"servicediscovery:RegisterInstance":   service,
			"servicediscovery:DeregisterInstance": service,
			"servicediscovery:ListInstances":      service,
			"servicediscovery:ListServices":       "*",
			"ecs:ListTasks":                       "*",
			"ecs:DescribeTasks":                   "*",
		} {
			if !allows(st, action, resource) {
				t.Errorf("%s: Lambda role lacks %s on %s", tc.name, action, resource)
			}
		}
	}
}

// TestLambdas: only the functions that speak Bolt (operations, rotation) are in the VPC, none reserves concurrency, the
// operations function gets the cluster's routing URI, and the DNS sync triggers go before
// the cleanup on deletion.
func TestLambdas(t *testing.T) {
	for _, tc := range allCases(t) {
		docs, _ := stacksByKind(t, tc)
		ops := docs[naming.KindOperations]
		for id, fn := range resourcesOf(ops, "AWS::Lambda::Function") {
			p := props(fn)
			if _, ok := p["ReservedConcurrentExecutions"]; ok {
				t.Errorf("%s: %s reserves concurrency (fails in accounts with a limit of 10)", tc.name, id)
			}
			if _, inVPC := p["VpcConfig"]; inVPC != (id == opsOperations || id == opsRotation) {
				t.Errorf("%s: %s VPC-attached=%v; only the operations and rotation functions speak Bolt", tc.name, id, inVPC)
			}
			vars := p["Environment"].(M)["Variables"].(M)
			if id == opsOperations {
				want := fmt.Sprintf("neo4j://%s.%s:7687", tc.cfg.Network.Subdomains.Cores, tc.cfg.Namespace())
				if vars[naming.EnvBoltURI] != want {
					t.Errorf("%s: operations %s=%v, want %s", tc.name, naming.EnvBoltURI, vars[naming.EnvBoltURI], want)
				}
				// invocations stay short (long waits are the CLI's polls), with room for the
				// handler's own bound on its work to answer before the function times out
				if to, _ := p["Timeout"].(float64); to > 60 || time.Duration(to)*time.Second < admin.DefaultMaxWork+10*time.Second {
					t.Errorf("%s: operations timeout %v s; want at most 60 and above the handler's %s", tc.name, p["Timeout"], admin.DefaultMaxWork)
				}
			}
		}
		for _, id := range []string{opsTaskStateEvt, opsSyncSchedule, opsTaskStateEvt + "Permission", opsSyncSchedule + "Permission"} {
			r := section(ops, "Resources")[id].(M)
			deps := asList(r["DependsOn"])
			found := false
			for _, d := range deps {
				found = found || d == "Cleanup"
			}
			if !found {
				t.Errorf("%s: %s does not depend on Cleanup (would re-register records after it on deletion)", tc.name, id)
			}
		}
	}
}

// TestMemberTasks: core tasks get the configured users and their passwords (as secrets), run
// with the members' role, which reads backups and the restore source but never writes or
// deletes them; the disk alarm watches the metric the agent publishes.
func TestMemberTasks(t *testing.T) {
	for _, tc := range allCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			name := cfg.Metadata.Name
			docs, _ := stacksByKind(t, tc)
			member := roleStatements(t, docs[naming.KindShared], sharedTaskRole)
			backup := roleStatements(t, docs[naming.KindShared], sharedBackupTaskRole)
			obj := "<GetAtt Bucket.Arn>/" + naming.BackupPrefix + "full-2025/neo4j.backup"
			for _, a := range []string{"s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"} {
				if allows(member, a, obj) {
					t.Errorf("members' task role allows %s on backups", a)
				}
				if a != "s3:DeleteObjectVersion" && !allows(backup, a, obj) {
					t.Errorf("backup task role lacks %s on backups", a)
				}
			}
			if allows(backup, "s3:DeleteObject", "<GetAtt Bucket.Arn>/neo4jctl/agent/arm64/x.zip") {
				t.Error("backup task role may delete outside backups/")
			}
			if !allows(member, "s3:GetObject", obj) {
				t.Error("members' task role cannot read backups (online restore seeds)")
			}
			done := "<GetAtt Bucket.Arn>/" + naming.RestoreDoneKey
			if !allows(member, "s3:GetObject", done) || !allows(member, "s3:PutObject", done) || !allows(member, "kms:GenerateDataKey", "<GetAtt Key.Arn>") {
				t.Error("members' task role cannot keep the restore-done record")
			}
			if !allows(member, "logs:PutLogEvents", "<GetAtt LogGroup.Arn>") || !allows(member, "logs:CreateLogStream", "<GetAtt LogGroup.Arn>") {
				t.Error("members' task role cannot ship logs to the cluster log group")
			}
			var metrics bool
			for _, s := range member {
				if len(s.actions) == 1 && s.actions[0] == "cloudwatch:PutMetricData" {
					metrics = s.cond["StringEquals"].(M)["cloudwatch:namespace"] == naming.MetricNamespace
				}
			}
			if !metrics {
				t.Errorf("members' task role: no cloudwatch:PutMetricData scoped to namespace %s", naming.MetricNamespace)
			}
			if r := cfg.Restore; r != nil {
				bkt, path, _ := strings.Cut(strings.TrimPrefix(r.From, "s3://"), "/")
				if !allows(member, "s3:GetObject", "arn:aws:s3:::"+bkt+"/"+path+"neo4j-2025.backup") || !allows(member, "s3:ListBucket", "arn:aws:s3:::"+bkt) {
					t.Errorf("members' task role cannot read restore.from %s", r.From)
				}
			}
			imp := func(out string) string { return "<Import " + naming.Export(name, out) + ">" }
			for _, m := range cfg.Members() {
				doc := docs[fmt.Sprintf("core-%d", m.Index)]
				td := props(section(doc, "Resources")["TaskDefinition"].(M))
				if got := resolve(td["TaskRoleArn"]); got != imp(OutputTaskRoleArn) {
					t.Errorf("%s: task role %s", m.Name, got)
				}
				e := env(t, doc, "TaskDefinition")
				secrets := map[string]string{}
				for _, s := range td["ContainerDefinitions"].([]any)[0].(M)["Secrets"].([]any) {
					secrets[s.(M)["Name"].(string)] = resolve(s.(M)["ValueFrom"])
				}
				want := map[string]string{naming.EnvAdminPassword: imp(OutputAdminSecretArn) + ":password::"}
				for _, u := range []struct{ user, userEnv, pwEnv, out string }{
					{userName(cfg, true), naming.EnvReadOnlyUser, naming.EnvReadOnlyPassword, OutputReadOnlySecretArn},
					{userName(cfg, false), naming.EnvReadWriteUser, naming.EnvReadWritePassword, OutputReadWriteSecretArn},
				} {
					if e[u.userEnv] != u.user {
						t.Errorf("%s: %s=%q, want %q", m.Name, u.userEnv, e[u.userEnv], u.user)
					}
					if u.user != "" {
						want[u.pwEnv] = imp(u.out) + ":password::"
					}
				}
				if fmt.Sprint(secrets) != fmt.Sprint(want) {
					t.Errorf("%s: secrets %v, want %v", m.Name, secrets, want)
				}
				if e[naming.EnvMember] != m.Name || e[naming.EnvCluster] != name {
					t.Errorf("%s: member/cluster env %q/%q", m.Name, e[naming.EnvMember], e[naming.EnvCluster])
				}
				// the disk alarm reads what the agent publishes from those
				a := props(section(docs[naming.KindOperations], "Resources")[fmt.Sprintf("DiskMember%dAlarm", m.Index)].(M))
				dims := map[string]string{}
				for _, d := range a["Dimensions"].([]any) {
					dims[d.(M)["Name"].(string)] = d.(M)["Value"].(string)
				}
				if a["Namespace"] != naming.MetricNamespace || a["MetricName"] != naming.MetricDiskUsed || len(dims) != 2 ||
					dims["Cluster"] != e[naming.EnvCluster] || dims["Member"] != e[naming.EnvMember] {
					t.Errorf("%s: disk alarm %v %v %v", m.Name, a["Namespace"], a["MetricName"], dims)
				}
			}
			if rep, ok := docs[naming.KindReplicas]; ok {
				secrets := props(section(rep, "Resources")["TaskDefinition"].(M))["ContainerDefinitions"].([]any)[0].(M)["Secrets"].([]any)
				if len(secrets) != 1 {
					t.Errorf("replicas get %d secrets, want the admin password only", len(secrets))
				}
			}
		})
	}
}

func userName(cfg *cluster.ClusterConfig, readOnly bool) string {
	if cfg.Users == nil {
		return ""
	}
	if readOnly {
		return cfg.Users.ReadOnly
	}
	return cfg.Users.ReadWrite
}

// TestClientCIDRs: IPv6 client networks (accepted by validation) become CidrIpv6 rules.
func TestClientCIDRs(t *testing.T) {
	seen6 := false
	for _, tc := range allCases(t) {
		docs, _ := stacksByKind(t, tc)
		rules := resourcesOf(docs[naming.KindShared], "AWS::EC2::SecurityGroupIngress")
		for _, cidr := range tc.cfg.Network.ClientAccess.CIDRs {
			key := "CidrIp"
			if strings.Contains(cidr, ":") {
				key, seen6 = "CidrIpv6", true
			}
			n := 0
			for _, r := range rules {
				if props(r)[key] == cidr {
					n++
				}
			}
			if n != 3 {
				t.Errorf("%s: %d %s rules for %s, want 3 (Bolt, HTTP, HTTPS)", tc.name, n, key, cidr)
			}
		}
	}
	if !seen6 {
		t.Error("no test config with an IPv6 client network")
	}
}
