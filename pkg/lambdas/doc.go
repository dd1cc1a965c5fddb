// Package lambdas groups the agent's Lambda handlers, one subpackage each: admin (typed
// admin requests to Neo4j from inside the VPC), dnssync (the core/replica DNS records) and
// cleanup (stack-deletion cleanup); agentbundle embeds the built agent that runs them.
package lambdas
