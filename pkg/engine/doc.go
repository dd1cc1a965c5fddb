// Package engine drives CloudFormation stacks: create, update through change sets, delete,
// and the wait in between, reporting stack events as progress and failures as typed errors.
//
// It knows nothing of Neo4j or of neo4jctl's commands: it returns facts (statuses, failed
// resources, StackError, TimeoutError, InterruptedError) and pkg/ops turns them into the next
// command to run. AWS errors are classified by pkg/awsapi. Every call goes through the small
// CloudFormation interface below, so the failure paths no emulator shows (resource
// failures, rollbacks, throttling, timeouts) are tested with fakes, and a fake clock
// replaces the real one in tests.
//
// Waiting polls DescribeStacks (and DescribeStackEvents for progress) every PollInterval with
// ±20% jitter, so completion is noticed within about two seconds. Throttling never fails a
// wait: it only doubles the interval (up to MaxPollInterval) until a call succeeds again.
package engine
