// Package stack holds the CloudFormation template builders, one per stack of a cluster
// (vpc, shared, one per core member, replicas, operations); pkg/engine deploys them.
//
// Builders are pure functions of the defaulted, validated ClusterConfig and a few Inputs:
// no AWS calls, deterministic JSON, so that the templates are golden-tested and linted
// offline (cfn-lint, checkov) and `neo4jctl generate templates` writes exactly what
// `create cluster` would deploy.
//
// Cross-stack wiring: the vpc and shared stacks export their outputs under
// naming.Export(cluster, Output*); the other stacks read them with Fn::ImportValue. Member,
// replicas and operations stacks do not export anything: the engine reads their outputs with
// DescribeStacks.
package stack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/neo4jctl/neo4jctl/pkg/cluster"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

// Inputs are what the builders need beyond the config.
type Inputs struct {
	// AgentCodeKeys maps an architecture ("arm64"/"amd64") to the S3 key of the agent Lambda
	// zip in the cluster bucket (naming.AgentKey). Missing: a placeholder key of zeros.
	AgentCodeKeys map[string]string
	// Image is the container image; "" means cfg.Neo4j.Image, else the default ECR image
	// ${AWS::AccountId}.dkr.ecr.${AWS::Region}.amazonaws.com/neo4jctl/neo4j:<naming.ImageTag>.
	Image string
	// AgentSHA256 is the SHA-256 of the amd64 agent bundle, which names the default image's
	// tag (naming.ImageTag) the same way `neo4jctl image push` does. Empty: no agent part.
	AgentSHA256 string
	// Neo4jctlVersion goes into the naming.TagVersion tag.
	Neo4jctlVersion string
	// SubnetAZs maps an existing subnet id to its availability zone. A core member's volume
	// must be created in its subnet's AZ, which is not knowable offline for an existing VPC:
	// the engine looks the subnets up (ec2:DescribeSubnets) and passes them here. A subnet
	// missing from the map leaves the member stack's AvailabilityZone parameter empty, to be
	// filled before the stack is created.
	SubnetAZs map[string]string
	// AgentSHAs maps an architecture to the SHA-256 of its agent bundle (SetAgent): the core
	// hosts download that bundle at boot (ParamHostAgentSHA256).
	AgentSHAs map[string]string
	// ImageIDs maps an architecture to the pinned AMI id (ParamImageID); missing: the
	// stacks resolve the public SSM parameter at every deployment.
	ImageIDs map[string]string
	// Adopt names kept data of an earlier cluster of the same name to use (see params.go).
	Adopt Adoption
	// Run is what runs: desired counts, instances, alarm actions, backup schedules (run.go).
	Run Run
}

// SetAgent records the agent bundle of arch by its SHA-256: its S3 key for the Lambdas and,
// for naming.ImageTagArch, the default image's tag.
func (in *Inputs) SetAgent(arch, sha256hex string) {
	if in.AgentCodeKeys == nil {
		in.AgentCodeKeys = map[string]string{}
	}
	in.AgentCodeKeys[arch] = naming.AgentKey(arch, sha256hex)
	if in.AgentSHAs == nil {
		in.AgentSHAs = map[string]string{}
	}
	in.AgentSHAs[arch] = sha256hex
	if arch == naming.ImageTagArch {
		in.AgentSHA256 = sha256hex
	}
}

// Stack is one CloudFormation stack of a cluster.
type Stack struct {
	Name       string            // naming.StackName(...)
	Region     string            // metadata.region: where the stack is created
	Kind       string            // naming.Kind*
	Member     int               // core index (1-based) for core stacks, else 0
	Template   []byte            // JSON template, deterministic
	Parameters map[string]string // parameter values to pass (never a secret)
	DependsOn  []string          // names of stacks that must exist first
	Tags       map[string]string // ownership tags plus metadata.tags
	Resources  []string          // key resources for the dry-run plan: "Type LogicalId"
	// Uploads are the objects the stack needs in the cluster bucket before it is created
	// (the agent bundles); Unknowns the parameters Build left empty because only AWS knows
	// their value (see WriteDir).
	Uploads  []Upload
	Unknowns []Unknown
}

// Upload is an agent bundle a stack needs in the cluster bucket.
type Upload struct {
	Key    string // naming.AgentKey(Arch, SHA256)
	Arch   string // amd64 | arm64
	SHA256 string
}

// Unknown is a parameter value only AWS knows: Build leaves it empty, WriteDir writes
// Placeholder(Parameter) and how to look the value up.
type Unknown struct {
	Parameter string
	What      string // what the value is, e.g. "the availability zone of subnet-..."
	Lookup    string // an AWS CLI command that prints it
}

// Placeholder is what WriteDir puts in a parameters file for a value only AWS knows: named,
// and refused by CloudFormation as it stands.
func Placeholder(parameter string) string { return "FILL_IN_" + parameter }

// Outputs the engine reads. The vpc and shared stacks export theirs under
// naming.Export(cluster, name); the others are read from the stack itself.
const (
	// vpc stack (only when neo4jctl creates the VPC)
	OutputVPCID   = "VPCID"
	OutputVPCCIDR = "VPCCIDR"
	// OutputPrivateSubnet(i), OutputPublicSubnet(i), OutputAZ(i) below

	// shared stack
	OutputBucketName               = "BucketName"
	OutputBucketArn                = "BucketArn"
	OutputKMSKeyArn                = "KMSKeyArn"
	OutputAdminSecretArn           = "AdminSecretArn"
	OutputReadOnlySecretArn        = "ReadOnlySecretArn"  // only with users.readOnly
	OutputReadWriteSecretArn       = "ReadWriteSecretArn" // only with users.readWrite
	OutputMembersSecurityGroup     = "MembersSecurityGroup"
	OutputInstanceSecurityGroup    = "InstanceSecurityGroup"
	OutputBackupSecurityGroup      = "BackupSecurityGroup"
	OutputLambdaSecurityGroup      = "LambdaSecurityGroup"
	OutputInstanceProfile          = "InstanceProfile"
	OutputInstanceRoleArn          = "InstanceRoleArn"
	OutputTaskExecutionRoleArn     = "TaskExecutionRoleArn"
	OutputTaskRoleArn              = "TaskRoleArn" // Neo4j members: read-only on backups
	OutputBackupTaskRoleArn        = "BackupTaskRoleArn"
	OutputLambdaRoleArn            = "LambdaRoleArn"
	OutputSchedulerRoleArn         = "SchedulerRoleArn"
	OutputRotationRoleArn          = "RotationRoleArn"          // only with users.rotation
	OutputECSInfrastructureRoleArn = "ECSInfrastructureRoleArn" // creates the backup tasks' scratch volumes
	OutputNamespaceID              = "NamespaceID"
	OutputNamespaceName            = "NamespaceName"
	OutputECSCluster               = "ECSCluster"
	OutputECSClusterArn            = "ECSClusterArn"
	OutputLogGroup                 = "LogGroup"
	OutputLambdaLogGroup           = "LambdaLogGroup"
	OutputAlarmTopicArn            = "AlarmTopicArn"

	// core member stack
	OutputVolumeID         = "VolumeID"
	OutputAutoScalingGroup = "AutoScalingGroup" // also replicas
	OutputCapacityProvider = "CapacityProvider" // also replicas
	OutputService          = "Service"          // ECS service name; also replicas
	OutputMemberServiceID  = "MemberServiceID"  // Cloud Map service core-N
	OutputTaskDefinition   = "TaskDefinition"   // also replicas

	// operations stack
	OutputOperationsFunction = "OperationsFunction"
	OutputDNSSyncFunction    = "DNSSyncFunction"
	OutputCleanupFunction    = "CleanupFunction"
	OutputCoresServiceID     = "CoresServiceID"
	OutputReplicasServiceID  = "ReplicasServiceID"
	// backups (only with backups): the task definitions, and the RunTask requests the
	// schedules send, as JSON (pkg/backup.ParseRunTaskInput), for `backup create|verify`
	OutputBackupTaskDefinition = "BackupTaskDefinition"
	OutputVerifyTaskDefinition = "BackupVerifyTaskDefinition"
	OutputBackupRunTask        = "BackupRunTask"
	OutputVerifyRunTask        = "BackupVerifyRunTask"
	OutputDashboard            = "Dashboard" // only with monitoring.dashboard
	OutputEndpoint             = "Endpoint"  // neo4j://<cores subdomain>.<namespace>:7687
)

// OutputPrivateSubnet is the vpc stack output of the i-th (0-based) private subnet.
func OutputPrivateSubnet(i int) string { return fmt.Sprintf("PrivateSubnet%d", i+1) }

// OutputPublicSubnet is the vpc stack output of the i-th (0-based) public subnet.
func OutputPublicSubnet(i int) string { return fmt.Sprintf("PublicSubnet%d", i+1) }

// OutputAZ is the vpc stack output naming the AZ of the i-th (0-based) subnet pair.
func OutputAZ(i int) string { return fmt.Sprintf("AZ%d", i+1) }

// CapacityProviderName is the (fixed) name of a core member's capacity provider; member 0
// names the replicas' provider. The operations stack associates them with the ECS cluster.
func CapacityProviderName(cfg *cluster.ClusterConfig, member int) string {
	if member == 0 {
		return naming.StackPrefix(cfg.Metadata.Name) + "-replicas"
	}
	return fmt.Sprintf("%s-core-%d", naming.StackPrefix(cfg.Metadata.Name), member)
}

// Build renders every stack of the cluster, in creation order: vpc (when created), shared,
// the core members, replicas (when configured), operations.
func Build(cfg *cluster.ClusterConfig, in Inputs) ([]Stack, error) {
	if cfg.Namespace() == "" {
		return nil, fmt.Errorf("network.namespace: the namespace name is needed with network.namespaceID (members advertise core-N.<namespace>)")
	}
	if len(cfg.Members()) == 0 {
		return nil, fmt.Errorf("cores.count: no core members")
	}
	b := &builder{cfg: cfg, in: in, name: cfg.Metadata.Name}
	var out []Stack
	add := func(kind string, member int, t *Template, params map[string]string, deps []string) error {
		body, err := t.JSON()
		if err != nil {
			return fmt.Errorf("%s stack: %w", kind, err)
		}
		out = append(out, Stack{
			Name:       naming.StackName(b.name, kind, member),
			Region:     cfg.Metadata.Region,
			Kind:       kind,
			Member:     member,
			Template:   body,
			Parameters: params,
			DependsOn:  deps,
			Tags:       b.tags(kind, member),
			Resources:  t.KeyResources(),
			Uploads:    t.uploads,
			Unknowns:   t.unknowns,
		})
		return nil
	}
	var sharedDeps []string
	if cfg.CreatesVPC() {
		if err := add(naming.KindVPC, 0, b.vpc(), map[string]string{}, nil); err != nil {
			return nil, err
		}
		sharedDeps = []string{naming.StackName(b.name, naming.KindVPC, 0)}
	}
	sharedT, sharedParams := b.shared()
	if err := add(naming.KindShared, 0, sharedT, sharedParams, sharedDeps); err != nil {
		return nil, err
	}
	shared := []string{naming.StackName(b.name, naming.KindShared, 0)}
	var opsDeps []string
	for _, m := range cfg.Members() {
		t, params := b.core(m)
		if err := add(naming.KindCore, m.Index, t, params, shared); err != nil {
			return nil, err
		}
		opsDeps = append(opsDeps, naming.StackName(b.name, naming.KindCore, m.Index))
	}
	if b.hasReplicas() {
		t, params := b.replicas()
		if err := add(naming.KindReplicas, 0, t, params, shared); err != nil {
			return nil, err
		}
		opsDeps = append(opsDeps, naming.StackName(b.name, naming.KindReplicas, 0))
	}
	opsT, opsParams := b.operations()
	if err := add(naming.KindOperations, 0, opsT, opsParams, append(append([]string{}, shared...), opsDeps...)); err != nil {
		return nil, err
	}
	return out, nil
}

// builder carries the config through the per-stack builders.
type builder struct {
	cfg  *cluster.ClusterConfig
	in   Inputs
	name string
}

func (b *builder) tags(kind string, member int) map[string]string {
	t := map[string]string{}
	for k, v := range b.cfg.Metadata.Tags {
		t[k] = v
	}
	t[naming.TagCluster] = b.name
	t[naming.TagStackKind] = kind
	t[naming.TagManagedBy] = "neo4jctl"
	v := b.in.Neo4jctlVersion
	if v == "" {
		v = "dev"
	}
	t[naming.TagVersion] = v
	if kind == naming.KindCore {
		t[naming.TagMember] = naming.CoreService(member)
	}
	return t
}

// resourceTags are the tags written on resources that neo4jctl (or the agent) finds by tag.
func (b *builder) resourceTags(extra ...string) []any {
	kv := map[string]string{naming.TagCluster: b.name, naming.TagManagedBy: "neo4jctl"}
	for i := 0; i+1 < len(extra); i += 2 {
		kv[extra[i]] = extra[i+1]
	}
	var out []any
	for _, k := range slices.Sorted(maps.Keys(kv)) {
		out = append(out, M{"Key": k, "Value": kv[k]})
	}
	return out
}

// imp imports a vpc/shared stack export.
func (b *builder) imp(output string) M {
	return M{"Fn::ImportValue": naming.Export(b.name, output)}
}

// image is the container image of every Neo4j task.
func (b *builder) image() any {
	switch {
	case b.in.Image != "":
		return b.in.Image
	case b.cfg.Neo4j.Image != "":
		return b.cfg.Neo4j.Image
	}
	return Sub("${AWS::AccountId}.dkr.ecr.${AWS::Region}.${AWS::URLSuffix}/" + naming.DefaultImageRepository + ":" + naming.ImageTag(b.cfg.Neo4j.Version, b.in.AgentSHA256))
}

// privateSubnets are the subnets the members, tasks and Lambdas live in, one per slot.
func (b *builder) privateSubnets() []any {
	var out []any
	if b.cfg.CreatesVPC() {
		for i := 0; i < b.cfg.SubnetSlots(); i++ {
			out = append(out, b.imp(OutputPrivateSubnet(i)))
		}
		return out
	}
	for _, s := range b.cfg.Network.Subnets {
		out = append(out, s)
	}
	return out
}

func (b *builder) vpcID() any {
	if b.cfg.CreatesVPC() {
		return b.imp(OutputVPCID)
	}
	return b.cfg.Network.VPCID
}

// M is a JSON object of a template; L a JSON array.
type (
	M = map[string]any
	L = []any
)

// Intrinsic function helpers.
func Ref(name string) M               { return M{"Ref": name} }
func GetAtt(res, attr string) M       { return M{"Fn::GetAtt": []any{res, attr}} }
func Sub(s string) M                  { return M{"Fn::Sub": s} }
func SubVars(s string, vars M) M      { return M{"Fn::Sub": []any{s, vars}} }
func Join(sep string, parts ...any) M { return M{"Fn::Join": []any{sep, parts}} }
func If(cond string, yes, no any) M   { return M{"Fn::If": []any{cond, yes, no}} }
func Select(i int, list any) M        { return M{"Fn::Select": []any{fmt.Sprint(i), list}} }
func Equals(a, b any) M               { return M{"Fn::Equals": []any{a, b}} }

var NoValue = M{"Ref": "AWS::NoValue"}

// Template is a CloudFormation template under construction.
type Template struct {
	Description string
	Parameters  M
	Conditions  M
	Resources   M
	Outputs     M
	// Metadata is the template's top-level Metadata (e.g. cfn-lint's settings).
	Metadata M
	key      []string // key resources for the plan, in insertion order
	uploads  []Upload
	unknowns []Unknown
}

// NewTemplate starts a template.
func NewTemplate(description string) *Template {
	return &Template{Description: description, Parameters: M{}, Conditions: M{}, Resources: M{}, Outputs: M{}, Metadata: M{}}
}

// Add puts a resource in the template; key resources are listed in the dry-run plan.
func (t *Template) Add(id, typ string, props M, key bool) M {
	r := M{"Type": typ}
	if props != nil {
		r["Properties"] = props
	}
	t.Resources[id] = r
	if key {
		t.key = append(t.key, typ+" "+id)
	}
	return r
}

// Retain keeps a resource on stack deletion and on replacement.
func Retain(r M) M {
	r["DeletionPolicy"] = "Retain"
	r["UpdateReplacePolicy"] = "Retain"
	return r
}

// Skip records checkov skips with their reasons in the resource's metadata.
func Skip(r M, idReason ...string) M {
	md, _ := r["Metadata"].(M)
	if md == nil {
		md = M{}
		r["Metadata"] = md
	}
	ck, _ := md["checkov"].(M)
	if ck == nil {
		ck = M{"skip": []any{}}
		md["checkov"] = ck
	}
	for i := 0; i+1 < len(idReason); i += 2 {
		ck["skip"] = append(ck["skip"].([]any), M{"id": idReason[i], "comment": idReason[i+1]})
	}
	return r
}

// GuardSuppress records why one AWS Control Tower proactive control (a cfn-guard rule of
// the Control Tower rule set) does not hold for a resource: the rule's name goes under
// Metadata.guard.SuppressedRules (the AWS Guard Rules Registry's convention) and the
// reason under Metadata.guard.Reasons. Control Tower itself reads neither: an account that
// enforces the control refuses the resource. They document a deliberate exception, and the
// tests tell it from a new finding.
func GuardSuppress(r M, rule, reason string) M {
	md, _ := r["Metadata"].(M)
	if md == nil {
		md = M{}
		r["Metadata"] = md
	}
	g, _ := md["guard"].(M)
	if g == nil {
		g = M{"SuppressedRules": []any{}, "Reasons": M{}}
		md["guard"] = g
	}
	g["SuppressedRules"] = append(g["SuppressedRules"].([]any), rule)
	g["Reasons"].(M)[rule] = reason
	return r
}

// Output declares an output; export names it naming.Export(cluster, name).
func (t *Template) Output(name string, value any, description string, export string) {
	o := M{"Value": value, "Description": description}
	if export != "" {
		o["Export"] = M{"Name": export}
	}
	t.Outputs[name] = o
}

// KeyResources lists the key resources for the dry-run plan.
func (t *Template) KeyResources() []string { return append([]string(nil), t.key...) }

// MaxTemplateBody is CloudFormation's limit on a template passed inline (TemplateBody): AWS
// refuses a larger one, moto does not. Templates are rendered compact to stay below it.
const MaxTemplateBody = 51200

// JSON renders the template deterministically (encoding/json sorts map keys) and compact:
// indented, the shared stack's template passes CloudFormation's inline limit (MaxTemplateBody).
func (t *Template) JSON() ([]byte, error) {
	doc := M{"AWSTemplateFormatVersion": "2010-09-09", "Description": t.Description, "Resources": t.Resources}
	if len(t.Parameters) > 0 {
		doc["Parameters"] = t.Parameters
	}
	if len(t.Conditions) > 0 {
		doc["Conditions"] = t.Conditions
	}
	if len(t.Outputs) > 0 {
		doc["Outputs"] = t.Outputs
	}
	if len(t.Metadata) > 0 {
		doc["Metadata"] = t.Metadata
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	body := buf.Bytes()
	if len(body) > MaxTemplateBody {
		return nil, fmt.Errorf("the template is %d bytes, more than the %d CloudFormation takes inline", len(body), MaxTemplateBody)
	}
	return body, nil
}

// envList renders ECS environment variables sorted by name.
func envList(env map[string]any) []any {
	var out []any
	for _, k := range slices.Sorted(maps.Keys(env)) {
		out = append(out, M{"Name": k, "Value": env[k]})
	}
	return out
}

// settingEnv is the official Neo4j image's env name of a neo4j.conf setting:
// NEO4J_ + dots to underscores, underscores doubled.
func settingEnv(setting string) string {
	return "NEO4J_" + strings.ReplaceAll(strings.ReplaceAll(setting, "_", "__"), ".", "_")
}

// jsonString renders compact JSON without HTML escaping (for embedded documents).
func jsonString(v any) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSpace(buf.String()), nil
}
