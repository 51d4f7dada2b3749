// The lab's `command` provider plugin: the real command provider (pulumi-resource-command 1.2.1) cannot be had
// here (the Go module proxy refuses github.com/pulumi/pulumi-command/provider at every version, and its npm/PyPI
// packages only download the binary at install time), so the lab serves `command:remote:Command` (and
// `command:local:Command`, the fleet's wave barrier) itself, on the same framework the real one is built on
// (pulumi-go-provider v1.3.0 `infer`: the same schema-driven check, diff and replace-on-triggers) and the same
// SSH library (golang.org/x/crypto/ssh), following the real provider's create/update/delete, dialing and error
// text as read in pulumi-command v1.2.1 provider/pkg/provider/remote.
// It is registered only in the lab's own PULUMI_HOME (lab/pulumi-cli.ts), never as the operator's plugin.
package main

import (
	"context"
	"fmt"
	"os"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"

	"zombie-fleet.lab/command-plugin/local"
	"zombie-fleet.lab/command-plugin/remote"
)

// Version is the @pulumi/command SDK version the program asks for; set at build time (-ldflags -X).
var Version = "1.2.1"

func main() {
	provider, err := infer.NewProviderBuilder().WithResources(infer.Resource(&remote.Command{}), infer.Resource(&local.Command{})).Build()
	if err == nil {
		err = p.RunProvider(context.Background(), "command", Version, provider)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "Error: %s", err.Error())
		os.Exit(1)
	}
}
