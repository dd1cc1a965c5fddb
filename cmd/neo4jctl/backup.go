package main

import (
	"github.com/spf13/cobra"
)

// newBackupCommand is `backup create|list|verify|restore`: backups of a running cluster in
// its bucket (see the README's Backups section).
func newBackupCommand(g *globals) *cobra.Command {
	return group("backup", "Make, list, check and restore backups", "a verb",
		newBackupCreateCommand(g),
		newBackupListCommand(g),
		newBackupVerifyCommand(g),
		newBackupRestoreCommand(g),
	)
}
