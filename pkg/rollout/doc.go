// Package rollout sequences day-two work on a running Neo4j cluster, quorum first: the
// rolling restart (also what an upgrade, an AMI refresh and `update --force` roll through),
// and the Neo4j side of scaling cores in and out (which version changes may roll at all is
// pkg/neo4jversion's CheckUpgrade).
//
// It owns the order (replicas, then followers, the member leading the most databases last),
// the gates before and after each member (every server Enabled and Available, every
// database at its requested status and hosting, a writer for each, replication caught up),
// the leadership hand-over before a core goes down, one member out at a time, the member
// timeout, interruption and resumption. It does not know how a member is restarted: the
// action layer hands it a Restarter (an ECS forced deployment, a CloudFormation update of
// the member's stack, or a stop then start), and an Admin that carries pkg/neo4jadmin's
// typed requests to Neo4j (the admin Lambda or --bolt-uri). It reports progress as typed
// Events and never prints. Time comes from a Clock, so tests run on simulated time.
package rollout
