package engine

import "strings"

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
