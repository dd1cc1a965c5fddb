package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/neo4jctl/neo4jctl/pkg/engine"
	"github.com/neo4jctl/neo4jctl/pkg/printer"
)

func TestWriteDiff(t *testing.T) {
	var b bytes.Buffer
	writeDiff(&b, []*engine.ChangeSet{
		{Stack: "s-shared", NoChanges: true},
		{Stack: "s-core-1", Type: "UPDATE", Changes: []engine.Change{
			{Action: "Modify", LogicalID: "DataVolume", Type: "AWS::EC2::Volume", Replacement: "True", Properties: []string{"AvailabilityZone"}},
			{Action: "Modify", LogicalID: "TaskDefinition", Type: "AWS::ECS::TaskDefinition", Replacement: "Conditional"},
			{Action: "Add", LogicalID: "Alarm", Type: "AWS::CloudWatch::Alarm"},
			{Action: "Remove", LogicalID: "Old", Type: "AWS::SNS::Topic"},
		}},
		{Stack: "s-replicas", Type: "CREATE", Changes: []engine.Change{{Action: "Add", LogicalID: "Service", Type: "AWS::ECS::Service"}}},
		{Stack: "s-core-2", NoChanges: true},
	}, map[string][]string{"s-core-2": {"core-2 desired 0 → 1"}}, printer.Colors{})
	want := `s-shared: no changes
s-core-1: changes
  ~ Modify  DataVolume (AWS::EC2::Volume) [AvailabilityZone] REPLACEMENT
  ~ Modify  TaskDefinition (AWS::ECS::TaskDefinition) MAY BE REPLACED
  + Add     Alarm (AWS::CloudWatch::Alarm)
  - Remove  Old (AWS::SNS::Topic)
s-replicas: new stack
  + Add     Service (AWS::ECS::Service)
s-core-2: changes
  ~ core-2 desired 0 → 1
`
	if b.String() != want {
		t.Fatalf("writeDiff:\n%s\nwant:\n%s", b.String(), want)
	}
	if strings.Contains(b.String(), "\x1b[") {
		t.Fatal("colour without a terminal")
	}
}
