package ops

import (
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
type RefusedError struct{ Reasons []string }

func (e *RefusedError) Error() string {
	return "update refused:\n  " + strings.Join(e.Reasons, "\n  ") + "\nNothing was changed. Pass --force to do it anyway (after a backup: `neo4jctl backup create`)."
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
			return errors.New(engine.Explain(s.Name, s.Status, name, opt.File))
		}
	}
	built := map[string]bool{}
	for _, s := range stacks {
		built[s.Name] = true
	}
	for _, s := range live {
		if !built[s.Name] {
			o.logf("Note: stack %s is not in %s any more; update does not delete stacks (use `neo4jctl scale` or `neo4jctl delete cluster`)", s.Name, opt.File)
		}
	}
	if err := o.uploadBundles(ctx, name, keys, bundles); err != nil {
		return err
	}

	// keep the imperative counts: the live desired count wins over the config's
	ecsCluster := naming.ECSCluster(name)
	running := map[string]bool{}
	for i, s := range stacks {
		if s.Kind != naming.KindCore && s.Kind != naming.KindReplicas {
			continue
		}
		svcName := naming.ReplicasService
		if s.Kind == naming.KindCore {
			svcName = naming.CoreService(s.Member)
		}
		if info := byName[s.Name]; info != nil && info.Outputs[stack.OutputService] != "" {
			svcName = info.Outputs[stack.OutputService]
		}
		svc := o.service(ctx, ecsCluster, svcName)
		if svc != nil && svc.DesiredCount > 0 {
			running[s.Name] = true
		}
		if svc != nil && templateHasParameter(s.Template, ParamDesiredCount) {
			params := map[string]string{}
			for k, v := range s.Parameters {
				params[k] = v
			}
			params[ParamDesiredCount] = strconv.Itoa(int(svc.DesiredCount))
			stacks[i].Parameters = params
		}
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
			_ = o.Engine.Discard(context.WithoutCancel(ctx), cs)
		}
	}
	if len(previewErrs) > 0 {
		discardAll()
		return errors.Join(previewErrs...)
	}

	var ordered []*engine.ChangeSet
	for _, s := range stacks {
		ordered = append(ordered, sets[s.Name])
	}
	changed := WriteDiff(w, ordered, o.Colors)
	if changed == 0 {
		o.logf("No changes: cluster %s matches %s.", name, opt.File)
		return nil
	}

	var refusals []string
	for _, s := range stacks {
		if s.Kind != naming.KindCore {
			continue
		}
		member := naming.CoreService(s.Member)
		for _, c := range sets[s.Name].Changes {
			switch {
			case c.Type == "AWS::EC2::Volume" && (c.Replaces() || c.Action == "Remove"):
				refusals = append(refusals, fmt.Sprintf("%s: %s %s would replace the data volume with a new, empty one (changing %s)", member, c.Action, c.LogicalID, strings.Join(c.Properties, ", ")))
			case running[s.Name] && c.Replaces() && (c.Type == "AWS::AutoScaling::AutoScalingGroup" || c.Type == "AWS::ECS::Service" || c.Type == "AWS::EC2::Instance"):
				refusals = append(refusals, fmt.Sprintf("%s is running: %s (%s) would be replaced, taking the member down outside a rolling restart", member, c.LogicalID, c.Type))
			}
		}
	}
	if len(refusals) > 0 && !opt.Force {
		discardAll()
		return &RefusedError{Reasons: refusals}
	}

	ok, err := o.confirm(fmt.Sprintf("Apply these changes to %d stacks? [y/N] ", changed), "update cluster "+name, "--yes", opt.Yes)
	if err != nil || !ok {
		discardAll()
		if err != nil {
			return err
		}
		return errors.New("nothing changed")
	}

	var names []string
	deps := map[string][]string{}
	for _, s := range stacks {
		if cs := sets[s.Name]; cs != nil && !cs.NoChanges {
			names = append(names, s.Name)
			deps[s.Name] = s.DependsOn
		}
	}
	errs := engine.InOrder(ctx, names, deps, func(ctx context.Context, n string) error {
		_, err := o.Engine.Execute(ctx, sets[n])
		return err
	})
	o.Engine.Progress.Stop()
	var failed []error
	for _, n := range names {
		if err := errs[n]; err != nil {
			failed = append(failed, err)
		}
	}
	if len(failed) > 0 {
		// change sets not executed are left for nobody: remove them
		for _, n := range names {
			var sk *engine.SkippedError
			if errors.As(errs[n], &sk) {
				_ = o.Engine.Discard(context.WithoutCancel(ctx), sets[n])
			}
		}
		return fmt.Errorf("update of cluster %s failed:\n%w\nCloudFormation rolled the failed stacks back; fix the cause and run `neo4jctl update cluster -f %s` again", name, errors.Join(failed...), opt.File)
	}
	o.logf("Cluster %s updated.", name)
	return nil
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
	changed := 0
	for _, cs := range sets {
		if cs == nil {
			continue
		}
		if cs.NoChanges || len(cs.Changes) == 0 {
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
	}
	return changed
}
