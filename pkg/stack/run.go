package stack

import (
	"fmt"
	"strconv"
)

// What runs is set through parameters, never through direct API calls that the next update
// would undo: stop, start and scale change these values (neo4jctl keeps the state they set
// in the cluster's last-applied record and passes it on every deployment), the templates'
// resources only Ref them.
//
//   - ParamDesiredCount (core and replicas stacks): the ECS service's desired count.
//   - ParamInstanceCount (core and replicas stacks): the Auto Scaling group's minimum, maximum
//     and desired capacity (0 or 1 for a core member, the replica count for the replicas).
//   - ParamAlarmActions (operations stack): "true", or "false" while the cluster is stopped:
//     every alarm's ActionsEnabled (a stopped cluster is below quorum by design).
//   - ParamBackupSchedules (operations stack): "ENABLED", or "DISABLED" while stopped: the
//     State of every backup and verify schedule.
const (
	ParamInstanceCount   = "InstanceCount"
	ParamAlarmActions    = "AlarmActionsEnabled"
	ParamBackupSchedules = "BackupSchedulesState"
)

// Run is what runs: the values of the parameters above. The zero value runs what the config
// asks for: one task and one instance per core member, replicas.count replicas, alarm actions
// on, backup schedules enabled.
type Run struct {
	Cores    *Capacity // each core member's; nil: 1 task, 1 instance
	Replicas *Capacity // nil: replicas.count of each
	// Muted turns the alarm actions off and pauses the backup schedules (a stopped cluster).
	Muted bool
	// KeepReplicas renders the replicas stack (and its wiring in the operations stack) even
	// at replicas.count 0, scaled to zero: a replicas stack, once made, is never left running
	// by a config that asks for none.
	KeepReplicas bool
}

// Capacity is a service's desired task count and its Auto Scaling group's instance count.
type Capacity struct{ Tasks, Instances int }

// Stopped is the Run of a stopped cluster: nothing runs, alarms muted, schedules paused.
func Stopped() Run { return Run{Cores: &Capacity{}, Replicas: &Capacity{}, Muted: true} }

// IsStopped reports whether r runs nothing.
func (r Run) IsStopped() bool {
	return r.Muted && r.Cores != nil && *r.Cores == Capacity{} && r.Replicas != nil && *r.Replicas == Capacity{}
}

func (r Run) cores() Capacity {
	if r.Cores != nil {
		return *r.Cores
	}
	return Capacity{Tasks: 1, Instances: 1}
}

func (r Run) replicas(count int) Capacity {
	if r.Replicas != nil {
		return *r.Replicas
	}
	return Capacity{Tasks: count, Instances: count}
}

// hasReplicas: the replicas stack is rendered (replicas.count > 0, or kept at zero).
func (b *builder) hasReplicas() bool {
	return b.cfg.Replicas != nil && (b.cfg.Replicas.Count > 0 || b.in.Run.KeepReplicas)
}

// addCapacityParameters declares the desired count and instance count of a member or the
// replicas (max: the largest instance count allowed, 0 for none) and sets their values.
func addCapacityParameters(t *Template, params map[string]string, c Capacity, configured, max int) {
	t.Parameters[ParamDesiredCount] = M{
		"Type":        "Number",
		"MinValue":    0,
		"Default":     configured,
		"Description": "ECS desired count; neo4jctl passes the one its last-applied record says (stop, start and scale set it)",
	}
	p := M{
		"Type":        "Number",
		"MinValue":    0,
		"Default":     configured,
		"Description": "Instances of the Auto Scaling group (min = max = desired); 0 while the cluster is stopped",
	}
	if max > 0 {
		p["MaxValue"] = max
	}
	t.Parameters[ParamInstanceCount] = p
	params[ParamDesiredCount] = strconv.Itoa(c.Tasks)
	params[ParamInstanceCount] = strconv.Itoa(c.Instances)
}

// addOperationsRunParameters declares the alarm actions and, with backups, the backup
// schedules' state.
func (b *builder) addOperationsRunParameters(t *Template, params map[string]string) {
	t.Parameters[ParamAlarmActions] = M{
		"Type":          "String",
		"AllowedValues": L{"true", "false"},
		"Default":       "true",
		"Description":   "Alarm actions; neo4jctl stop turns them off (a stopped cluster is below quorum by design), start back on",
	}
	params[ParamAlarmActions] = fmt.Sprint(!b.in.Run.Muted)
	if !b.cfg.BackupsEnabled() {
		return
	}
	t.Parameters[ParamBackupSchedules] = M{
		"Type":          "String",
		"AllowedValues": L{"ENABLED", "DISABLED"},
		"Default":       "ENABLED",
		"Description":   "State of the backup schedules; neo4jctl stop pauses them, start enables them",
	}
	params[ParamBackupSchedules] = map[bool]string{false: "ENABLED", true: "DISABLED"}[b.in.Run.Muted]
}
