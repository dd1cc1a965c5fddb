package ops

import (
	"cmp"
	"fmt"

	"github.com/neo4jctl/neo4jctl/pkg/engine"
)

// CredentialsHint says how to give neo4jctl AWS credentials; every command that meets a
// credentials error (awsapi.CredentialsError) ends its message with it.
const CredentialsHint = "configure credentials: `aws configure` (access keys), `aws sso login --profile NAME` (IAM Identity Center), " +
	"then name the profile with AWS_PROFILE or --profile; or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"

// explainStack says in words what a stack's stable, unhealthy status means and which
// command gets the cluster out of it; "" for a status that needs no help. file is the
// cluster.yaml to name ("" for cluster.yaml).
func explainStack(stack, status, cluster, file string) string {
	file = cmp.Or(file, "cluster.yaml")
	switch status {
	case engine.StatusRollbackComplete, engine.StatusRollbackFailed, engine.StatusCreateFailed:
		return fmt.Sprintf("stack %s failed to create and was rolled back (%s); such a stack holds nothing and can only be deleted. "+
			"Run `neo4jctl create cluster -f %s` again: it deletes the empty stack and retries, or `neo4jctl delete cluster %s` to give up.", stack, status, file, cluster)
	case engine.StatusUpdateRollbackFailed:
		return fmt.Sprintf("stack %s could not roll back an update (%s): a resource could not return to its previous state. "+
			"Fix the resource named in the events, then continue the rollback: "+
			"`aws cloudformation continue-update-rollback --stack-name %s` (add --resources-to-skip LOGICAL_ID for a resource that cannot be fixed), then run `neo4jctl update cluster -f %s`.", stack, status, stack, file)
	case engine.StatusUpdateRollbackComplete:
		return fmt.Sprintf("the last update of stack %s failed and was rolled back; the stack works as before. Fix the cause and run `neo4jctl update cluster -f %s`.", stack, file)
	case engine.StatusDeleteFailed:
		return fmt.Sprintf("stack %s could not be deleted (%s); run `neo4jctl delete cluster %s` again, which removes what blocks it (Cloud Map instances, termination protection).", stack, status, cluster)
	case engine.StatusReviewInProgress:
		return fmt.Sprintf("stack %s was reserved by a change set that was never executed; `neo4jctl create cluster -f %s` replaces it.", stack, file)
	}
	if engine.InProgress(status) {
		return fmt.Sprintf("stack %s is busy (%s): another operation is running; wait for it (`neo4jctl get cluster %s`) and try again.", stack, status, cluster)
	}
	return ""
}

// emptyStack reports whether a stack's create never finished: it holds nothing and can only
// be deleted.
func emptyStack(status string) bool {
	switch status {
	case engine.StatusRollbackComplete, engine.StatusRollbackFailed, engine.StatusCreateFailed, engine.StatusReviewInProgress:
		return true
	}
	return false
}

// explainAddedStack is the way out of an empty stack of a cluster that was created (its
// operations stack is there): an update added it and failed, and the next update deletes it
// and makes it again with the rest of the file, where create would stop short of the rest.
func explainAddedStack(stack, status, file string) string {
	return fmt.Sprintf("stack %s, added by an update, was never created (%s) and holds nothing; `neo4jctl update cluster -f %s` deletes it and makes it again with the rest of the file's changes.",
		stack, status, cmp.Or(file, "cluster.yaml"))
}
