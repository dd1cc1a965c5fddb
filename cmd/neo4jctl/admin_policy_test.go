package main

import (
	"strings"
	"testing"

	"github.com/neo4jctl/neo4jctl/pkg/iampolicy"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

// Every command that talks to Neo4j (it has --bolt-uri) may invoke the cluster's admin
// function and read its admin secret: the CLI tests reach Neo4j through a simulated Lambda,
// so the recorded moto calls never show that invocation.
func TestCommandsThatTalkToNeo4jMayInvokeTheAdminFunction(t *testing.T) {
	fn := "arn:aws:lambda:eu-west-1:123456789012:function:" + naming.Function("graph-prod", naming.HandlerAdmin)
	secret := "arn:aws:secretsmanager:eu-west-1:123456789012:secret:neo4jctl/graph-prod/admin-AbCdEf"
	n := 0
	for _, c := range commands(newRootCommand(&globals{})) {
		if c.Flags().Lookup("bolt-uri") == nil || c.HasSubCommands() {
			continue
		}
		n++
		cmd := strings.TrimPrefix(c.CommandPath(), "neo4jctl ")
		ps, err := iampolicy.Policies("graph-prod", cmd)
		if err != nil {
			t.Errorf("%s: %v", cmd, err)
			continue
		}
		if !iampolicy.Allows(ps, "lambda:InvokeFunction", fn) || !iampolicy.Allows(ps, "secretsmanager:GetSecretValue", secret) {
			t.Errorf("`neo4jctl %s` talks to Neo4j, but its policy grants lambda:InvokeFunction on the admin function %v, the admin secret %v",
				cmd, iampolicy.Allows(ps, "lambda:InvokeFunction", fn), iampolicy.Allows(ps, "secretsmanager:GetSecretValue", secret))
		}
	}
	if n < 5 {
		t.Errorf("only %d commands have --bolt-uri", n)
	}
}
