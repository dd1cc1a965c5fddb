package stack

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

// TestRunSetsWhatRunsThroughParameters: stop, start and scale change only parameter values
// (what runs) and never a resource directly; the resources Ref them. A stopped cluster's
// rendering runs nothing, mutes every alarm and pauses every schedule.
func TestRunSetsWhatRunsThroughParameters(t *testing.T) {
	tc := examples(t)[0]
	for _, e := range examples(t) {
		if e.cfg.ReplicaCount() > 0 && e.cfg.BackupsEnabled() {
			tc = e
		}
	}
	for _, run := range []struct {
		name                string
		run                 Run
		core, replica       Capacity
		alarms, schedules   string
		replicaRolloutFloor int
	}{
		{"running", Run{}, Capacity{1, 1}, Capacity{2, 2}, "true", "ENABLED", 1},
		{"stopped", Stopped(), Capacity{0, 0}, Capacity{0, 0}, "false", "DISABLED", 0},
		{"starting", Run{Cores: &Capacity{0, 1}, Replicas: &Capacity{0, 2}, Muted: true}, Capacity{0, 1}, Capacity{0, 2}, "false", "DISABLED", 1},
	} {
		t.Run(run.name, func(t *testing.T) {
			in := testInputs
			in.Run = run.run
			stacks, err := Build(tc.cfg, in)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range stacks {
				want := map[string]string{}
				switch s.Kind {
				case naming.KindCore:
					want = map[string]string{ParamDesiredCount: itoa(run.core.Tasks), ParamInstanceCount: itoa(run.core.Instances)}
				case naming.KindReplicas:
					want = map[string]string{ParamDesiredCount: itoa(run.replica.Tasks), ParamInstanceCount: itoa(run.replica.Instances)}
					if got := rolloutFloor(t, s); got != run.replicaRolloutFloor {
						t.Errorf("replicas MinInstancesInService %d, want %d (below the group's size)", got, run.replicaRolloutFloor)
					}
				case naming.KindOperations:
					want = map[string]string{ParamAlarmActions: run.alarms, ParamBackupSchedules: run.schedules}
				}
				for k, v := range want {
					if s.Parameters[k] != v {
						t.Errorf("%s: %s=%q, want %q", s.Name, k, s.Parameters[k], v)
					}
				}
				refsEverywhere(t, s)
			}
		})
	}
}

// refsEverywhere: every alarm's ActionsEnabled, schedule's State, group's sizes and
// service's desired count is the parameter, so no value is left for a direct change.
func refsEverywhere(t *testing.T, s Stack) {
	t.Helper()
	resources := section(parse(t, s), "Resources")
	want := map[string]map[string]string{
		"AWS::CloudWatch::Alarm":             {"ActionsEnabled": ParamAlarmActions},
		"AWS::Scheduler::Schedule":           {"State": ParamBackupSchedules},
		"AWS::AutoScaling::AutoScalingGroup": {"MinSize": ParamInstanceCount, "MaxSize": ParamInstanceCount, "DesiredCapacity": ParamInstanceCount},
		"AWS::ECS::Service":                  {"DesiredCount": ParamDesiredCount},
	}
	for id, res := range resources {
		r, _ := res.(M)
		typ, _ := r["Type"].(string)
		props, _ := r["Properties"].(M)
		for prop, param := range want[typ] {
			if ref, _ := props[prop].(M); ref["Ref"] != param {
				t.Errorf("%s %s.%s is %v, want a Ref to %s", s.Name, id, prop, props[prop], param)
			}
		}
	}
}

// TestKeptReplicasAtZero: a replicas stack, once made, is rendered at zero (not dropped and
// left running) when the config asks for no replicas and the stack exists.
func TestKeptReplicasAtZero(t *testing.T) {
	tc := examples(t)[0]
	for _, e := range examples(t) {
		if e.cfg.ReplicaCount() > 0 {
			tc = e
		}
	}
	cfg := *tc.cfg
	r := *cfg.Replicas
	r.Count = 0
	cfg.Replicas = &r
	kinds := func(in Inputs) map[string]Stack {
		stacks, err := Build(&cfg, in)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]Stack{}
		for _, s := range stacks {
			out[s.Kind] = s
		}
		return out
	}
	if _, ok := kinds(testInputs)[naming.KindReplicas]; ok {
		t.Fatal("a config without replicas renders a replicas stack")
	}
	in := testInputs
	in.Run.KeepReplicas = true
	got := kinds(in)
	rs, ok := got[naming.KindReplicas]
	if !ok || rs.Parameters[ParamDesiredCount] != "0" || rs.Parameters[ParamInstanceCount] != "0" {
		t.Fatalf("kept replicas: %v %v", ok, rs.Parameters)
	}
	if ops := string(got[naming.KindOperations].Template); !strings.Contains(ops, `"`+CapacityProviderName(&cfg, 0)+`"`) {
		t.Error("the operations stack drops the kept replicas' capacity provider")
	}
}

func rolloutFloor(t *testing.T, s Stack) int {
	t.Helper()
	var tmpl struct {
		Resources map[string]struct {
			UpdatePolicy struct {
				AutoScalingRollingUpdate struct{ MinInstancesInService int }
			}
		}
	}
	if err := json.Unmarshal(s.Template, &tmpl); err != nil {
		t.Fatal(err)
	}
	return tmpl.Resources["AutoScalingGroup"].UpdatePolicy.AutoScalingRollingUpdate.MinInstancesInService
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }
