// Package lambdas groups the agent's Lambda handlers, one subpackage each: admin (typed
// admin requests to Neo4j from inside the VPC), dnssync (the core/replica DNS records),
// cleanup (stack-deletion cleanup) and rotation (Secrets Manager rotation of the Neo4j
// passwords); agentbundle embeds the built agent that runs them.
package lambdas
