package iampolicy

import (
	"reflect"
)

// prefixes are the IAM service prefixes of the SDK's service ids.
var prefixes = map[string]string{
	"Auto Scaling":                "autoscaling",
	"CloudFormation":              "cloudformation",
	"CloudWatch":                  "cloudwatch",
	"CloudWatch Logs":             "logs",
	"EC2":                         "ec2",
	"ECR":                         "ecr",
	"ECS":                         "ecs",
	"EventBridge":                 "events",
	"IAM":                         "iam",
	"KMS":                         "kms",
	"Lambda":                      "lambda",
	"Resource Groups Tagging API": "tag",
	"S3":                          "s3",
	"Scheduler":                   "scheduler",
	"Secrets Manager":             "secretsmanager",
	"ServiceDiscovery":            "servicediscovery",
	"SNS":                         "sns",
	"SSM":                         "ssm",
	"STS":                         "sts",
}

// renamed are the API operations whose IAM action has another name.
var renamed = map[string]string{
	"s3:HeadObject":              "s3:GetObject",
	"s3:HeadBucket":              "s3:ListBucket",
	"s3:ListObjects":             "s3:ListBucket",
	"s3:ListObjectsV2":           "s3:ListBucket",
	"s3:ListObjectVersions":      "s3:ListBucketVersions",
	"s3:ListBuckets":             "s3:ListAllMyBuckets",
	"s3:DeleteObjects":           "s3:DeleteObject",
	"s3:CreateMultipartUpload":   "s3:PutObject",
	"s3:UploadPart":              "s3:PutObject",
	"s3:CompleteMultipartUpload": "s3:PutObject",
	// bucket configuration: one IAM action reads (Get...) and one writes (Put..., also for
	// the Delete... calls)
	"s3:GetBucketEncryption":                "s3:GetEncryptionConfiguration",
	"s3:PutBucketEncryption":                "s3:PutEncryptionConfiguration",
	"s3:DeleteBucketEncryption":             "s3:PutEncryptionConfiguration",
	"s3:GetBucketLifecycleConfiguration":    "s3:GetLifecycleConfiguration",
	"s3:PutBucketLifecycleConfiguration":    "s3:PutLifecycleConfiguration",
	"s3:DeleteBucketLifecycle":              "s3:PutLifecycleConfiguration",
	"s3:DeleteBucketCors":                   "s3:PutBucketCORS",
	"s3:GetBucketReplication":               "s3:GetReplicationConfiguration",
	"s3:PutBucketReplication":               "s3:PutReplicationConfiguration",
	"s3:DeleteBucketReplication":            "s3:PutReplicationConfiguration",
	"s3:DeleteBucketAnalyticsConfiguration": "s3:PutAnalyticsConfiguration",
	"s3:DeleteBucketMetricsConfiguration":   "s3:PutMetricsConfiguration",
	"s3:GetObjectLockConfiguration":         "s3:GetBucketObjectLockConfiguration",
	"s3:PutObjectLockConfiguration":         "s3:PutBucketObjectLockConfiguration",
	"lambda:Invoke":                         "lambda:InvokeFunction",
	"lambda:InvokeWithResponseStream":       "lambda:InvokeFunction",
}

// IAMAction is the IAM action of an API operation written as an action ("s3:DeleteBucketCors"
// is allowed by "s3:PutBucketCORS"); other actions are returned as they are.
func IAMAction(a string) string {
	if r, ok := renamed[a]; ok {
		return r
	}
	return a
}

// versioned are the S3 object actions that need their ...Version action when the request
// names a version.
var versioned = map[string]string{
	"s3:GetObject":    "s3:GetObjectVersion",
	"s3:DeleteObject": "s3:DeleteObjectVersion",
}

// Action is the IAM action an AWS API call needs: service is the SDK's service id (e.g.
// "CloudFormation", "Auto Scaling"), operation the API operation, input the request (an S3
// request naming a VersionId needs the ...Version action). "" for a service neo4jctl does
// not know the IAM prefix of.
func Action(service, operation string, input any) string {
	prefix, ok := prefixes[service]
	if !ok {
		return ""
	}
	a := prefix + ":" + operation
	if r, ok := renamed[a]; ok {
		a = r
	}
	if v, ok := versioned[a]; ok && namesVersion(input) {
		a = v
	}
	return a
}

// namesVersion reports whether a request has a non-empty VersionId.
func namesVersion(input any) bool {
	v := reflect.ValueOf(input)
	if v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return false
	}
	f := v.FieldByName("VersionId")
	return f.IsValid() && f.Kind() == reflect.Pointer && !f.IsNil() && f.Elem().String() != ""
}
