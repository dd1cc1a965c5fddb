package ops

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/neo4jctl/neo4jctl/pkg/cluster"
	"github.com/neo4jctl/neo4jctl/pkg/engine"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/printer"
	"github.com/neo4jctl/neo4jctl/pkg/stack"
)

// UpdateOptions tune update.
type UpdateOptions struct {
	File  string
	Force bool // allow replacing a member's volume or a running member's instance
	Yes   bool // apply without asking
}

// ParamDesiredCount is the template parameter through which update keeps the live ECS desired
// count of a member or the replicas (set by scale, stop and start), so an update never
// reverts them.
const ParamDesiredCount = stack.ParamDesiredCount

// RefusedError is an update that would destroy a member's data or take a running member down.
type RefusedError struct {
	Reasons []string
	// Restarts: running core members the update would restart; --force rolls them.
	Restarts bool
}

func (e *RefusedError) Error() string {
	msg := "update refused:\n  " + strings.Join(e.Reasons, "\n  ") + "\nNothing was changed."
	if e.Restarts {
		msg += " Pass --force to apply it member by member: neo4jctl updates one core member stack at a time and waits until" +
			" its instance and task are back (UPDATE_COMPLETE) before the next, so never two cores are down at once." +
			" Check first that a recent backup is in the cluster bucket's backups/ folder."
	} else {
		msg += " Pass --force to do it anyway (after checking that a recent backup is in the cluster bucket's backups/ folder)."
	}
	return msg
}

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

// countChange is a desired count that update sets from the config (replicas.count changed
// since the last update), shown in the diff.
type countChange struct {
	what     string
	from, to int
}

// UpdateError is an update that failed or was interrupted part-way, with what to do next.
type UpdateError struct {
	Cluster, File string
	Stopped       bool     // interrupted by the user
	InProgress    []string // stacks still updating in AWS (interrupted or timed out)
	NotStarted    []string // stacks whose change set was not applied
	RolledBack    []string // stacks CloudFormation rolled back to their previous state
	Failed        []error
	Explains      []string
}

func (e *UpdateError) Error() string {
	var b strings.Builder
	if e.Stopped {
		fmt.Fprintf(&b, "update of cluster %s interrupted", e.Cluster)
	} else {
		fmt.Fprintf(&b, "update of cluster %s failed", e.Cluster)
	}
	for _, err := range e.Failed {
		fmt.Fprintf(&b, "\n%s", err)
	}
	if len(e.RolledBack) > 0 {
		fmt.Fprintf(&b, "\nCloudFormation rolled back %s: they run as before the update.", strings.Join(e.RolledBack, ", "))
	}
	if len(e.InProgress) > 0 {
		fmt.Fprintf(&b, "\nStill updating in AWS: %s. CloudFormation carries on without neo4jctl (and rolls back by itself if the update fails); follow it with `neo4jctl get cluster %s`.",
			strings.Join(e.InProgress, ", "), e.Cluster)
	}
	if len(e.NotStarted) > 0 {
		fmt.Fprintf(&b, "\nNot updated: %s.", strings.Join(e.NotStarted, ", "))
	}
	for _, x := range e.Explains {
		fmt.Fprintf(&b, "\n%s", x)
	}
	if len(e.InProgress) > 0 {
		fmt.Fprintf(&b, "\nOnce no stack is in progress, run `neo4jctl update cluster -f %s` again to apply the rest.", e.File)
	} else {
		fmt.Fprintf(&b, "\nFix the cause and run `neo4jctl update cluster -f %s` again.", e.File)
	}
	return b.String()
}

// Update previews every stack's change set, shows the diff on w, refuses dangerous changes
// without Force, and applies on confirmation. No changes is success.
func (o *Ops) Update(ctx context.Context, cfg *cluster.ClusterConfig, opt UpdateOptions, w io.Writer) error {
	name := cfg.Metadata.Name
	if opt.File == "" {
		opt.File = "cluster.yaml"
	}
	live, err := o.clusterStacks(ctx, name)
	if err != nil {
		return err
	}
	if len(live) == 0 {
		return fmt.Errorf("no cluster %s in %s to update; create it with `neo4jctl create cluster -f %s`", name, o.AWS.Region, opt.File)
	}
	stacks, keys, bundles, err := o.build(ctx, cfg)
	if err != nil {
		return err
	}
	byName := map[string]*engine.StackInfo{}
	for _, s := range live {
		byName[s.Name] = s
	}
	for _, s := range live {
		if !engine.Healthy(s.Status) {
			return errors.New(explainStack(s.Name, s.Status, name, opt.File))
		}
	}
	built := map[string]bool{}
	for _, s := range stacks {
		built[s.Name] = true
	}
	for _, s := range live {
		if !built[s.Name] {
			o.logf("Note: stack %s is not in %s any more; update never removes a member or the replicas (a core scale-in must DEALLOCATE and DROP the server first), so it is left as it is", s.Name, opt.File)
		}
	}

	// Desired counts: the live count (scale, stop, start) wins, unless the config's count
	// changed since the last update (the previous template records it), then the config wins.
	ecsCluster := naming.ECSCluster(name)
	running := map[string]bool{}
	counts := map[string]*countChange{}
	for i, s := range stacks {
		if s.Kind != naming.KindCore && s.Kind != naming.KindReplicas {
			continue
		}
		svcName := naming.ReplicasService
		what := "replicas"
		if s.Kind == naming.KindCore {
			svcName = naming.CoreService(s.Member)
			what = svcName
		}
		if info := byName[s.Name]; info != nil && info.Outputs[stack.OutputService] != "" {
			svcName = info.Outputs[stack.OutputService]
		}
		svc := o.service(ctx, ecsCluster, svcName)
		if svc != nil && svc.DesiredCount > 0 {
			running[s.Name] = true
		}
		if svc == nil || !templateHasParameter(s.Template, ParamDesiredCount) {
			continue
		}
		desired := int(svc.DesiredCount)
		if want, ok := stack.ConfiguredDesiredCount(s.Template); ok && byName[s.Name] != nil {
			prev, err := o.Engine.Template(ctx, s.Name)
			if err != nil {
				return err
			}
			if was, ok := stack.ConfiguredDesiredCount(prev); ok && was != want {
				if desired != want {
					counts[s.Name] = &countChange{what: what, from: desired, to: want}
				}
				desired = want
			}
		}
		params := map[string]string{}
		for k, v := range s.Parameters {
			params[k] = v
		}
		params[ParamDesiredCount] = strconv.Itoa(desired)
		stacks[i].Parameters = params
	}

	// preview all stacks at once
	var mu sync.Mutex
	sets := map[string]*engine.ChangeSet{}
	var previewErrs []error
	var wg sync.WaitGroup
	for _, s := range stacks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cs, err := o.Engine.Preview(ctx, o.spec(s), byName[s.Name] != nil)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				previewErrs = append(previewErrs, err)
				return
			}
			sets[s.Name] = cs
		}()
	}
	wg.Wait()
	discardAll := func() {
		for _, cs := range sets {
			_ = o.Engine.DiscardChangeSet(context.WithoutCancel(ctx), cs)
		}
	}
	if len(previewErrs) > 0 {
		discardAll()
		return errors.Join(previewErrs...)
	}

	var ordered []*engine.ChangeSet
	notes := map[string][]string{}
	for _, s := range stacks {
		ordered = append(ordered, sets[s.Name])
		if c := counts[s.Name]; c != nil {
			notes[s.Name] = append(notes[s.Name], fmt.Sprintf("%s desired %d → %d", c.what, c.from, c.to))
		}
	}
	changed := writeDiff(w, ordered, notes, o.Colors)
	if changed == 0 {
		o.logf("No changes: cluster %s matches %s.", name, opt.File)
		return nil
	}

	var refusals []string
	restarts := false
	for _, s := range stacks {
		if s.Kind != naming.KindCore {
			continue
		}
		member := naming.CoreService(s.Member)
		var down []string
		for _, c := range sets[s.Name].Changes {
			switch {
			case c.Type == "AWS::EC2::Volume" && (c.Replaces() || c.Action == "Remove"):
				refusals = append(refusals, fmt.Sprintf("%s: %s %s would replace the data volume with a new, empty one (changing %s)", member, c.Action, c.LogicalID, strings.Join(c.Properties, ", ")))
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
			refusals = append(refusals, fmt.Sprintf("%s is running and would restart: %s", member, strings.Join(down, ", ")))
		}
	}
	if len(refusals) > 0 && !opt.Force {
		discardAll()
		return &RefusedError{Reasons: refusals, Restarts: restarts}
	}

	ok, err := o.confirm(fmt.Sprintf("Apply these changes to %d stacks? [y/N] ", changed), "update cluster "+name, "--yes", opt.Yes)
	if err != nil || !ok {
		discardAll()
		if err != nil {
			return err
		}
		return errors.New("nothing changed")
	}
	// only now, once the user said yes: the operations stack's Lambdas need the bundle
	if err := o.uploadBundles(ctx, name, keys, bundles); err != nil {
		discardAll()
		return err
	}

	var names, cores []string
	deps := map[string][]string{}
	for _, s := range stacks {
		if cs := sets[s.Name]; cs != nil && !cs.NoChanges {
			names = append(names, s.Name)
			deps[s.Name] = append([]string(nil), s.DependsOn...)
			if s.Kind == naming.KindCore {
				// core members one at a time: each waits for the one before it
				if len(cores) > 0 {
					deps[s.Name] = append(deps[s.Name], cores[len(cores)-1])
				}
				cores = append(cores, s.Name)
			}
		}
	}
	if len(cores) > 1 {
		o.logf("Updating core member stacks one at a time (%s), each once the one before is UPDATE_COMPLETE", strings.Join(cores, ", then "))
	}
	errs := engine.InOrder(ctx, names, deps, func(ctx context.Context, n string) error {
		_, err := o.Engine.Execute(ctx, sets[n])
		return err
	})
	o.Engine.Progress.Stop()
	if len(errs) == 0 {
		o.logf("Cluster %s updated.", name)
		return nil
	}
	ue := &UpdateError{Cluster: name, File: opt.File}
	for _, n := range names {
		err := errs[n]
		var skipped *engine.SkippedError
		var ie *engine.InterruptedError
		var se *engine.StackError
		var te *engine.TimeoutError
		switch {
		case err == nil:
		case errors.As(err, &skipped), errors.As(err, &ie) && ie.Op == "start":
			// change sets not executed are left for nobody: remove them
			_ = o.Engine.DiscardChangeSet(context.WithoutCancel(ctx), sets[n])
			ue.NotStarted = append(ue.NotStarted, n)
			ue.Stopped = ue.Stopped || ie != nil
		case engine.IsInterrupted(err):
			ue.Stopped = true
			ue.InProgress = append(ue.InProgress, fmt.Sprintf("%s (%s)", n, cmp.Or(statusOfErr(err), "UPDATE_IN_PROGRESS")))
		case errors.As(err, &te):
			ue.Failed = append(ue.Failed, err)
			ue.InProgress = append(ue.InProgress, fmt.Sprintf("%s (%s)", n, cmp.Or(te.Status, "UPDATE_IN_PROGRESS")))
		case errors.As(err, &se):
			ue.Failed = append(ue.Failed, err)
			switch se.Status {
			case engine.StatusUpdateRollbackComplete, engine.StatusRollbackComplete:
				ue.RolledBack = append(ue.RolledBack, n)
			default:
				if x := explainStack(n, se.Status, name, opt.File); x != "" {
					ue.Explains = append(ue.Explains, x)
				}
			}
		default:
			ue.Failed = append(ue.Failed, err)
		}
	}
	return ue
}

func statusOfErr(err error) string {
	var ie *engine.InterruptedError
	if errors.As(err, &ie) {
		return ie.Status
	}
	return ""
}

func templateHasParameter(body []byte, name string) bool {
	var t struct {
		Parameters map[string]json.RawMessage
	}
	if json.Unmarshal(body, &t) != nil {
		return false
	}
	_, ok := t.Parameters[name]
	return ok
}

// WriteDiff prints change sets for people: + add, ~ modify, - remove, with replacements
// called out. It returns the number of stacks that change.
func WriteDiff(w io.Writer, sets []*engine.ChangeSet, colors printer.Colors) int {
	return writeDiff(w, sets, nil, colors)
}

// writeDiff is WriteDiff with notes per stack (desired counts the config sets), printed
// under the stack's changes.
func writeDiff(w io.Writer, sets []*engine.ChangeSet, notes map[string][]string, colors printer.Colors) int {
	changed := 0
	for _, cs := range sets {
		if cs == nil {
			continue
		}
		if (cs.NoChanges || len(cs.Changes) == 0) && len(notes[cs.Stack]) == 0 {
			fmt.Fprintf(w, "%s: no changes\n", cs.Stack)
			continue
		}
		changed++
		verb := "changes"
		if cs.Type == "CREATE" {
			verb = "new stack"
		}
		fmt.Fprintf(w, "%s: %s\n", colors.Bold(cs.Stack), verb)
		for _, c := range cs.Changes {
			mark, col := "~", colors.Yellow
			switch c.Action {
			case "Add":
				mark, col = "+", colors.Green
			case "Remove":
				mark, col = "-", colors.Red
			}
			line := fmt.Sprintf("  %s %-7s %s (%s)", mark, c.Action, c.LogicalID, c.Type)
			if len(c.Properties) > 0 {
				line += " [" + strings.Join(c.Properties, ", ") + "]"
			}
			switch c.Replacement {
			case "True":
				line += " REPLACEMENT"
			case "Conditional":
				line += " MAY BE REPLACED"
			}
			fmt.Fprintln(w, col(line))
		}
		for _, n := range notes[cs.Stack] {
			fmt.Fprintln(w, colors.Yellow("  ~ "+n))
		}
	}
	return changed
}
