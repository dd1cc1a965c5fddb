package engine

import (
	"fmt"
	"strings"
)

// Stack statuses (types.StackStatus values) the engine reasons about.
const (
	StatusCreateComplete         = "CREATE_COMPLETE"
	StatusCreateFailed           = "CREATE_FAILED"
	StatusCreateInProgress       = "CREATE_IN_PROGRESS"
	StatusRollbackInProgress     = "ROLLBACK_IN_PROGRESS"
	StatusRollbackComplete       = "ROLLBACK_COMPLETE"
	StatusRollbackFailed         = "ROLLBACK_FAILED"
	StatusDeleteInProgress       = "DELETE_IN_PROGRESS"
	StatusDeleteComplete         = "DELETE_COMPLETE"
	StatusDeleteFailed           = "DELETE_FAILED"
	StatusUpdateComplete         = "UPDATE_COMPLETE"
	StatusUpdateFailed           = "UPDATE_FAILED"
	StatusUpdateRollbackComplete = "UPDATE_ROLLBACK_COMPLETE"
	StatusUpdateRollbackFailed   = "UPDATE_ROLLBACK_FAILED"
	StatusReviewInProgress       = "REVIEW_IN_PROGRESS"
)

// InProgress reports whether a stack status is still moving.
func InProgress(status string) bool {
	return strings.HasSuffix(status, "_IN_PROGRESS") && status != StatusReviewInProgress
}

// Healthy reports whether a stack is in a stable state that can be updated and used.
func Healthy(status string) bool {
	switch status {
	case StatusCreateComplete, StatusUpdateComplete, StatusUpdateRollbackComplete, "IMPORT_COMPLETE", "IMPORT_ROLLBACK_COMPLETE":
		return true
	}
	return false
}

// Op is what a wait waits for.
type Op string

const (
	OpCreate Op = "create"
	OpUpdate Op = "update"
	OpDelete Op = "delete"
)

// succeeded reports whether status is the successful end of op.
func succeeded(op Op, status string) bool {
	switch op {
	case OpCreate:
		return status == StatusCreateComplete
	case OpUpdate:
		return status == StatusUpdateComplete
	case OpDelete:
		return status == StatusDeleteComplete
	}
	return false
}

// Explain says in words what a stack's stable, unhealthy status means and how to get out of
// it. cluster and file fill the suggested commands; "" for a status that needs no help.
func Explain(stack, status, cluster, file string) string {
	if file == "" {
		file = "cluster.yaml"
	}
	switch status {
	case StatusRollbackComplete, StatusRollbackFailed, StatusCreateFailed:
		return fmt.Sprintf("stack %s failed to create and was rolled back (%s); such a stack holds nothing and can only be deleted. "+
			"Run `neo4jctl create cluster -f %s` again: it deletes the empty stack and retries, or `neo4jctl delete cluster %s` to give up.", stack, status, file, cluster)
	case StatusUpdateRollbackFailed:
		return fmt.Sprintf("stack %s could not roll back an update (%s): a resource could not return to its previous state. "+
			"Fix the resource named in the events, then continue the rollback: "+
			"`aws cloudformation continue-update-rollback --stack-name %s` (add --resources-to-skip LOGICAL_ID for a resource that cannot be fixed), then run `neo4jctl update cluster -f %s`.", stack, status, stack, file)
	case StatusUpdateRollbackComplete:
		return fmt.Sprintf("the last update of stack %s failed and was rolled back; the stack works as before. Fix the cause and run `neo4jctl update cluster -f %s`.", stack, file)
	case StatusDeleteFailed:
		return fmt.Sprintf("stack %s could not be deleted (%s); run `neo4jctl delete cluster %s` again, which removes what blocks it (Cloud Map instances, termination protection).", stack, status, cluster)
	case StatusReviewInProgress:
		return fmt.Sprintf("stack %s was reserved by a change set that was never executed; `neo4jctl create cluster -f %s` replaces it.", stack, file)
	}
	if InProgress(status) {
		return fmt.Sprintf("stack %s is busy (%s): another operation is running; wait for it (`neo4jctl get cluster %s`) and try again.", stack, status, cluster)
	}
	return ""
}
