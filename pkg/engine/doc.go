// Package engine drives CloudFormation stacks: create, update through change sets, delete,
// and the wait in between, with stack events rendered as progress and failures explained.
//
// It knows nothing about Neo4j: pkg/ops builds the stacks (pkg/stack) and sequences them.
// Every AWS call goes through the small CloudFormation interface below, so the failure paths
// no emulator shows (resource failures, rollbacks, throttling, timeouts) are tested with
// fakes, and a real clock is replaced by a fake one in tests.
//
// Waiting polls DescribeStacks (and DescribeStackEvents for progress) every PollInterval with
// ±20% jitter, so completion is noticed within about two seconds. Throttling never fails a
// wait: it only doubles the interval (up to MaxPollInterval) until a call succeeds again.
package engine
