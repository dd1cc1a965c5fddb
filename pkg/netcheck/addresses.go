package netcheck

import (
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/neo4jctl/neo4jctl/pkg/cluster"
)

// Addresses is how many private addresses the cluster takes in one subnet at most.
type Addresses struct {
	Members  int // core members placed in the subnet: their instance and their task (awsvpc)
	Replicas int // replicas the group may place in it (spread evenly): instance and task each
	Tasks    int // backup and verify tasks (Fargate, awsvpc), which may start in any subnet
	Lambdas  int // VPC-attached functions' network interface (one per subnet and security group)
	Rolling  int // a replacement instance and task while a member rolls
}

// Total is the sum.
func (a Addresses) Total() int {
	return 2*a.Members + 2*a.Replicas + a.Tasks + a.Lambdas + a.Rolling
}

// NeededAddresses is what cfg places in a subnet: members go round-robin over the subnets,
// the replicas' group spreads over all of them.
func NeededAddresses(cfg *cluster.ClusterConfig, subnet string) Addresses {
	a := Addresses{Lambdas: 1, Rolling: 2}
	for _, m := range cfg.Members() {
		if m.Subnet == subnet {
			a.Members++
		}
	}
	if n := len(cfg.Network.Subnets); n > 0 {
		a.Replicas = (cfg.ReplicaCount() + n - 1) / n
	}
	if cfg.BackupsEnabled() {
		a.Tasks = 2 // a backup and a verify may run at once
	}
	return a
}

// checkAddresses compares each subnet's free addresses with what the cluster places in it. In
// a cluster that exists, its instances and tasks hold theirs already: only what an update may
// add (a rolling replacement, backup tasks, function interfaces) must be free, and too few is
// a warning.
func checkAddresses(cfg *cluster.ClusterConfig, r *Report, subnets map[string]ec2types.Subnet, o Options) {
	for i, id := range cfg.Network.Subnets {
		s, ok := subnets[id]
		if !ok {
			continue
		}
		need, free := NeededAddresses(cfg, id), int(aws.ToInt32(s.AvailableIpAddressCount))
		want, verdict := need.Total(), Fail
		what := fmt.Sprintf("%d members and %d replicas with an instance and a task each, %d backup tasks, %d for the VPC functions, %d for a rolling replacement",
			need.Members, need.Replicas, need.Tasks, need.Lambdas, need.Rolling)
		if o.Existing {
			want, verdict = need.Tasks+need.Lambdas+need.Rolling, Warn
			what = fmt.Sprintf("%d backup tasks, %d for the VPC functions, %d for a rolling replacement, besides what the cluster holds", need.Tasks, need.Lambdas, need.Rolling)
		}
		f := Finding{Code: CodeFreeAddresses, Verdict: OK, Field: fmt.Sprintf("network.subnets[%d]", i), Resource: id,
			Message: fmt.Sprintf("%d free addresses, the cluster needs up to %d here", free, want)}
		if free < want {
			f.Verdict = verdict
			f.Message = fmt.Sprintf("%d free addresses, the cluster needs up to %d here (%s)", free, want, what)
			f.Fix = "use a larger subnet, or free addresses in this one"
		}
		r.add(f)
	}
}
