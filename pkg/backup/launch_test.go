package backup

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// TestSchedulerInputRoundTrip: what the template renders for the schedules' universal
// target reads back into the same RunTask request for `backup create`, and names every
// member as the API does (capitalised): EventBridge Scheduler's universal target refuses
// camelCase members.
func TestSchedulerInputRoundTrip(t *testing.T) {
	l := Launch{Cluster: "arn:aws:ecs:eu-west-1:1:cluster/neo4jctl-g", TaskDefinition: "arn:aws:ecs:eu-west-1:1:task-definition/neo4jctl-g-backup-full:3",
		Subnets: []string{"subnet-1", "subnet-2"}, SecurityGroups: []string{"sg-1"}, LaunchType: "FARGATE", PlatformVersion: "LATEST",
		ScratchGiB: 560, ScratchVolumeType: "gp3", KMSKeyARN: "arn:aws:kms:eu-west-1:1:key/k", InfrastructureRoleARN: "arn:aws:iam::1:role/infra",
		VolumeTags: map[string]string{"neo4jctl.io/cluster": "g"}, StartedBy: "neo4jctl-schedule"}
	in := l.RunTaskInput(nil)
	s, err := SchedulerInput(in)
	if err != nil {
		t.Fatal(err)
	}
	for _, member := range []string{`"Cluster":`, `"TaskDefinition":`, `"AwsvpcConfiguration":`, `"VolumeConfigurations":`, `"ManagedEBSVolume":`, `"SizeInGiB":560`, `"RoleArn":`, `"KmsKeyId":`} {
		if !strings.Contains(s, member) {
			t.Errorf("no %s in %s", member, s)
		}
	}
	if strings.Contains(s, "null") || strings.Contains(s, `"cluster"`) {
		t.Errorf("unset or camelCase members: %s", s)
	}
	back, err := ParseRunTaskInput(s)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(in)
	b, _ := json.Marshal(back)
	if string(a) != string(b) {
		t.Fatalf("round trip:\n%s\n%s", a, b)
	}
	withEnv := WithEnv(back, map[string]string{"NEO4JCTL_BACKUP_TYPE": "DIFF", "NEO4JCTL_BACKUP_DATABASES": "shop"})
	want := []ecstypes.KeyValuePair{{Name: aws.String("NEO4JCTL_BACKUP_DATABASES"), Value: aws.String("shop")}, {Name: aws.String("NEO4JCTL_BACKUP_TYPE"), Value: aws.String("DIFF")}}
	co := withEnv.Overrides.ContainerOverrides[0]
	if aws.ToString(co.Name) != ContainerName || !reflect.DeepEqual(jsonOf(co.Environment), jsonOf(want)) || back.Overrides != nil {
		t.Errorf("overrides %s", jsonOf(withEnv.Overrides))
	}
	if _, err := ParseRunTaskInput(`{"Cluster":"c"}`); err == nil {
		t.Error("an incomplete request parsed")
	}
}

func jsonOf(v any) string { b, _ := json.Marshal(v); return string(b) }
