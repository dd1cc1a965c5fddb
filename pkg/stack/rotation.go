package stack

import (
	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

// Password rotation (users.rotation): Secrets Manager rotates the admin's and the managed
// users' secrets every N days with the agent's rotation function, which changes each
// password in Neo4j (ALTER USER, ALTER CURRENT USER for the admin) between the four rotation
// steps, so that clients reading the secret keep working.

// Logical ids of the rotation (shared and operations stacks).
const (
	sharedRotationRole = "RotationRole"
	opsRotation        = "RotationFunction"
	opsRotationPerm    = "RotationPermission"
)

// rotationRole is the rotation function's own role: it alone may write the secrets' versions
// (the other functions only read them).
func (b *builder) rotationRole(t *Template, keyArn any) {
	account := M{"StringEquals": M{"aws:SourceAccount": Sub("${AWS::AccountId}")}}
	t.Add(sharedRotationRole, "AWS::IAM::Role", M{
		"Description":              "neo4jctl " + b.name + ": secret rotation function (Secrets Manager, ALTER USER in Neo4j)",
		"AssumeRolePolicyDocument": assumeRole("lambda.amazonaws.com", account),
		"ManagedPolicyArns":        L{managed("service-role/AWSLambdaVPCAccessExecutionRole")},
		"Policies": L{M{"PolicyName": "rotate-secrets", "PolicyDocument": policyDoc(
			statement([]string{"secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue",
				"secretsmanager:UpdateSecretVersionStage"}, b.secretRefs(), nil),
			// GetRandomPassword has no resource
			statement([]string{"secretsmanager:GetRandomPassword"}, "*", nil),
			statement([]string{"kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"}, keyArn, nil),
			statement([]string{"sqs:SendMessage"}, Sub("arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:"+b.dlqName()), nil),
		)}},
		"Tags": b.resourceTags(),
	}, true)
	t.Output(OutputRotationRoleArn, GetAtt(sharedRotationRole, "Arn"), "Role of the secret rotation function", naming.Export(b.name, OutputRotationRoleArn))
}

// rotationSchedules gives the rotation function its role, lets Secrets Manager invoke it,
// and puts every managed secret on the users.rotation schedule. Nothing rotates when the
// stack is made or updated (RotateImmediatelyOnUpdate false): the first rotation comes after
// the first period, when the cluster has long formed.
func (b *builder) rotationSchedules(t *Template, fn M) {
	resourceProps(fn)["Role"] = b.imp(OutputRotationRoleArn)
	perm := t.Add(opsRotationPerm, "AWS::Lambda::Permission", M{
		"FunctionName":  Ref(opsRotation),
		"Action":        "lambda:InvokeFunction",
		"Principal":     "secretsmanager.amazonaws.com",
		"SourceAccount": Ref("AWS::AccountId"),
	}, false)
	GuardSuppress(perm, "lambda_function_public_access_prohibited_check", "Only Secrets Manager of this account "+
		"(SourceAccount, a Ref to AWS::AccountId that the rule cannot resolve in a template) may invoke the rotation "+
		"function; its secrets are in the shared stack, so a SourceArn would be an import, which the rule cannot resolve either.")
	secrets := []struct{ id, output string }{{"AdminSecretRotation", OutputAdminSecretArn}}
	if u := b.cfg.Users; u.ReadOnly != "" {
		secrets = append(secrets, struct{ id, output string }{"ReadOnlySecretRotation", OutputReadOnlySecretArn})
	}
	if u := b.cfg.Users; u.ReadWrite != "" {
		secrets = append(secrets, struct{ id, output string }{"ReadWriteSecretRotation", OutputReadWriteSecretArn})
	}
	for _, s := range secrets {
		t.Add(s.id, "AWS::SecretsManager::RotationSchedule", M{
			"SecretId":                  b.imp(s.output),
			"RotationLambdaARN":         GetAtt(opsRotation, "Arn"),
			"RotationRules":             M{"AutomaticallyAfterDays": b.cfg.Users.Rotation.Days},
			"RotateImmediatelyOnUpdate": false,
		}, true)["DependsOn"] = L{opsRotationPerm}
	}
}
