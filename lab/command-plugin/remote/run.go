package remote

import (
	"context"
	"fmt"
	"strings"

	"zombie-fleet.lab/command-plugin/lifecycle"
)

// run executes one command in a new SSH session on a new connection, as the real provider does: stdin piped,
// output captured, each line logged to the engine unless `logging` says otherwise, and on failure an error that
// repeats the command and all of its output (`%w: running %q:\n%s`, pulumi-command v1.2.1 commandOutputs.go).
func (c *CommandOutputs) run(ctx context.Context, cmd string) error {
	client, err := c.Connection.Dial(ctx)
	if err != nil {
		return err
	}
	defer client.Close()
	session, err := client.NewSession()
	if err != nil {
		return err
	}
	defer session.Close()
	for k, v := range c.Environment {
		if err := session.Setenv(k, v); err != nil {
			return fmt.Errorf("could not set environment variable %q: %w", k, err)
		}
	}
	if c.AddPreviousOutputInEnv == nil || *c.AddPreviousOutputInEnv {
		// Optimistic, like the real provider: a refused setenv is ignored here.
		if c.Stdout != "" {
			_ = session.Setenv("PULUMI_COMMAND_STDOUT", c.Stdout)
		}
		if c.Stderr != "" {
			_ = session.Setenv("PULUMI_COMMAND_STDERR", c.Stderr)
		}
	}
	if c.Stdin != nil && len(*c.Stdin) > 0 {
		session.Stdin = strings.NewReader(*c.Stdin)
	}
	out := lifecycle.NewOutput(ctx, c.Logging)
	session.Stdout, session.Stderr = out.Stdout, out.Stderr
	err = session.Run(cmd)
	out.Close()
	if err != nil {
		return fmt.Errorf("%w: running %q:\n%s", err, cmd, out.Both())
	}
	c.Stdout, c.Stderr = out.Captured()
	return nil
}
