// Package remote serves command:remote:Command with pulumi-command v1.2.1's inputs, outputs and semantics.
package remote

import (
	"context"

	"github.com/pulumi/pulumi-go-provider/infer"
	"zombie-fleet.lab/command-plugin/lifecycle"
)

// Command is the resource; its token is command:remote:Command (module from this package's name).
type Command struct{}

// CommandInputs are the real resource's inputs (pulumi-command v1.2.1 remote/command.go, common/inputs.go).
// `triggers` is replace-on-change, `connection` secret, exactly as there.
type CommandInputs struct {
	Triggers               *[]any            `pulumi:"triggers,optional" provider:"replaceOnChanges"`
	Create                 *string           `pulumi:"create,optional"`
	Update                 *string           `pulumi:"update,optional"`
	Delete                 *string           `pulumi:"delete,optional"`
	Stdin                  *string           `pulumi:"stdin,optional"`
	Logging                *string           `pulumi:"logging,optional"`
	Connection             *Connection       `pulumi:"connection" provider:"secret"`
	Environment            map[string]string `pulumi:"environment,optional"`
	AddPreviousOutputInEnv *bool             `pulumi:"addPreviousOutputInEnv,optional"`
}

// CommandOutputs are the inputs plus what the last create/update printed.
type CommandOutputs struct {
	CommandInputs
	Stdout string `pulumi:"stdout"`
	Stderr string `pulumi:"stderr"`
}

// Create, Update and Delete follow the real controller (lifecycle); the previous output is kept until an
// update succeeds.
func (*Command) Create(ctx context.Context, req infer.CreateRequest[CommandInputs]) (infer.CreateResponse[CommandOutputs], error) {
	state := CommandOutputs{CommandInputs: req.Inputs}
	id, err := lifecycle.Create(req.Name, req.DryRun, req.Inputs.Create, state.runner(ctx))
	return infer.CreateResponse[CommandOutputs]{ID: id, Output: state}, err
}

func (*Command) Update(ctx context.Context, req infer.UpdateRequest[CommandInputs, CommandOutputs]) (infer.UpdateResponse[CommandOutputs], error) {
	state := CommandOutputs{CommandInputs: req.Inputs, Stdout: req.State.Stdout, Stderr: req.State.Stderr}
	err := lifecycle.Update(req.DryRun, req.Inputs.Create, req.Inputs.Update, state.runner(ctx))
	return infer.UpdateResponse[CommandOutputs]{Output: state}, err
}

func (*Command) Delete(ctx context.Context, req infer.DeleteRequest[CommandOutputs]) (infer.DeleteResponse, error) {
	return infer.DeleteResponse{}, lifecycle.Delete(req.State.Delete, req.State.runner(ctx))
}

func (c *CommandOutputs) runner(ctx context.Context) lifecycle.Run {
	return func(command string) error { return c.run(ctx, command) }
}
