package ops

import (
	"fmt"
	"strings"

	"github.com/neo4jctl/neo4jctl/pkg/engine"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/stack"
)

// disruptiveTypes are the resources of a core member stack whose change restarts the member:
// a launch template change makes a new version, which the group's rolling update (one
// instance, MinInstancesInService 0) applies by terminating the instance; a task definition
// change is a new revision, which the service deploys by stopping the task first
// (MinimumHealthyPercent 0); a service change redeploys it.
var disruptiveTypes = map[string]string{
	"AWS::EC2::LaunchTemplate":           "new launch template version: the rolling update replaces the instance",
	"AWS::AutoScaling::AutoScalingGroup": "the rolling update replaces the instance",
	"AWS::EC2::Instance":                 "the instance is replaced",
	"AWS::ECS::TaskDefinition":           "new task definition: the service stops the task and starts a new one",
	"AWS::ECS::Service":                  "the service redeploys its task",
}

// disruptive reports whether a change in a running core member's stack restarts the member.
// Whatever the Replacement value says: on AWS an instance type change is a Modify of the
// launch template and the group (Replacement False), and still terminates the instance.
// Only a change of Tags alone on the group or the service leaves the member running.
func disruptive(c engine.Change) bool {
	if _, ok := disruptiveTypes[c.Type]; !ok {
		return false
	}
	if c.Action == "Modify" && len(c.Properties) > 0 && (c.Type == "AWS::AutoScaling::AutoScalingGroup" || c.Type == "AWS::ECS::Service") {
		for _, p := range c.Properties {
			if p != "Tags" {
				return true
			}
		}
		return false
	}
	return true
}

// refusals are the changes update refuses without --force: a core member's data volume
// replaced or removed, and a running core member restarted. replaced names, per stack, what
// replaces its instance in words (a new instance type, AMI or host agent): CloudFormation's
// change set shows only a modified launch template (moto not even that for a parameter).
// intended (nil: none) are the changes a command means to make, never refused.
func refusals(stacks []stack.Stack, sets map[string]*engine.ChangeSet, running map[string]bool, replaced map[string][]string,
	intended func(stack.Stack, engine.Change) bool) (reasons []string, restarts bool) {
	for _, s := range stacks {
		if s.Kind != naming.KindCore || sets[s.Name] == nil {
			continue
		}
		member := naming.CoreService(s.Member)
		var down []string
		if running[s.Name] {
			for _, why := range replaced[s.Name] {
				down = append(down, why+" (the rolling update replaces the instance)")
			}
		}
		for _, c := range sets[s.Name].Changes {
			switch {
			case intended != nil && intended(s, c):
			case c.Type == "AWS::EC2::Volume" && (c.Replaces() || c.Action == "Remove"):
				reasons = append(reasons, fmt.Sprintf("%s: %s %s would replace the data volume with a new, empty one (changing %s)", member, c.Action, c.LogicalID, strings.Join(c.Properties, ", ")))
			case running[s.Name] && disruptive(c):
				d := fmt.Sprintf("%s %s (%s", c.Action, c.LogicalID, disruptiveTypes[c.Type])
				if len(c.Properties) > 0 {
					d += "; changing " + strings.Join(c.Properties, ", ")
				}
				down = append(down, d+")")
			}
		}
		if len(down) > 0 {
			restarts = true
			reasons = append(reasons, fmt.Sprintf("%s is running and would restart: %s", member, strings.Join(down, ", ")))
		}
	}
	return reasons, restarts
}
