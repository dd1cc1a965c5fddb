package cluster

import (
	"reflect"
	"strings"
	"testing"
)

func TestTransitEncryption(t *testing.T) {
	for _, tc := range []struct {
		yaml string
		want TransitEncryption
	}{
		{"cores: {instanceType: r7g.large}", TransitEncryption{CoreToCore: true}},
		{"cores: {count: 1, allowNonHA: true, instanceType: t4g.xlarge}", TransitEncryption{Unencrypting: []string{"t4g.xlarge"}}},
		{"cores: {instanceType: r7i.large}\nreplicas: {count: 2, instanceTypes: [r7i.large, r6i.large]}",
			TransitEncryption{CoreToCore: true, CoreToReplica: true, ReplicaToReplica: true}},
		{"cores: {instanceType: r7g.large}\nreplicas: {count: 2, instanceTypes: [r7g.large, r6g.large]}",
			TransitEncryption{CoreToCore: true, Unencrypting: []string{"r6g.large"}}},
		{"cores: {instanceType: r6g.large}\nreplicas: {count: 2, instanceTypes: [r6g.large, r7g.large]}",
			TransitEncryption{Unencrypting: []string{"r6g.large"}}},
		{"cores: {instanceType: r7g.large}\nreplicas: {count: 0, instanceTypes: [r6g.large, r7g.large]}", TransitEncryption{CoreToCore: true}},
	} {
		f, err := Decode([]byte("apiVersion: neo4jctl.io/v1alpha1\nkind: ClusterConfig\nmetadata: {name: t, region: eu-west-1}\nneo4j: {acceptLicense: \"yes\"}\n" + tc.yaml + "\n"))
		if err != nil {
			t.Fatal(err)
		}
		SetDefaults(f.Config)
		if got := f.Config.TransitEncryption(); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.yaml, got, tc.want)
		}
	}
	for typ, want := range map[string]bool{"r7g.large": true, "m7i-flex.large": true, "u-6tb1.metal": true, "r6g.large": false, "t3.large": false, "r7g": false, "c8g.xlarge": true} {
		if got := EncryptsInTransit(typ); got != want {
			t.Errorf("EncryptsInTransit(%s) = %v", typ, got)
		}
	}
}

// The bucket hardening and rotation fields: valid forms, defaults, and each refusal with its
// field and line.
func TestBackupBucketAndRotationFields(t *testing.T) {
	const key = "arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	f, err := load(t, minimal+`backup:
  retention: {days: 30}
  accessLogs: {bucket: my-logs}
  objectLock: {mode: compliance, days: 30}
  copyTo: {region: eu-central-1, bucket: graph-dr, kmsKeyARN: "`+key+`"}
users: {readOnly: reader, rotation: {days: 30}}
`)
	if err != nil {
		t.Fatal(err)
	}
	b := f.Config.Backup
	if b.AccessLogs.Prefix != "graph/" || b.ObjectLock.Days != 30 || b.CopyTo.KMSKeyARN != key || f.Config.Users.Rotation.Days != 30 {
		t.Errorf("decoded/defaulted: %+v %+v %+v %+v", b.AccessLogs, b.ObjectLock, b.CopyTo, f.Config.Users.Rotation)
	}
	type problem struct {
		path string
		line int
		text string
	}
	for _, tc := range []struct {
		name string
		doc  string
		want []problem
	}{
		{"lock longer than retention, bad mode", minimal + "backup:\n  retention: {days: 7}\n  objectLock: {mode: legal, days: 30}\n", []problem{
			{"backup.objectLock.mode", 10, "not an object lock mode"}, {"backup.objectLock.days", 10, "longer than backup.retention.days (7)"},
		}},
		{"lock without backups", minimal + "backup:\n  enabled: false\n  objectLock: {mode: governance, days: 1}\n  copyTo: {region: eu-central-1, bucket: graph-dr, kmsKeyARN: \"" + key + "\"}\n", []problem{
			{"backup.objectLock", 10, "backups are off"}, {"backup.copyTo", 11, "backups are off"},
		}},
		{"copy in the same region, key elsewhere", minimal + "backup:\n  copyTo:\n    region: eu-west-1\n    bucket: Bad_Bucket\n    kmsKeyARN: \"" + key + "\"\n", []problem{
			{"backup.copyTo.region", 10, "the cluster's own region"}, {"backup.copyTo.bucket", 11, "not an S3 bucket name"},
			{"backup.copyTo.kmsKeyARN", 12, "the key is in eu-central-1, the copy in eu-west-1"},
		}},
		{"copy to an unknown region, alias not key", minimal + "backup:\n  copyTo: {region: eu-cental-1, bucket: graph-dr, kmsKeyARN: alias/dr}\n", []problem{
			{"backup.copyTo.region", 9, "did you mean eu-central-1?"}, {"backup.copyTo.kmsKeyARN", 9, "not a KMS key ARN"},
		}},
		{"access logs bucket", minimal + "backup:\n  accessLogs: {bucket: 192.168.1.1, prefix: /logs}\n", []problem{
			{"backup.accessLogs.bucket", 9, "not an S3 bucket name"}, {"backup.accessLogs.prefix", 9, "not a key prefix"},
		}},
		{"rotation range", minimal + "users:\n  rotation: {days: 1001}\n", []problem{{"users.rotation.days", 9, "1 to 1000"}}},
		{"rotation without days", minimal + "users: {rotation: {}}\n", []problem{{"users.rotation.days", 8, "0 is not supported"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := load(t, tc.doc)
			list, ok := err.(ErrorList)
			if !ok {
				t.Fatalf("want an ErrorList, got %T %v", err, err)
			}
			if len(list) != len(tc.want) {
				t.Fatalf("want %d problems, got %d:\n%v", len(tc.want), len(list), err)
			}
			for i, w := range tc.want {
				got := list[i]
				if got.Path != w.path || got.Line != w.line || !strings.Contains(got.Error(), w.text) {
					t.Errorf("problem %d: want %s at line %d containing %q, got %s at line %d: %q", i, w.path, w.line, w.text, got.Path, got.Line, got.Error())
				}
			}
		})
	}
}

func TestValidateUpdateKeepsObjectLock(t *testing.T) {
	locked, err := load(t, minimal+"backup:\n  objectLock: {mode: compliance, days: 7}\n")
	if err != nil {
		t.Fatal(err)
	}
	plain, err := load(t, minimal+"backup:\n  retention: {days: 14}\n")
	if err != nil {
		t.Fatal(err)
	}
	shorter, err := load(t, minimal+"backup:\n  objectLock: {mode: governance, days: 1}\n")
	if err != nil {
		t.Fatal(err)
	}
	err = ValidateUpdate(locked.Config, plain.Config, plain)
	list, ok := err.(ErrorList)
	if !ok || len(list) != 1 || list[0].Path != "backup" || list[0].Line != 8 || !IsConfigError(err) {
		t.Fatalf("removing object lock: %v", err)
	}
	if err := ValidateUpdate(locked.Config, shorter.Config, shorter); err != nil {
		t.Errorf("a shorter lock in governance mode is an allowed change: %v", err)
	}
	if err := ValidateUpdate(plain.Config, locked.Config, locked); err != nil {
		t.Errorf("turning the lock on is allowed: %v", err)
	}
}
