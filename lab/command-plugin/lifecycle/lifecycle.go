// Package lifecycle is what pulumi-command v1.2.1's local and remote controllers share (commandController.go in
// each): which command a create, update or delete runs, and that nothing runs under preview or without one.
package lifecycle

import "github.com/pulumi/pulumi/sdk/v3/go/common/resource"

// Run executes one command for a resource, recording its output on success.
type Run func(command string) error

// Create runs `create` unless previewing or there is none; a failed create returns no ID-bearing partial state
// to the engine (not a ResourceInitFailedError), so it is not recorded.
func Create(name string, dryRun bool, create *string, run Run) (string, error) {
	id, err := resource.NewUniqueHex(name, 8, 0)
	if err != nil || dryRun || create == nil {
		return id, err
	}
	return id, run(*create)
}

// Update runs `update`, or `create` again when there is no `update`; nothing under preview.
func Update(dryRun bool, create, update *string, run Run) error {
	switch {
	case dryRun:
		return nil
	case update != nil:
		return run(*update)
	case create != nil:
		return run(*create)
	}
	return nil
}

// Delete runs the stored `delete`, if any.
func Delete(del *string, run Run) error {
	if del == nil {
		return nil
	}
	return run(*del)
}
