package stack

import (
	"fmt"

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
	count := fmt.Sprint(r.Count)
	asg := t.Add("AutoScalingGroup", "AWS::AutoScaling::AutoScalingGroup", M{
		"MinSize":           count,
		"MaxSize":           count,
		"DesiredCapacity":   count,
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
	asg["UpdatePolicy"] = M{"AutoScalingRollingUpdate": M{"MinInstancesInService": max(0, r.Count-1), "MaxBatchSize": 1}}

	capacityProvider(t, CapacityProviderName(cfg, 0), tags)

	t.Add("TaskDefinition", "AWS::ECS::TaskDefinition", M{
		"Family":                  naming.StackPrefix(b.name) + "-replica",
		"NetworkMode":             "awsvpc",
		"RequiresCompatibilities": L{"EC2"},
		"ExecutionRoleArn":        b.imp(OutputTaskExecutionRoleArn),
		"TaskRoleArn":             b.imp(OutputTaskRoleArn),
		"ContainerDefinitions":    L{b.neo4jContainer(roleReplica, cluster.Member{}, b.replicaMemory(), naming.LogStreamPrefixReplica, nil)},
		"Tags":                    tags,
	}, true)

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
	addDesiredCountParameter(t, params, r.Count)
	return t, params
}
