package stack

import (
	"fmt"
	"slices"
	"strings"

	"github.com/neo4jctl/neo4jctl/pkg/cluster"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

// replicas: one mixed-instances Auto Scaling group (Spot when asked), one capacity provider,
// one ECS service of N SECONDARY tasks, one task per instance, no volumes: a replica copies
// its databases from the primaries on start, onto the instance's root volume.
func (b *builder) replicas() (*Template, map[string]string) {
	cfg := b.cfg
	r := cfg.Replicas
	t := NewTemplate(fmt.Sprintf("neo4jctl %s: %d read replicas (secondaries)", b.name, r.Count))
	params := map[string]string{}
	arch := cluster.InstanceArch(r.InstanceTypes[0])
	image := b.addImageParameters(t, params, arch)
	tags := b.resourceTags("Name", naming.StackPrefix(b.name)+"-replica")

	// the root volume holds the replica's copy of the databases: as large as a core's volume
	root := cfg.Cores.Volume.SizeGiB + 30
	var agentSettings []string
	if r.Spot {
		// Spot's two-minute notice sets the instance DRAINING, so ECS stops the replica
		// cleanly and starts its replacement elsewhere before the instance goes
		agentSettings = append(agentSettings, "ECS_ENABLE_SPOT_INSTANCE_DRAINING=true")
	}
	head := b.userDataHead("replica: join ECS", fmt.Sprintf("%ds", replicaStopTimeoutSeconds), agentSettings...)
	b.launchTemplate(t, image, "", root, head+ecsAttribute(naming.AttrReplica), tags)

	var overrides []any
	for _, it := range r.InstanceTypes {
		overrides = append(overrides, M{"InstanceType": it})
	}
	onDemand := 100
	if r.Spot {
		onDemand = 0
	}
	asg := t.Add("AutoScalingGroup", "AWS::AutoScaling::AutoScalingGroup", M{
		"MinSize":           Ref(ParamInstanceCount),
		"MaxSize":           Ref(ParamInstanceCount),
		"DesiredCapacity":   Ref(ParamInstanceCount),
		"VPCZoneIdentifier": b.privateSubnets(),
		"MixedInstancesPolicy": M{
			"LaunchTemplate": M{
				"LaunchTemplateSpecification": M{"LaunchTemplateId": Ref("LaunchTemplate"), "Version": GetAtt("LaunchTemplate", "LatestVersionNumber")},
				"Overrides":                   overrides,
			},
			"InstancesDistribution": M{
				"OnDemandBaseCapacity":                0,
				"OnDemandPercentageAboveBaseCapacity": onDemand,
				"OnDemandAllocationStrategy":          "lowest-price",
				"SpotAllocationStrategy":              "price-capacity-optimized",
			},
		},
		"CapacityRebalance":                r.Spot,
		"HealthCheckType":                  "EC2",
		"HealthCheckGracePeriod":           300,
		"NewInstancesProtectedFromScaleIn": false,
		"Tags":                             asgTags(tags),
	}, true)
	// CloudFormation refuses a rolling update whose MinInstancesInService is not below the
	// group's size, so it follows the instances running now (0 while stopped)
	run := b.in.Run.replicas(r.Count)
	asg["UpdatePolicy"] = M{"AutoScalingRollingUpdate": M{"MinInstancesInService": max(0, run.Instances-1), "MaxBatchSize": 1}}
	b.replicaGroupControls(asg)

	capacityProvider(t, CapacityProviderName(cfg, 0), tags)

	td := t.Add("TaskDefinition", "AWS::ECS::TaskDefinition", M{
		"Family":                  naming.StackPrefix(b.name) + "-replica",
		"NetworkMode":             "awsvpc",
		"RequiresCompatibilities": L{"EC2"},
		"ExecutionRoleArn":        b.imp(OutputTaskExecutionRoleArn),
		"TaskRoleArn":             b.imp(OutputTaskRoleArn),
		"ContainerDefinitions":    L{b.neo4jContainer(roleReplica, cluster.Member{}, b.replicaMemory(), naming.LogStreamPrefixReplica, nil)},
		"Tags":                    tags,
	}, true)
	GuardSuppress(td, "ecs_containers_readonly_access_check", neo4jReadOnlyReason)

	minHealthy := 0
	if r.Count > 1 {
		minHealthy = 50
	}
	svc := t.Add("Service", "AWS::ECS::Service", M{
		"ServiceName":    naming.ReplicasService,
		"Cluster":        b.imp(OutputECSCluster),
		"TaskDefinition": Ref("TaskDefinition"),
		"DesiredCount":   Ref(ParamDesiredCount),
		"LaunchType":     "EC2",
		"DeploymentConfiguration": M{
			"MinimumHealthyPercent":    minHealthy,
			"MaximumPercent":           100, // exactly one instance per replica
			"DeploymentCircuitBreaker": M{"Enable": true, "Rollback": true},
		},
		"PlacementConstraints": L{
			M{"Type": "distinctInstance"},
			M{"Type": "memberOf", "Expression": fmt.Sprintf("attribute:%s == %s", naming.AttrMember, naming.AttrReplica)},
		},
		"NetworkConfiguration": M{"AwsvpcConfiguration": M{
			"Subnets":        b.privateSubnets(),
			"SecurityGroups": L{b.imp(OutputMembersSecurityGroup)},
			"AssignPublicIp": "DISABLED",
		}},
		"EnableECSManagedTags": true,
		"PropagateTags":        "SERVICE",
		"Tags":                 tags,
	}, true)
	svc["DependsOn"] = L{"AutoScalingGroup", "CapacityProvider"}

	t.Output(OutputAutoScalingGroup, Ref("AutoScalingGroup"), "Auto Scaling group of the replicas", "")
	t.Output(OutputCapacityProvider, Ref("CapacityProvider"), "Capacity provider of the replicas", "")
	t.Output(OutputService, GetAtt("Service", "Name"), "ECS service of the replicas", "")
	t.Output(OutputTaskDefinition, Ref("TaskDefinition"), "Task definition of the replicas", "")
	addCapacityParameters(t, params, run, r.Count, 0)
	return t, params
}

// replicaGroupControls meets Control Tower's Auto Scaling controls where the config allows,
// and says why not where it does not: the group names its AZs when neo4jctl made the VPC
// (CT.AUTOSCALING.PR.1), lists several instance types when replicas.instanceTypes does
// (PR.6), and only types that encrypt traffic in hardware when they all do (PR.11).
func (b *builder) replicaGroupControls(asg M) {
	cfg := b.cfg
	if cfg.CreatesVPC() {
		var azs []any
		for i := 0; i < cfg.SubnetSlots(); i++ {
			azs = append(azs, b.imp(OutputAZ(i)))
		}
		resourceProps(asg)["AvailabilityZones"] = azs
	} else {
		GuardSuppress(asg, "autoscaling_multiple_az_check", "The group spans every subnet of network.subnets "+
			"(VPCZoneIdentifier), so its AZs are those subnets' AZs. Existing subnets' AZs are known only once looked up in "+
			"AWS, so the template does not repeat them as AvailabilityZones (a list that disagreed would fail the stack).")
	}
	types := slices.Compact(slices.Sorted(slices.Values(cfg.Replicas.InstanceTypes)))
	if len(types) < 2 {
		GuardSuppress(asg, "autoscaling_mixed_instances_policy_multiple_instance_types_check", fmt.Sprintf(
			"replicas.instanceTypes lists one instance type (%s): list two or more of the same size and architecture "+
				"(e.g. r7g.large and r8g.large) so that the group can fall back when one type has no capacity.", strings.Join(types, ", ")))
	}
	var plain, unlisted []string
	for _, it := range types {
		family, _, _ := strings.Cut(it, ".")
		switch {
		case !cluster.EncryptsInTransit(it):
			plain = append(plain, it)
		case controlTowerUnlisted[family]:
			unlisted = append(unlisted, it)
		}
	}
	if len(unlisted) > 0 {
		why := fmt.Sprintf("replicas.instanceTypes includes %s: AWS Nitro types that encrypt traffic between instances "+
			"in hardware (EC2 User Guide, encryption in transit), newer than the instance lists of the Control Tower rules "+
			"neo4jctl tests with (cdklabs-cdk-validator-cfnguard 0.0.62), which stop at the 7th generation.", strings.Join(unlisted, ", "))
		GuardSuppress(asg, "autoscaling_group_nitro_instance_override_check", why)
		if len(plain) == 0 {
			GuardSuppress(asg, "autoscaling_group_nitro_encryption_in_transit_override_check", why)
		}
	}
	if len(plain) > 0 {
		GuardSuppress(asg, "autoscaling_group_nitro_encryption_in_transit_override_check", fmt.Sprintf(
			"replicas.instanceTypes includes %s, whose traffic to other instances AWS Nitro does not encrypt in hardware: "+
				"traffic between these replicas and the other members is encrypted only if Neo4j's own SSL is set up. Types such "+
				"as r7g, r7i or m7g encrypt it in hardware and meet the control.", strings.Join(plain, ", ")))
	}
}

func resourceProps(r M) M { p, _ := r["Properties"].(M); return p }

// controlTowerUnlisted are the instance families cluster.EncryptsInTransit knows that the
// Control Tower rules' instance lists (pinned rule set) do not name yet.
var controlTowerUnlisted = map[string]bool{"c8g": true, "c8gd": true, "c8gn": true, "m8g": true, "m8gd": true,
	"r8g": true, "r8gd": true, "x8g": true}
