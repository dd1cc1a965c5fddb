package stack

import (
	"fmt"
	"strings"

	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

// Stack parameters: the values a stack takes from outside the config. Build puts every one
// in Stack.Parameters (from Inputs, or its documented fallback); the engine passes them
// through. The contract for whoever fills Inputs (pkg/ops, or a person deploying the
// `generate templates` output by hand):
//
// ParamImageID (core and replicas stacks): the ECS-optimized Amazon Linux 2023 AMI the
// instances boot, pinned. At create, resolve the public SSM parameter AMIParameter(arch)
// once (ssm:GetParameter) and pass the id in Inputs.ImageIDs[arch]. At update, pass the
// value the live stack already has (DescribeStacks, Parameters[ImageId]), so an AMI that
// AWS published since never replaces a member's instance; moving to a newer AMI is an
// explicit action that passes a freshly resolved id and rolls the members like any other
// instance change. Empty (no Inputs.ImageIDs entry): the stack resolves
// ParamImageSSMParameter itself on every deployment, unpinned, as stacks made before the
// pin did. (A stack made before the pin has ImageId as an SSM-typed parameter whose value
// is the SSM path: its ResolvedValue is the AMI that stack runs.)
//
// ParamHostAgentSHA256 (core stacks): the SHA-256 of the agent bundle (naming.AgentKey) the
// member's instance downloads from the cluster bucket at boot to attach its volume. Pinned
// like the AMI: at create the current bundle's (Inputs.SetAgent), at update the live
// stack's value unless the host is refreshed with the AMI, so a new neo4jctl release does
// not replace every member's instance. The bundle must be in the bucket before the member
// stack is created (the engine uploads it right after the shared stack).
//
// Existing ids (adoption of the data an earlier cluster of the same name kept): "" makes the
// stack create the resource; an id makes it use that one instead and create none. Secret
// names are fixed (naming.AdminSecret, ...), so a kept secret must be adopted: creating it
// again fails with "already exists".
//   - ParamExistingVolumeID (core stack of member N): the kept data volume of member N
//     (tags naming.TagCluster=<name>, naming.TagMember=core-N, naming.TagRole=data), in
//     the member's AZ (refuse one in another AZ: the instance cannot attach it). Inputs.Adopt.Volumes[N].
//   - ParamExistingKMSKeyArn, ParamExistingBucketName (shared stack): the kept key (by
//     tag naming.TagCluster) and bucket. Inputs.Adopt.KMSKeyArn, .BucketName.
//   - ParamExistingAdminSecretArn, ParamExistingReadOnlySecretArn,
//     ParamExistingReadWriteSecretArn (shared stack; the user ones only with that user):
//     the ARNs of the secrets with those names. Inputs.Adopt.*SecretArn.
//
// Switching a live stack from created to adopted (or back) removes the resource from the
// stack: every one of them is retained, so nothing is deleted. An adopted resource is not
// managed by the stack: a later change of cores.volume or of the bucket's lifecycle does not
// reach it; the engine must say so in its plan.
//
// ParamAvailabilityZone (core stacks in an existing VPC): the AZ of the member's subnet
// (ec2:DescribeSubnets; Inputs.SubnetAZs). ParamDesiredCount: see its comment.
const (
	ParamImageID                      = "ImageId"
	ParamImageSSMParameter            = "ImageSSMParameter"
	ParamHostAgentSHA256              = "HostAgentSHA256"
	ParamAvailabilityZone             = "AvailabilityZone"
	ParamExistingVolumeID             = "ExistingVolumeId"
	ParamExistingKMSKeyArn            = "ExistingKMSKeyArn"
	ParamExistingBucketName           = "ExistingBucketName"
	ParamExistingAdminSecretArn       = "ExistingAdminSecretArn"
	ParamExistingReadOnlySecretArn    = "ExistingReadOnlySecretArn"
	ParamExistingReadWriteSecretArn   = "ExistingReadWriteSecretArn"
	condPinnedImage                   = "PinnedImage"
	condAdoptPrefix, condCreatePrefix = "Adopt", "Create"
)

// ExistingParameters are the existing-id parameters of every stack kind: an update passes
// each live stack's values on, so that an adopted resource stays adopted.
var ExistingParameters = []string{ParamExistingVolumeID, ParamExistingKMSKeyArn, ParamExistingBucketName,
	ParamExistingAdminSecretArn, ParamExistingReadOnlySecretArn, ParamExistingReadWriteSecretArn}

// Adoption names kept resources of an earlier cluster of the same name for the stacks to use
// instead of creating new ones (see the Existing* parameters). Empty fields: create.
type Adoption struct {
	KMSKeyArn          string
	BucketName         string
	AdminSecretArn     string
	ReadOnlySecretArn  string
	ReadWriteSecretArn string
	Volumes            map[int]string // member index (1-based) -> volume id
}

// AMIParameter is the public SSM parameter of the ECS-optimized Amazon Linux 2023 AMI.
func AMIParameter(arch string) string {
	if arch == "arm64" {
		return "/aws/service/ecs/optimized-ami/amazon-linux-2023/arm64/recommended/image_id"
	}
	return "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id"
}

// addImageParameters declares the pinned AMI and its SSM fallback, and returns the value
// the launch template's ImageId takes.
func (b *builder) addImageParameters(t *Template, params map[string]string, arch string) any {
	t.Parameters[ParamImageID] = M{
		"Type":           "String",
		"Default":        "",
		"AllowedPattern": "^(ami-[0-9a-f]{8,17})?$",
		"Description":    "Pinned ECS-optimized Amazon Linux 2023 AMI (" + arch + "); neo4jctl resolves it once and keeps it. Empty: resolve " + ParamImageSSMParameter + " at every deployment.",
	}
	t.Parameters[ParamImageSSMParameter] = M{
		"Type":        "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>",
		"Default":     AMIParameter(arch),
		"Description": "Public SSM parameter of the ECS-optimized AMI, used only while " + ParamImageID + " is empty",
	}
	t.Conditions[condPinnedImage] = M{"Fn::Not": L{Equals(Ref(ParamImageID), "")}}
	params[ParamImageID] = b.in.ImageIDs[arch]
	params[ParamImageSSMParameter] = AMIParameter(arch)
	if params[ParamImageID] == "" {
		// for a deployment by hand (WriteDir) the AMI is pinned too: looked up, or written down
		t.unknowns = append(t.unknowns, Unknown{Parameter: ParamImageID,
			What:   "the ECS-optimized AMI (" + arch + ") to pin, or nothing to take the newest at every deployment (and replace the instances whenever AWS publishes one)",
			Lookup: "aws ssm get-parameter --region " + b.cfg.Metadata.Region + " --name " + AMIParameter(arch) + " --query Parameter.Value --output text"})
	}
	return If(condPinnedImage, Ref(ParamImageID), Ref(ParamImageSSMParameter))
}

// adoptable declares an existing-id parameter with its two conditions (Adopt<what>,
// Create<what>) and returns the create condition's name and a value that is the given id
// when adopted, else created.
func adoptable(t *Template, params map[string]string, param, what, pattern, value, desc string, adopted, created any) (string, M) {
	t.Parameters[param] = M{
		"Type":           "String",
		"Default":        "",
		"AllowedPattern": "^(" + pattern + ")?$",
		"Description":    desc + " Empty: the stack creates it.",
	}
	params[param] = value
	adopt, create := condAdoptPrefix+what, condCreatePrefix+what
	t.Conditions[adopt] = M{"Fn::Not": L{Equals(Ref(param), "")}}
	t.Conditions[create] = Equals(Ref(param), "")
	return create, If(adopt, adopted, created)
}

// conditional puts a resource under a condition.
func conditional(r M, cond string) M {
	r["Condition"] = cond
	return r
}

// hostAgentSHA256 is the SHA-256 of arch's agent bundle, zeros when none was given (a
// placeholder: the host's download then fails and says so).
func (b *builder) hostAgentSHA256(arch string) string {
	if s := b.in.AgentSHAs[arch]; s != "" {
		return s
	}
	return fmt.Sprintf("%064d", 0)
}

// hostAgentKey is the S3 key of the host's agent bundle in the bucket, from the parameter.
func hostAgentKey(arch string) M {
	before, after, _ := strings.Cut(naming.AgentKey(arch, "@"), "@")
	return Join("", before, Ref(ParamHostAgentSHA256), after)
}
