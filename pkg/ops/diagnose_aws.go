package ops

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/neo4jctl/neo4jctl/pkg/awsapi"
	"github.com/neo4jctl/neo4jctl/pkg/cluster"
	"github.com/neo4jctl/neo4jctl/pkg/engine"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/netcheck"
	"github.com/neo4jctl/neo4jctl/pkg/stack"
)

// The checks of what AWS shows: stacks, services, tasks, instances, volumes, metrics.

// stackStuckAfter: a stack in progress for longer is stuck (neo4jctl's waits give up at 90
// minutes; member and shared stacks take minutes).
const stackStuckAfter = time.Hour

func checkStacks(e *evidence) CheckResult {
	v := e.view()
	r := ok(fmt.Sprintf("%s complete", plural(len(v.Stacks), "stack", "stacks")))
	bad := 0
	// In a cluster that was created (its operations stack holds something), an empty stack
	// was added by an update that failed: the next update makes it again, create would not.
	created := slices.ContainsFunc(v.Stacks, func(s StackStatus) bool { return s.Kind == naming.KindOperations && !emptyStack(s.Status) })
	for _, s := range v.Stacks {
		verdict, what := stackVerdict(s, e.now)
		if verdict == CheckOK {
			continue
		}
		bad++
		r.Verdict = worst(r.Verdict, verdict)
		r.Evidence = append(r.Evidence, Evidence{Resource: s.Name, Time: at(s.Updated), Text: what})
		r.Evidence = append(r.Evidence, e.failedEvents(s.Name)...)
		if r.Next == "" || verdict == CheckFail {
			r.Next = explainStack(s.Name, s.Status, e.d.Name, "")
			if created && emptyStack(s.Status) {
				r.Next = explainAddedStack(s.Name, s.Status, "")
			}
			if verdict == CheckFail && engine.InProgress(s.Status) {
				r.Next = stuckNext(s.Name, s.Status)
			}
		}
	}
	for _, n := range v.missing {
		bad++
		r.Verdict = CheckFail
		r.Evidence = append(r.Evidence, Evidence{Resource: n, Text: "missing: the cluster has no such stack (or only one reserved by a change set never executed)"})
		r.Next = "`neo4jctl create cluster -f cluster.yaml` creates the missing stacks of a cluster"
	}
	if r.Verdict != CheckOK {
		r.Summary = fmt.Sprintf("%d of %d stacks not as they should be", bad, max(v.expected, len(v.Stacks)))
	}
	return r
}

// stackVerdict is what a stack's status says: in progress warns (fails once stuck), a
// failed or rolled back create fails, a rolled back update warns (the stack works as
// before).
func stackVerdict(s StackStatus, now time.Time) (CheckVerdict, string) {
	switch {
	case engine.InProgress(s.Status) && now.Sub(s.Updated) > stackStuckAfter:
		return CheckFail, fmt.Sprintf("%s since %s (%s): stuck", s.Status, clock(s.Updated), now.Sub(s.Updated).Round(time.Minute))
	case engine.InProgress(s.Status):
		return CheckWarn, fmt.Sprintf("%s since %s: an operation is running", s.Status, clock(s.Updated))
	case s.Status == engine.StatusUpdateRollbackComplete:
		return CheckWarn, fmt.Sprintf("%s: the last update failed and was rolled back%s", s.Status, paren(s.Reason))
	case !engine.Healthy(s.Status):
		return CheckFail, s.Status + paren(s.Reason)
	}
	return CheckOK, ""
}

// stuckNext is what to do about a stack in progress for over an hour: CloudFormation is
// waiting on a resource that does not stabilize (an ECS service whose task never starts
// waits up to 3 hours).
func stuckNext(stack, status string) string {
	next := fmt.Sprintf("the stack's newest events name the resource CloudFormation waits on: `aws cloudformation describe-stack-events --stack-name %s --max-items 10`", stack)
	if status == "UPDATE_IN_PROGRESS" {
		next += fmt.Sprintf("; to give up on the update: `aws cloudformation cancel-update-stack --stack-name %s` (it rolls back)", stack)
	}
	return next
}

// failedEvents are a stack's failed resources among its newest events, root causes first.
func (e *evidence) failedEvents(stackName string) []Evidence {
	se := e.stackEventsOf(stackName)
	if se.err != nil {
		return []Evidence{{Resource: stackName, Text: "its events could not be read: " + se.err.Error()}}
	}
	evs := slices.Clone(se.events)
	slices.Reverse(evs) // oldest first
	var out []Evidence
	for _, f := range engine.Failures(evs) {
		t := time.Time{}
		for _, ev := range evs {
			if ev.LogicalID == f.LogicalID && ev.Status == f.Status {
				t = ev.Time
			}
		}
		out = append(out, Evidence{Resource: stackName, Time: at(t), Text: fmt.Sprintf("event: %s (%s) %s: %s", f.LogicalID, f.Type, f.Status, f.Reason)})
	}
	return out
}

func checkDrift(e *evidence) CheckResult {
	r := ok("")
	var inSync, started, failed []string
	var cause error
	for _, d := range e.drift() {
		switch {
		case d.Err != nil:
			failed = append(failed, d.Member)
			cause = d.Err
		case d.Started:
			started = append(started, d.Member)
		case d.Status == "DRIFTED":
			r.Verdict = worst(r.Verdict, CheckWarn)
			for _, res := range d.Resources {
				v := CheckWarn
				if res.Status == "DELETED" {
					v = CheckFail
				}
				r.Verdict = worst(r.Verdict, v)
				r.Evidence = append(r.Evidence, Evidence{Member: d.Member, Resource: res.PhysicalID, Time: at(res.Checked),
					Text: fmt.Sprintf("%s (%s) %s%s", res.LogicalID, res.Type, res.Status, paren(strings.Join(res.Properties, ", ")))})
			}
		default:
			inSync = append(inSync, d.Member)
			r.Evidence = append(r.Evidence, Evidence{Member: d.Member, Resource: d.Stack, Time: at(d.Checked), Text: "in sync with its template"})
		}
	}
	if r.Verdict != CheckOK {
		r.Summary = "member stacks changed outside CloudFormation; the next update puts back what the templates say"
		r.Next = "see what changed with `neo4jctl update cluster -f cluster.yaml`, which shows the changes before it applies them; a deleted resource comes back only through the update"
		return r
	}
	if len(inSync) == 0 {
		why := "no member stack has a drift detection yet"
		if len(started) > 0 {
			why += fmt.Sprintf("; diagnose started one for %s: run `neo4jctl diagnose %s --check stack-drift` again in a minute or two", strings.Join(started, ", "), e.d.Name)
		}
		if len(failed) > 0 {
			why += fmt.Sprintf("; CloudFormation's drift detection failed for %s: %s", strings.Join(failed, ", "), oneLine(cause.Error()))
		}
		return skipped(why)
	}
	r.Summary = fmt.Sprintf("%s in sync with their templates", strings.Join(inSync, ", "))
	if len(started) > 0 {
		r.Summary += fmt.Sprintf("; detection started for %s", strings.Join(started, ", "))
	}
	return r
}

// serviceEventRe picks the ECS service events that say why tasks do not run.
var serviceEventRe = regexp.MustCompile(`(?i)unable to place|insufficient|no container instance|capacity|unable to consistently start|failed|unhealthy|did not|draining|deregistered`)

func checkMembers(e *evidence) CheckResult {
	v := e.view()
	r := ok("")
	var down, stopped []string
	running := 0
	for _, m := range v.Members {
		switch {
		case m.Desired == 0:
			stopped = append(stopped, m.Name)
		case m.Running < m.Desired:
			down = append(down, m.Name)
			r.Verdict = CheckFail
			r.Evidence = append(r.Evidence, Evidence{Member: m.Name, Resource: "service " + m.Service,
				Text: fmt.Sprintf("%d of %d tasks running, %d pending (task: %s)", m.Running, m.Desired, m.Pending, m.Task)})
			r.Evidence = append(r.Evidence, e.serviceEvents(m.Name, m.Service)...)
		default:
			running++
		}
	}
	if rep := v.Replicas; rep != nil && rep.Running < rep.Desired {
		r.Verdict = worst(r.Verdict, CheckWarn)
		r.Evidence = append(r.Evidence, Evidence{Member: "replicas", Resource: "service " + rep.Service,
			Text: fmt.Sprintf("%d of %d tasks running, %d pending", rep.Running, rep.Desired, rep.Pending)})
		r.Evidence = append(r.Evidence, e.serviceEvents("replicas", rep.Service)...)
	}
	r.Summary = membersSummary(v, running, down, stopped)
	switch {
	case len(down) > 0:
		r.Next = fmt.Sprintf("the stopped-tasks, host and log-errors checks say why; once the cause is fixed, `neo4jctl restart cluster %s --member %s` starts it again", e.d.Name, down[0])
	case r.Verdict == CheckWarn:
		r.Next = fmt.Sprintf("the stopped-tasks and host checks say why; `neo4jctl restart cluster %s --member replicas` replaces the replicas", e.d.Name)
	case len(stopped) == len(v.Members) && len(stopped) > 0:
		r.Verdict = CheckWarn
	}
	return r
}

func membersSummary(v *ClusterView, running int, down, stopped []string) string {
	var parts []string
	switch {
	case len(stopped) == len(v.Members) && len(stopped) > 0:
		parts = append(parts, "the cluster is stopped on purpose: every core's desired count is 0")
	case len(down) > 0:
		parts = append(parts, fmt.Sprintf("%d of %d core members run; not running: %s", running, len(v.Members)-len(stopped), strings.Join(down, ", ")))
	default:
		parts = append(parts, fmt.Sprintf("%d of %d core members run", running, len(v.Members)-len(stopped)))
	}
	if len(stopped) > 0 && len(stopped) < len(v.Members) {
		parts = append(parts, "stopped on purpose: "+strings.Join(stopped, ", "))
	}
	if rep := v.Replicas; rep != nil {
		parts = append(parts, fmt.Sprintf("replicas %d of %d", rep.Running, rep.Desired))
	}
	return strings.Join(parts, "; ")
}

// serviceEventsShown bounds the service events shown per service.
const serviceEventsShown = 5

// serviceEvents are a service's events of the window that say why tasks do not run.
func (e *evidence) serviceEvents(member, service string) []Evidence {
	svc, found := e.view().facts.services[service]
	if !found {
		return []Evidence{{Member: member, Resource: "service " + service, Text: "ECS has no such service (or it could not be read)"}}
	}
	var out []Evidence
	for _, ev := range svc.Events { // newest first
		t := aws.ToTime(ev.CreatedAt)
		if t.Before(e.since) || !serviceEventRe.MatchString(aws.ToString(ev.Message)) {
			continue
		}
		out = append(out, Evidence{Member: member, Resource: "service " + service, Time: at(t), Text: "service event: " + oneLine(aws.ToString(ev.Message))})
		if len(out) == serviceEventsShown {
			break
		}
	}
	return out
}

// ecsStoppedRetention is how long ECS lists a stopped task: about an hour.
const ecsStoppedRetention = time.Hour

// stop is one stopped task, read.
type stop struct {
	member, service, task, why string
	at                         time.Time
	verdict                    CheckVerdict
	kind                       string // oom, health, start, exit, spot, planned
}

func checkStoppedTasks(e *evidence) CheckResult {
	v := e.view()
	visibleFrom := laterOf(e.since, e.now.Add(-ecsStoppedRetention))
	stops := e.stops(visibleFrom)
	r := ok("")
	perMember := map[string]int{}
	for _, s := range stops {
		r.Verdict = worst(r.Verdict, s.verdict)
		r.Evidence = append(r.Evidence, Evidence{Member: s.member, Resource: "task " + s.task, Time: at(s.at), Text: s.why})
		if s.kind != "planned" {
			perMember[s.member]++
		}
	}
	loops := e.restartLoops(perMember)
	for _, l := range loops {
		r.Verdict = worst(r.Verdict, l.verdict)
		r.Evidence = append(r.Evidence, Evidence{Member: l.member, Text: l.why})
	}
	r.Summary = stopsSummary(stops, loops, visibleFrom)
	if visibleFrom.After(e.since) {
		r.Summary += fmt.Sprintf("; stops before %s are not visible (ECS keeps stopped tasks about an hour; the restart count comes from the log streams)", clock(visibleFrom))
		r.Verdict = worst(r.Verdict, CheckWarn)
	}
	if n := v.facts.stoppedListed; n > 0 && n >= describeTasksMax {
		r.Evidence = append(r.Evidence, Evidence{Text: fmt.Sprintf("ECS listed %d or more stopped tasks: only the newest were read", n)})
	}
	r.Next = stopsNext(e.d.Name, stops, loops)
	if r.Next == "" && r.Verdict == CheckWarn {
		r.Next = fmt.Sprintf("what happened before %s only the logs tell: `neo4jctl diagnose %s --check log-errors --check leader-stability --since %s`", clock(visibleFrom), e.d.Name, sinceFlag(e.window))
	}
	return r
}

// sinceFlag is a window as --since takes it.
func sinceFlag(d time.Duration) string {
	if d%time.Hour == 0 {
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dm", int(d.Round(time.Minute).Minutes()))
}

// stops are the member tasks that stopped since from, classified, newest first.
func (e *evidence) stops(from time.Time) []stop {
	v := e.view()
	names := map[string]string{} // service → member
	for _, m := range v.Members {
		names[m.Service] = m.Name
	}
	if v.Replicas != nil {
		names[v.Replicas.Service] = "replicas"
	}
	var out []stop
	for _, svc := range slices.Sorted(maps.Keys(v.facts.stopped)) {
		member, ours := names[svc]
		if !ours {
			continue
		}
		for _, t := range v.facts.stopped[svc] {
			when := aws.ToTime(t.StoppedAt)
			if when.IsZero() {
				when = aws.ToTime(t.StoppingAt)
			}
			if !when.IsZero() && when.Before(from) {
				continue
			}
			s := classifyStop(t)
			s.member, s.service, s.task, s.at = member, svc, taskID(t), when
			out = append(out, s)
		}
	}
	slices.SortStableFunc(out, func(a, b stop) int { return b.at.Compare(a.at) })
	return out
}

// classifyStop says why a task stopped and how bad that is: out of memory, failed health
// checks, never started, exited with an error, a Spot interruption, or a planned stop
// (deployment, scaling, a user).
func classifyStop(t ecstypes.Task) stop {
	reason := aws.ToString(t.StoppedReason)
	var exits, reasons []string
	oom := false
	for _, c := range t.Containers {
		if c.ExitCode != nil {
			exits = append(exits, fmt.Sprintf("%s exited %d", aws.ToString(c.Name), *c.ExitCode))
		}
		if cr := aws.ToString(c.Reason); cr != "" {
			reasons = append(reasons, aws.ToString(c.Name)+": "+cr)
			oom = oom || strings.Contains(cr, "OutOfMemory")
		}
	}
	why := strings.Join(slices.DeleteFunc([]string{"stop code " + string(t.StopCode), reason, strings.Join(exits, ", "), strings.Join(reasons, "; ")},
		func(s string) bool { return s == "" || s == "stop code " }), "; ")
	s := stop{why: why, verdict: CheckFail}
	switch {
	case oom:
		s.kind, s.why = "oom", "out of memory: "+why
	case strings.Contains(strings.ToLower(reason), "health check"):
		s.kind, s.why = "health", "failed its health checks: "+why
	case t.StopCode == ecstypes.TaskStopCodeTaskFailedToStart:
		s.kind, s.why = "start", "failed to start: "+why
	case t.StopCode == ecstypes.TaskStopCodeSpotInterruption || t.StopCode == ecstypes.TaskStopCodeTerminationNotice:
		s.kind, s.verdict = "spot", CheckWarn
	case t.StopCode == ecstypes.TaskStopCodeUserInitiated || strings.Contains(reason, "Scaling activity") || strings.Contains(reason, "deployment"):
		s.kind, s.verdict = "planned", CheckOK
	default:
		s.kind = "exit"
	}
	return s
}

// restartLoop is a member that stopped, or started, more than once in the window.
type restartLoop struct {
	member, why string
	verdict     CheckVerdict
}

// restartLoops: two unplanned stops of a member in the visible hour, or three task starts
// in the window (its container log streams: visible beyond ECS's hour), fail; two starts
// warn.
func (e *evidence) restartLoops(stops map[string]int) []restartLoop {
	var out []restartLoop
	sf := e.streams()
	for _, m := range e.view().Members {
		starts := sf.starts(m.Name, e.since)
		switch {
		case stops[m.Name] >= 2:
			out = append(out, restartLoop{m.Name, fmt.Sprintf("restart loop: %d unplanned stops in the last hour", stops[m.Name]), CheckFail})
		case len(starts) >= 3:
			out = append(out, restartLoop{m.Name, fmt.Sprintf("restart loop: %d tasks started since %s (first %s, last %s)", len(starts), clock(e.since), clock(starts[0].First), clock(starts[len(starts)-1].First)), CheckFail})
		case len(starts) == 2:
			out = append(out, restartLoop{m.Name, fmt.Sprintf("restarted: 2 tasks started since %s (%s, %s)", clock(e.since), clock(starts[0].First), clock(starts[1].First)), CheckWarn})
		}
	}
	return out
}

func stopsSummary(stops []stop, loops []restartLoop, from time.Time) string {
	if len(stops) == 0 && len(loops) == 0 {
		return fmt.Sprintf("no member task stopped since %s", clock(from))
	}
	kinds := map[string]int{}
	for _, s := range stops {
		kinds[s.kind]++
	}
	var parts []string
	for _, k := range []string{"oom", "health", "start", "exit", "spot", "planned"} {
		if kinds[k] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", kinds[k], stopKindWords[k]))
		}
	}
	for _, l := range loops {
		parts = append(parts, l.member+": "+l.why)
	}
	return fmt.Sprintf("%s since %s: %s", plural(len(stops), "member task stopped", "member tasks stopped"), clock(from), strings.Join(parts, ", "))
}

var stopKindWords = map[string]string{"oom": "out of memory", "health": "failed health checks", "start": "failed to start",
	"exit": "exited", "spot": "Spot interruptions", "planned": "planned (deployment, scaling or a user)"}

// stopsNext is the next step for the worst stop.
func stopsNext(cluster string, stops []stop, loops []restartLoop) string {
	for _, k := range []string{"oom", "health", "start", "exit"} {
		for _, s := range stops {
			if s.kind != k {
				continue
			}
			switch k {
			case "oom":
				return "give Neo4j more memory: a larger cores.instanceType or neo4j.memory in cluster.yaml, then `neo4jctl update cluster -f cluster.yaml --force`"
			case "health":
				return fmt.Sprintf("the health check is the agent's liveness check of Neo4j: the member's container log says why Neo4j did not answer: `neo4jctl logs %s --member %s --since 1h`", cluster, s.member)
			case "start":
				return "ECS could not start the task (image, secrets or network: the reason above); fix it, then ECS retries on its own"
			}
			return fmt.Sprintf("the member's container log says why Neo4j exited: `neo4jctl logs %s --member %s --since 1h`", cluster, s.member)
		}
	}
	if len(loops) > 0 {
		return fmt.Sprintf("the log-errors and leader-stability checks say why %s keeps restarting: `neo4jctl diagnose %s --check log-errors --check leader-stability --since 6h`", loops[0].member, cluster)
	}
	return ""
}

func checkPlacement(e *evidence) CheckResult {
	v := e.view()
	vols := e.volumes()
	r := ok("")
	byAZ := map[string][]string{}
	for _, m := range v.Members {
		byAZ[m.AZ] = append(byAZ[m.AZ], m.Name)
		vol, found := vols.byID[m.Volume]
		if !found || m.Instance == "" {
			continue
		}
		if vaz := aws.ToString(vol.AvailabilityZone); vaz != m.AZ {
			r.Verdict = CheckFail
			r.Evidence = append(r.Evidence, Evidence{Member: m.Name, Resource: m.Volume,
				Text: fmt.Sprintf("volume %s is in %s, instance %s in %s: an instance attaches only a volume of its own AZ", m.Volume, vaz, m.Instance, m.AZ)})
			r.Next = fmt.Sprintf("put %s back in %s (core-N takes network.subnets[(N-1) mod the number of subnets]), or move the data: `aws ec2 create-snapshot --volume-id %s`, then `aws ec2 create-volume --snapshot-id SNAP --availability-zone %s` with the old volume's tags", m.Name, vaz, m.Volume, m.AZ)
		}
	}
	azs := slices.Sorted(maps.Keys(byAZ))
	var spread []string
	for _, az := range azs {
		spread = append(spread, fmt.Sprintf("%s: %s", az, strings.Join(byAZ[az], ", ")))
		if n := len(byAZ[az]); len(v.Members) > 1 && n > len(v.Members)/2 {
			r.Verdict = worst(r.Verdict, CheckWarn)
			r.Evidence = append(r.Evidence, Evidence{Text: fmt.Sprintf("%d of %d cores in %s: losing that AZ loses the majority, and with it every write", n, len(v.Members), az)})
			if r.Next == "" {
				r.Next = "spread the cores over at least 3 AZs: network.subnets in 3 AZs (or network.azCount: 3); a member's AZ is its volume's, so members move only with their data (see the README's data section)"
			}
		}
	}
	r.Summary = fmt.Sprintf("%s over %s (%s)", plural(len(v.Members), "core", "cores"), plural(len(azs), "AZ", "AZs"), strings.Join(spread, "; "))
	if vols.err != nil {
		r.Evidence = append(r.Evidence, Evidence{Text: "the volumes could not be read: " + vols.err.Error()})
		r.Verdict = worst(r.Verdict, CheckWarn)
	}
	return r
}

// mountedRe reads the boot log's line of a mounted volume.
var mountedRe = regexp.MustCompile(`^(i-[0-9a-f]+) (core-\d+): data volume (vol-[0-9a-f]+) mounted on `)

func checkVolumes(e *evidence) CheckResult {
	v := e.view()
	vols := e.volumes()
	if vols.err != nil {
		return skipped("the members' volumes could not be read (ec2:DescribeVolumes): " + vols.err.Error())
	}
	r := ok("")
	good := 0
	for _, m := range v.Members {
		verdict, ev := e.volumeOf(m)
		r.Verdict = worst(r.Verdict, verdict)
		r.Evidence = append(r.Evidence, ev...)
		if verdict == CheckOK {
			good++
		}
		if verdict == CheckFail && r.Next == "" {
			r.Next = fmt.Sprintf("the member's boot log says what went wrong: `neo4jctl logs %s --member %s --boot --since 7d`; an instance whose attach fails marks itself unhealthy and its Auto Scaling group replaces it; once the cause is fixed, `neo4jctl restart cluster %s --member %s`", e.d.Name, m.Name, e.d.Name, m.Name)
		}
	}
	r.Summary = fmt.Sprintf("%d of %d members' volumes attached and mounted", good, len(v.Members))
	return r
}

// volumeOf checks one member's volume: it exists, is attached to the member's instance,
// and the instance's boot log (or the agent's disk metric) says it is mounted.
func (e *evidence) volumeOf(m Member) (CheckVerdict, []Evidence) {
	ev := func(text string) []Evidence { return []Evidence{{Member: m.Name, Resource: m.Volume, Text: text}} }
	vol, found := e.volumes().byID[m.Volume]
	switch {
	case m.Volume == "":
		return CheckFail, ev("the member stack names no volume")
	case !found:
		return CheckFail, ev(fmt.Sprintf("volume %s does not exist", m.Volume))
	case m.Instance == "":
		return CheckFail, ev(fmt.Sprintf("volume %s is %s; the member has no instance to attach it to (see host)", m.Volume, vol.State))
	}
	attachedTo := ""
	for _, a := range vol.Attachments {
		if a.State == "attached" || a.State == "attaching" {
			attachedTo = aws.ToString(a.InstanceId)
		}
	}
	if attachedTo != m.Instance {
		what := "attached to no instance"
		if attachedTo != "" {
			what = "attached to " + attachedTo
		}
		return CheckFail, append(ev(fmt.Sprintf("volume %s is %s, not to the member's instance %s", m.Volume, what, m.Instance)), e.bootEvidence(m, 3)...)
	}
	for _, l := range slices.Backward(e.boot()[m.Name]) {
		if !strings.HasPrefix(l.Message, m.Instance+" ") {
			continue
		}
		if sig, _ := signalOf(l.Message); sig == sigVolume {
			return CheckFail, e.bootEvidence(m, 3)
		}
		if mountedRe.MatchString(l.Message) {
			return CheckOK, []Evidence{{Member: m.Name, Resource: m.Volume, Time: at(l.Time), Text: fmt.Sprintf("attached to %s; boot log: %s", m.Instance, oneLine(l.Message))}}
		}
	}
	if _, published := e.disk().used[m.Name]; published {
		return CheckOK, ev(fmt.Sprintf("attached to %s; mounted (the agent reports its usage)", m.Instance))
	}
	return CheckWarn, ev(fmt.Sprintf("attached to %s; whether it is mounted is not known: no boot log line of %s says so and the agent reports no usage", m.Instance, m.Instance))
}

// bootEvidence is a member's last boot log lines.
func (e *evidence) bootEvidence(m Member, n int) []Evidence {
	lines := e.boot()[m.Name]
	var out []Evidence
	for _, l := range lines[max(0, len(lines)-n):] {
		out = append(out, Evidence{Member: m.Name, Resource: l.Stream, Time: at(l.Time), Text: "boot log: " + oneLine(l.Message)})
	}
	return out
}

// Disk usage thresholds (percent of the data volume).
const (
	diskWarn = 80.0
	diskFail = 90.0
)

func checkDisk(e *evidence) CheckResult {
	v := e.view()
	df := e.disk()
	if df.err != nil {
		return skipped("the agent's metrics could not be read (cloudwatch:GetMetricData): " + df.err.Error())
	}
	r := ok("")
	var parts []string
	for _, m := range v.Members {
		used, have := df.used[m.Name]
		switch {
		case !have && m.Running == 0:
			r.Evidence = append(r.Evidence, Evidence{Member: m.Name, Text: "not running: no usage reported"})
			continue
		case !have:
			r.Verdict = worst(r.Verdict, CheckWarn)
			r.Evidence = append(r.Evidence, Evidence{Member: m.Name, Resource: m.Volume, Text: fmt.Sprintf("runs, but its agent reported no %s since %s (it reports every minute)", naming.MetricDiskUsed, clock(e.now.Add(-max(e.window, diskLookback))))})
			continue
		}
		verdict := CheckOK
		switch {
		case used >= diskFail:
			verdict = CheckFail
		case used >= diskWarn:
			verdict = CheckWarn
		}
		r.Verdict = worst(r.Verdict, verdict)
		parts = append(parts, fmt.Sprintf("%s %.0f%%", m.Name, used))
		r.Evidence = append(r.Evidence, Evidence{Member: m.Name, Resource: m.Volume, Time: at(df.at[m.Name]), Text: fmt.Sprintf("%.1f%% used", used)})
		if verdict != CheckOK && (r.Next == "" || verdict == CheckFail) {
			r.Next = fmt.Sprintf("grow the data volumes: raise cores.volume.sizeGiB in cluster.yaml and run `neo4jctl update cluster -f cluster.yaml` (an adopted volume: `aws ec2 modify-volume --volume-id %s --size GiB`); the file system grows when the member's instance next boots", m.Volume)
		}
	}
	if len(parts) == 0 {
		if r.Verdict == CheckOK {
			return skipped("no member runs, so no agent reports its disk usage")
		}
		r.Summary = "no usage reported"
		return r
	}
	r.Summary = "data volumes used: " + strings.Join(parts, ", ")
	return r
}

func checkHost(e *evidence) CheckResult {
	v := e.view()
	hf := e.hosts()
	if hf.err != nil {
		return skipped("the ECS cluster's container instances could not be read: " + hf.err.Error())
	}
	byMember := map[string]ecstypes.ContainerInstance{}
	for _, ci := range hf.instances {
		for _, a := range ci.Attributes {
			if aws.ToString(a.Name) == naming.AttrMember && aws.ToString(a.Value) != naming.AttrReplica {
				byMember[aws.ToString(a.Value)] = ci
			}
		}
	}
	r := ok("")
	good := 0
	for _, m := range v.Members {
		verdict, ev := e.hostOf(m, byMember, hf.providers)
		r.Verdict = worst(r.Verdict, verdict)
		r.Evidence = append(r.Evidence, ev...)
		if verdict == CheckOK {
			good++
		} else if r.Next == "" {
			r.Next = hostNext(e.d.Name, m, ev)
		}
	}
	r.Summary = fmt.Sprintf("%d of %d core members' instances connected to ECS, active, with their capacity provider", good, len(v.Members))
	return r
}

// hostOf checks a member's instance in ECS: registered (by its member attribute) and
// connected, not draining, and its capacity provider associated with the ECS cluster.
func (e *evidence) hostOf(m Member, byMember map[string]ecstypes.ContainerInstance, providers []string) (CheckVerdict, []Evidence) {
	ev := func(text string) Evidence { return Evidence{Member: m.Name, Resource: m.Instance, Text: text} }
	verdict := CheckOK
	var out []Evidence
	if p := e.memberOutput(m.Name, stack.OutputCapacityProvider); p != "" && !slices.Contains(providers, p) {
		verdict = CheckFail
		out = append(out, ev(fmt.Sprintf("capacity provider %s is not associated with the ECS cluster %s: the service cannot place its task", p, e.ecsCluster())))
	}
	ci, registered := byMember[m.Name]
	switch {
	case m.Instance == "" && m.Desired > 0:
		return CheckFail, append(out, ev("the member's Auto Scaling group has no instance"))
	case !registered && m.Desired > 0:
		return CheckFail, append(out, ev(fmt.Sprintf("instance %s is not registered in the ECS cluster %s (its ECS agent never joined, or its user data failed before)", m.Instance, e.ecsCluster())))
	case !registered:
		return verdict, out
	case !ci.AgentConnected:
		verdict = CheckFail
		out = append(out, ev(fmt.Sprintf("container instance %s: the ECS agent is disconnected", aws.ToString(ci.Ec2InstanceId))))
	case aws.ToString(ci.Status) == "DRAINING":
		verdict = worst(verdict, CheckWarn)
		out = append(out, ev(fmt.Sprintf("container instance %s is DRAINING: ECS moves its task away and places none on it", aws.ToString(ci.Ec2InstanceId))))
	case aws.ToString(ci.Status) != "ACTIVE":
		verdict = CheckFail
		out = append(out, ev(fmt.Sprintf("container instance %s is %s", aws.ToString(ci.Ec2InstanceId), aws.ToString(ci.Status))))
	}
	if verdict == CheckOK {
		out = append(out, ev(fmt.Sprintf("container instance of %s: ACTIVE, agent connected, %d tasks running", aws.ToString(ci.Ec2InstanceId), ci.RunningTasksCount)))
	}
	return verdict, out
}

func hostNext(cluster string, m Member, ev []Evidence) string {
	text := ""
	for _, e := range ev {
		text += e.Text
	}
	switch {
	case strings.Contains(text, "capacity provider"):
		return "the shared stack associates the capacity providers: `neo4jctl update cluster -f cluster.yaml` puts the association back"
	case strings.Contains(text, "DRAINING"):
		return fmt.Sprintf("an instance drains while it is replaced; if it stays DRAINING, put it back: `aws ecs update-container-instances-state --cluster neo4jctl-%s --status ACTIVE --container-instances ID`", cluster)
	}
	return fmt.Sprintf("the member's boot log says how its instance's boot went: `neo4jctl logs %s --member %s --boot --since 7d`; `neo4jctl restart cluster %s --member %s` once it is back", cluster, m.Name, cluster, m.Name)
}

// memberOutput is an output of a member's stack.
func (e *evidence) memberOutput(member, key string) string {
	if s := e.stackOf(naming.KindCore, member); s != nil {
		return s.Outputs[key]
	}
	return ""
}

// networkFacts is the existing VPC's check, as create's precheck runs it.
type networkFacts struct {
	report *netcheck.Report
	madeBy string // the VPC stack, when neo4jctl made the VPC
	err    error
}

// readNetwork runs pkg/netcheck on the cluster's VPC: its subnets as the member services
// use them (core-1's first: cluster.yaml's order where there are as many cores as
// subnets), its VPC from them, the member and replica counts as they run now.
func (e *evidence) readNetwork() networkFacts {
	if s := e.stackOf(naming.KindVPC, ""); s != nil {
		return networkFacts{madeBy: s.Name}
	}
	v := e.view()
	var subnets []string
	services := []string{}
	for _, m := range v.Members {
		services = append(services, m.Service)
	}
	if v.Replicas != nil {
		services = append(services, v.Replicas.Service)
	}
	for _, name := range services {
		if svc, ok := v.facts.services[name]; ok && svc.NetworkConfiguration != nil && svc.NetworkConfiguration.AwsvpcConfiguration != nil {
			for _, s := range svc.NetworkConfiguration.AwsvpcConfiguration.Subnets {
				if !slices.Contains(subnets, s) {
					subnets = append(subnets, s)
				}
			}
		}
	}
	if len(subnets) == 0 || e.d.AWS.EC2 == nil {
		return networkFacts{err: errors.New("no member service names its subnets")}
	}
	out, err := e.d.AWS.EC2.DescribeSubnets(e.ctx, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{{Name: aws.String("subnet-id"), Values: subnets}}})
	if err != nil || len(out.Subnets) == 0 {
		return networkFacts{err: fmt.Errorf("reading the members' subnets %s (ec2:DescribeSubnets): %w", strings.Join(subnets, ", "), awsapi.Clean(cmp.Or(err, errors.New("none found"))))}
	}
	cfg := &cluster.ClusterConfig{Metadata: cluster.Metadata{Name: e.d.Name, Region: e.d.Region},
		Network: cluster.Network{VPCID: aws.ToString(out.Subnets[0].VpcId), Subnets: subnets}, Cores: cluster.Cores{Count: len(v.Members)}}
	if v.Replicas != nil {
		cfg.Replicas = &cluster.Replicas{Count: int(v.Replicas.Desired)}
	}
	cluster.SetDefaults(cfg)
	backups := e.output(naming.KindOperations, stack.OutputBackupTaskDefinition) != ""
	cfg.Backup.Enabled = &backups
	r, err := netcheck.Check(e.ctx, e.d.AWS.EC2, cfg, netcheck.Options{Existing: true})
	return networkFacts{report: r, err: err}
}

func checkNetwork(e *evidence) CheckResult {
	nf := e.network()
	switch {
	case nf.madeBy != "":
		return skipped(fmt.Sprintf("neo4jctl made this VPC (stack %s): these checks are for a VPC you bring (network.vpcID)", nf.madeBy))
	case nf.err != nil:
		return skipped(nf.err.Error())
	}
	r := ok("")
	counts := map[netcheck.Verdict]int{}
	for _, f := range nf.report.Findings {
		counts[f.Verdict]++
		if f.Verdict == netcheck.OK {
			continue
		}
		v := CheckWarn
		if f.Verdict == netcheck.Fail {
			v = CheckFail
		}
		r.Evidence = append(r.Evidence, Evidence{Resource: f.Resource, Text: fmt.Sprintf("%s %s: %s (%s)", f.Code, f.Field, f.Message, f.Fix)})
		if r.Next == "" || (v == CheckFail && r.Verdict != CheckFail) {
			r.Next = f.Fix
		}
		r.Verdict = worst(r.Verdict, v)
	}
	r.Summary = fmt.Sprintf("VPC %s: %d checks ok, %d warnings, %d failed (the create precheck's: DNS attributes, a way out per subnet, free addresses)",
		nf.report.VPC, counts[netcheck.OK], counts[netcheck.Warn], counts[netcheck.Fail])
	return r
}
