package stack

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/neo4jctl/neo4jctl/pkg/cluster"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

const (
	// ParamDesiredCount carries an ECS service's desired count (see run.go), so that what
	// stop, start and scale set survives every update.
	ParamDesiredCount = "DesiredCount"
)

// capacityProvider puts the stack's Auto Scaling group behind ECS with managed draining, so
// a terminating instance's tasks are stopped cleanly; neo4jctl itself sequences members, so
// ECS neither scales nor protects.
func capacityProvider(t *Template, name string, tags []any) {
	t.Add("CapacityProvider", "AWS::ECS::CapacityProvider", M{
		"Name": name,
		"AutoScalingGroupProvider": M{
			"AutoScalingGroupArn":          Ref("AutoScalingGroup"),
			"ManagedScaling":               M{"Status": "DISABLED"},
			"ManagedTerminationProtection": "DISABLED",
			"ManagedDraining":              "ENABLED",
		},
		"Tags": tags,
	}, true)
}

// InstanceType is the instance type in a core member template's launch template ("" when it
// names none: a replicas template, whose group's overrides name them, or a template from
// before cores had one).
func InstanceType(template []byte) string {
	var t struct {
		Resources map[string]struct {
			Properties struct {
				LaunchTemplateData struct{ InstanceType string }
			}
		}
	}
	if json.Unmarshal(template, &t) != nil {
		return ""
	}
	return t.Resources["LaunchTemplate"].Properties.LaunchTemplateData.InstanceType
}

// launchTemplate is the container instances' launch template: IMDSv2 only, encrypted root,
// no public address, the instance role, and the user data. instanceType is the type of a
// core member's instance; the replicas pass "" (their group's overrides name the types).
// Without it a member's group would launch whatever EC2 defaults to, or fail: moto, cfn-lint
// and checkov all accept a launch template without one.
func (b *builder) launchTemplate(t *Template, image any, instanceType string, rootGiB int, userData any, tags []any) {
	data := M{
		"ImageId":            image,
		"IamInstanceProfile": M{"Name": b.imp(OutputInstanceProfile)},
		"MetadataOptions": M{
			"HttpEndpoint":            "enabled",
			"HttpTokens":              "required",
			"HttpPutResponseHopLimit": 1, // tasks are awsvpc and blocked from IMDS (ECS_AWSVPC_BLOCK_IMDS)
			"InstanceMetadataTags":    "disabled",
		},
		"BlockDeviceMappings": L{M{
			"DeviceName": "/dev/xvda",
			"Ebs":        M{"VolumeSize": rootGiB, "VolumeType": "gp3", "Encrypted": true, "DeleteOnTermination": true},
		}},
		"NetworkInterfaces": L{M{
			"DeviceIndex":              0,
			"AssociatePublicIpAddress": false,
			"Groups":                   L{b.imp(OutputInstanceSecurityGroup)},
			"DeleteOnTermination":      true,
		}},
		"Monitoring": M{"Enabled": true},
		"UserData":   M{"Fn::Base64": userData},
		"TagSpecifications": L{
			M{"ResourceType": "instance", "Tags": tags},
			M{"ResourceType": "volume", "Tags": tags},
		},
	}
	if instanceType != "" {
		data["InstanceType"] = instanceType
	}
	t.Add("LaunchTemplate", "AWS::EC2::LaunchTemplate", M{"LaunchTemplateData": data}, true)
}

// asgTags are resource tags propagated to the instances.
func asgTags(tags []any) []any {
	var out []any
	for _, tag := range tags {
		tm := tag.(M)
		out = append(out, M{"Key": tm["Key"], "Value": tm["Value"], "PropagateAtLaunch": true})
	}
	return out
}

// ecsAttribute is the end of user data: advertise the placement attribute to ECS.
func ecsAttribute(attr string) string {
	return "cat >> /etc/ecs/ecs.config <<'CONFIG'\n" +
		fmt.Sprintf(`ECS_INSTANCE_ATTRIBUTES={"%s":"%s"}`, naming.AttrMember, attr) + "\n" +
		"CONFIG\n" +
		"# the ECS agent starts after user data; should it already run, make it read the attribute\n" +
		"if systemctl is-active --quiet ecs; then systemctl restart --no-block ecs; fi\n"
}

// userDataHead starts every instance's user data: join this cluster's ECS cluster, keep
// awsvpc tasks away from the instance metadata, give Neo4j time to stop cleanly (stopTimeout:
// the ECS agent's default for containers whose task definition sets none), and the extra ECS
// agent settings (KEY=value lines).
func (b *builder) userDataHead(what, stopTimeout string, extra ...string) string {
	return "#!/bin/bash\n" +
		fmt.Sprintf("# neo4jctl %s: %s\n", b.name, what) +
		"set -euo pipefail\n" +
		"exec > >(tee -a /var/log/neo4jctl-init.log) 2>&1\n" +
		"cat >> /etc/ecs/ecs.config <<'CONFIG'\n" +
		"ECS_CLUSTER=" + naming.ECSCluster(b.name) + "\n" +
		"ECS_AWSVPC_BLOCK_IMDS=true\n" +
		"ECS_CONTAINER_STOP_TIMEOUT=" + stopTimeout + "\n" +
		"ECS_ENABLE_CONTAINER_METADATA=true\n" +
		strings.Join(append(extra, ""), "\n") +
		"CONFIG\n"
}

func (b *builder) core(m cluster.Member) (*Template, map[string]string) {
	cfg := b.cfg
	t := NewTemplate(fmt.Sprintf("neo4jctl %s: core member %s (%s): instance, retained data volume, ECS service", b.name, m.Name, m.DNSName))
	params := map[string]string{}
	image := b.addImageParameters(t, params, cfg.Arch())
	t.Parameters[ParamHostAgentSHA256] = M{
		"Type":           "String",
		"AllowedPattern": "^[0-9a-f]{64}$",
		"Description":    "SHA-256 of the agent bundle (" + cfg.Arch() + ") the instance downloads from the cluster bucket to attach its volume; neo4jctl keeps it with the AMI",
	}
	params[ParamHostAgentSHA256] = b.hostAgentSHA256(cfg.Arch())
	t.uploads = append(t.uploads, Upload{Key: naming.AgentKey(cfg.Arch(), b.hostAgentSHA256(cfg.Arch())), Arch: cfg.Arch(), SHA256: b.hostAgentSHA256(cfg.Arch())})

	var subnet, az any
	if cfg.CreatesVPC() {
		subnet = b.imp(OutputPrivateSubnet(m.SubnetIndex))
		az = b.imp(OutputAZ(m.SubnetIndex))
	} else {
		subnet = m.Subnet
		t.Parameters[ParamAvailabilityZone] = M{
			"Type":        "AWS::EC2::AvailabilityZone::Name",
			"Description": "Availability zone of subnet " + m.Subnet + " (the member's volume lives there)",
		}
		params[ParamAvailabilityZone] = b.in.SubnetAZs[m.Subnet]
		if params[ParamAvailabilityZone] == "" {
			t.unknowns = append(t.unknowns, Unknown{Parameter: ParamAvailabilityZone, What: "the availability zone of subnet " + m.Subnet,
				Lookup: "aws ec2 describe-subnets --region " + cfg.Metadata.Region + " --subnet-ids " + m.Subnet + " --query 'Subnets[0].AvailabilityZone' --output text"})
		}
		az = Ref(ParamAvailabilityZone)
	}
	tags := b.resourceTags(naming.TagMember, m.Name, "Name", naming.StackPrefix(b.name)+"-"+m.Name)
	// only the data volume has the data role: the instance's root volume gets the member
	// tags from the launch template, and the user data must never take it for the data
	volumeTags := b.resourceTags(naming.TagMember, m.Name, "Name", naming.StackPrefix(b.name)+"-"+m.Name+"-data",
		naming.TagRole, naming.TagRoleData)

	// The member's data: retained across stack deletion and replacement.
	v := cfg.Cores.Volume
	vol := M{
		"AvailabilityZone": az,
		"Size":             v.SizeGiB,
		"VolumeType":       v.Type,
		"Encrypted":        true,
		"KmsKeyId":         b.imp(OutputKMSKeyArn),
		"Tags":             volumeTags,
	}
	if v.IOPS > 0 {
		vol["Iops"] = v.IOPS
	}
	if v.Type == "gp3" && v.ThroughputMiBps > 0 {
		vol["Throughput"] = v.ThroughputMiBps
	}
	createVolume, volumeID := adoptable(t, params, ParamExistingVolumeID, "Volume", `vol-[0-9a-f]{8,17}`, b.in.Adopt.Volumes[m.Index],
		"Data volume of "+m.Name+" an earlier cluster "+b.name+" kept (same member, same AZ).", Ref(ParamExistingVolumeID), Ref("DataVolume"))
	conditional(Retain(t.Add("DataVolume", "AWS::EC2::Volume", vol, true)), createVolume)

	b.launchTemplate(t, image, cfg.Cores.InstanceType, 30, b.coreUserData(m, volumeID), tags)
	asg := t.Add("AutoScalingGroup", "AWS::AutoScaling::AutoScalingGroup", M{
		"MinSize":                          Ref(ParamInstanceCount),
		"MaxSize":                          Ref(ParamInstanceCount),
		"DesiredCapacity":                  Ref(ParamInstanceCount),
		"VPCZoneIdentifier":                L{subnet},
		"LaunchTemplate":                   M{"LaunchTemplateId": Ref("LaunchTemplate"), "Version": GetAtt("LaunchTemplate", "LatestVersionNumber")},
		"HealthCheckType":                  "EC2",
		"HealthCheckGracePeriod":           300,
		"NewInstancesProtectedFromScaleIn": false,
		"Tags":                             asgTags(tags),
	}, true)
	// one instance per member: the old one goes before the new one comes (the volume moves)
	asg["UpdatePolicy"] = M{"AutoScalingRollingUpdate": M{"MinInstancesInService": 0, "MaxBatchSize": 1}}
	GuardSuppress(asg, "autoscaling_multiple_az_check", "A core member is deliberately one instance in one AZ: its data volume "+
		"lives in that AZ (EBS volumes attach only within their AZ). The cluster's availability comes from its 3, 5 or 7 "+
		"members spread round-robin over the subnets' AZs, not from this group.")
	GuardSuppress(asg, "autoscaling_mixed_instances_policy_multiple_instance_types_check", "A core member is one on-demand "+
		"instance of cores.instanceType (min = max = 1): Neo4j's heap and page cache are sized for that type (neo4j.memory), "+
		"so a replacement of another type would change the member's memory; no Spot, so no capacity pools to spread over.")

	capacityProvider(t, CapacityProviderName(cfg, m.Index), tags)

	// core-N.<ns>: registered by ECS as soon as the task runs, no health check.
	t.Add("MemberDiscovery", "AWS::ServiceDiscovery::Service", M{
		"Name":        m.Name,
		"NamespaceId": b.imp(OutputNamespaceID),
		"Description": "neo4jctl " + b.name + ": stable name of member " + m.Name,
		"DnsConfig":   M{"DnsRecords": L{M{"Type": "A", "TTL": 10}}, "RoutingPolicy": "MULTIVALUE"},
		"Tags":        tags,
	}, true)

	td := t.Add("TaskDefinition", "AWS::ECS::TaskDefinition", M{
		"Family":                  naming.StackPrefix(b.name) + "-" + m.Name,
		"NetworkMode":             "awsvpc",
		"RequiresCompatibilities": L{"EC2"},
		"ExecutionRoleArn":        b.imp(OutputTaskExecutionRoleArn),
		"TaskRoleArn":             b.imp(OutputTaskRoleArn),
		"Volumes":                 L{M{"Name": "data", "Host": M{"SourcePath": naming.DataMount}}},
		"ContainerDefinitions": L{b.neo4jContainer(roleCore, m, cfg.Neo4j.Memory, m.Name,
			L{M{"SourceVolume": "data", "ContainerPath": "/data", "ReadOnly": false}})},
		"Tags": tags,
	}, true)
	GuardSuppress(td, "ecs_containers_readonly_access_check", neo4jReadOnlyReason)

	svc := t.Add("Service", "AWS::ECS::Service", M{
		"ServiceName":    naming.CoreService(m.Index),
		"Cluster":        b.imp(OutputECSCluster),
		"TaskDefinition": Ref("TaskDefinition"),
		"DesiredCount":   Ref(ParamDesiredCount),
		"LaunchType":     "EC2",
		// never two copies of a member against one volume: stop the old task first
		"DeploymentConfiguration": M{
			"MinimumHealthyPercent":    0,
			"MaximumPercent":           100,
			"DeploymentCircuitBreaker": M{"Enable": true, "Rollback": true},
		},
		"PlacementConstraints": L{M{"Type": "memberOf", "Expression": fmt.Sprintf("attribute:%s == %s", naming.AttrMember, m.Name)}},
		"NetworkConfiguration": M{"AwsvpcConfiguration": M{
			"Subnets":        L{subnet},
			"SecurityGroups": L{b.imp(OutputMembersSecurityGroup)},
			"AssignPublicIp": "DISABLED",
		}},
		"ServiceRegistries":    L{M{"RegistryArn": GetAtt("MemberDiscovery", "Arn")}},
		"EnableECSManagedTags": true,
		"PropagateTags":        "SERVICE",
		"Tags":                 tags,
	}, true)
	svc["DependsOn"] = L{"AutoScalingGroup", "CapacityProvider"}

	t.Output(OutputVolumeID, volumeID, "Data volume of "+m.Name+" (retained)", "")
	t.Output(OutputAutoScalingGroup, Ref("AutoScalingGroup"), "Auto Scaling group of "+m.Name, "")
	t.Output(OutputCapacityProvider, Ref("CapacityProvider"), "Capacity provider of "+m.Name, "")
	t.Output(OutputService, GetAtt("Service", "Name"), "ECS service of "+m.Name, "")
	t.Output(OutputMemberServiceID, GetAtt("MemberDiscovery", "Id"), "Cloud Map service of "+m.DNSName, "")
	t.Output(OutputTaskDefinition, Ref("TaskDefinition"), "Task definition of "+m.Name, "")
	addCapacityParameters(t, params, b.in.Run.cores(), 1, 1)
	return t, params
}
