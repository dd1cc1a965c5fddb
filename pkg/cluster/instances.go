package cluster

import (
	"strings"
)

// InstanceType is what neo4jctl needs to know of an EC2 instance type to size Neo4j.
type InstanceType struct {
	Name      string
	MemoryMiB int
	VCPUs     int
	Arch      string // arm64 or amd64: picks the ECS-optimized AMI
}

// Memory per vCPU of the families neo4jctl sizes, and the size ladder. Families outside this
// table still work when neo4j.memory is set by hand.
var (
	familyGiBPerVCPU = map[string]int{
		"r5": 8, "r5a": 8, "r6a": 8, "r6i": 8, "r7a": 8, "r7i": 8, "r8i": 8,
		"r6g": 8, "r7g": 8, "r8g": 8,
		"m5": 4, "m5a": 4, "m6a": 4, "m6i": 4, "m7a": 4, "m7i": 4, "m8i": 4,
		"m6g": 4, "m7g": 4, "m8g": 4,
		"c5": 2, "c6a": 2, "c6i": 2, "c7a": 2, "c7i": 2,
		"c6g": 2, "c7g": 2, "c8g": 2,
		"x2gd": 16,
	}
	sizeVCPUs = map[string]int{
		"large": 2, "xlarge": 4, "2xlarge": 8, "4xlarge": 16, "8xlarge": 32,
		"12xlarge": 48, "16xlarge": 64, "24xlarge": 96,
	}
	// burstable types have their own ladder: vCPUs and GiB
	burstable = map[string][2]int{
		"medium": {2, 4}, "large": {2, 8}, "xlarge": {4, 16}, "2xlarge": {8, 32},
	}
)

// LookupInstanceType knows the memory and architecture of the types neo4jctl sizes.
func LookupInstanceType(name string) (InstanceType, bool) {
	family, size, ok := strings.Cut(name, ".")
	if !ok {
		return InstanceType{}, false
	}
	arch := archOf(family)
	if family == "t3" || family == "t3a" || family == "t4g" {
		b, ok := burstable[size]
		if !ok {
			return InstanceType{}, false
		}
		return InstanceType{Name: name, VCPUs: b[0], MemoryMiB: b[1] * 1024, Arch: arch}, true
	}
	perVCPU, ok := familyGiBPerVCPU[family]
	if !ok {
		return InstanceType{}, false
	}
	vcpus, ok := sizeVCPUs[size]
	if !ok {
		return InstanceType{}, false
	}
	return InstanceType{Name: name, VCPUs: vcpus, MemoryMiB: vcpus * perVCPU * 1024, Arch: arch}, true
}

// archOf reads the Graviton marker: a "g" after the generation digit (r7g, m6gd, t4g).
func archOf(family string) string {
	for i := 0; i < len(family); i++ {
		if family[i] >= '0' && family[i] <= '9' {
			if strings.Contains(family[i+1:], "g") {
				return "arm64"
			}
			return "amd64"
		}
	}
	return "amd64"
}

// InstanceArch is the CPU architecture of an instance type name, known or not.
func InstanceArch(name string) string {
	family, _, _ := strings.Cut(name, ".")
	return archOf(family)
}
