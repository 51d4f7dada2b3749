// Package local serves command:local:Command with pulumi-command v1.2.1's inputs (local/command.go) and its
// create/update/delete (local/commandController.go): nothing runs without a command, or under preview. The fleet
// uses it only as a wave barrier with no command at all.
package local

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/pulumi/pulumi-go-provider/infer"
	"zombie-fleet.lab/command-plugin/lifecycle"
)

// Command is the resource; its token is command:local:Command.
type Command struct{}

// CommandInputs are the real resource's inputs the lab can honour (assets and archives are not served).
type CommandInputs struct {
	Triggers               *[]any            `pulumi:"triggers,optional" provider:"replaceOnChanges"`
	Create                 *string           `pulumi:"create,optional"`
	Update                 *string           `pulumi:"update,optional"`
	Delete                 *string           `pulumi:"delete,optional"`
	Stdin                  *string           `pulumi:"stdin,optional"`
	Logging                *string           `pulumi:"logging,optional"`
	Dir                    *string           `pulumi:"dir,optional"`
	Environment            map[string]string `pulumi:"environment,optional"`
	Interpreter            *[]string         `pulumi:"interpreter,optional"`
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

// run executes the command with the interpreter (default /bin/sh -c) in `dir`, like the real local command.
func (c *CommandOutputs) run(ctx context.Context, command string) error {
	args := []string{"/bin/sh", "-c"}
	if c.Interpreter != nil && len(*c.Interpreter) > 0 {
		args = *c.Interpreter
	}
	cmd := exec.CommandContext(ctx, args[0], append(args[1:], command)...)
	if c.Dir != nil {
		cmd.Dir = *c.Dir
	}
	cmd.Env = os.Environ()
	for k, v := range c.Environment {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	if c.Stdin != nil {
		cmd.Stdin = strings.NewReader(*c.Stdin)
	}
	out := lifecycle.NewOutput(ctx, c.Logging)
	cmd.Stdout, cmd.Stderr = out.Stdout, out.Stderr
	err := cmd.Run()
	out.Close()
	if err != nil {
		return fmt.Errorf("%w: running %q:\n%s", err, command, out.Both())
	}
	c.Stdout, c.Stderr = out.Captured()
	return nil
}
