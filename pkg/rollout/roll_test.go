package rollout_test

import (
	"context"
	"testing"
	"time"

	"github.com/neo4jctl/neo4jctl/internal/clustersim"
	"github.com/neo4jctl/neo4jctl/pkg/rollout"
)

func TestRollingRestart(t *testing.T) {
	c := newCluster(t, clustersim.Config{Cores: 3, DefaultSecondaries: 2, Timing: clustersim.Timing{WriteRate: 50},
		Databases: []clustersim.DatabaseSpec{{Name: "shop", Primaries: 3, Secondaries: 2}, {Name: "ledger", Primaries: 3, Secondaries: 2}}}, 2)
	c.oneDownAtATime(t)
	res, err := c.roll.Run(context.Background(), rolloutOptions())
	if err != nil {
		for _, e := range c.events.events {
			t.Log(e)
		}
		t.Fatal(err)
	}
	for _, e := range c.events.events {
		t.Log(e)
	}
	t.Logf("%+v", res)
	c.restartedOnce(t, allMembers(3, true)...)
	c.quorumKept(t)
	t.Log(c.sim.Stats())
}

func rolloutOptions() rollout.Options { return rollout.Options{MemberTimeout: 10 * time.Minute} }
