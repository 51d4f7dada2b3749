package lifecycle

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"strings"
	"sync"

	p "github.com/pulumi/pulumi-go-provider"
)

// Output captures a command's stdout and stderr as pulumi-command v1.2.1 does (commandOutputs.go of local and
// remote): each stream on its own, both interleaved for the error text, and the streams `logging` selects
// (default stdoutAndStderr) sent line by line to the engine as ephemeral status messages (util.LogOutput's
// InfoStatus): the CLI shows each line live on the resource's row, not in the closing "Diagnostics:".
type Output struct {
	Stdout, Stderr io.Writer
	stdout, stderr bytes.Buffer
	both           lockedBuffer
	pipe           *io.PipeWriter
	logged         chan struct{}
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(bs []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(bs)
}

// NewOutput starts logging the streams that `logging` selects; call Close when the command has ended.
func NewOutput(ctx context.Context, logging *string) *Output {
	o := &Output{logged: make(chan struct{})}
	r, w := io.Pipe()
	o.pipe = w
	mode := "stdoutAndStderr"
	if logging != nil {
		mode = *logging
	}
	outs := []io.Writer{&o.stdout, &o.both}
	if mode == "stdoutAndStderr" || mode == "stdout" {
		outs = append(outs, w)
	}
	errs := []io.Writer{&o.stderr, &o.both}
	if mode == "stdoutAndStderr" || mode == "stderr" {
		errs = append(errs, w)
	}
	o.Stdout, o.Stderr = io.MultiWriter(outs...), io.MultiWriter(errs...)
	go func() {
		defer close(o.logged)
		scanner := bufio.NewScanner(r)
		for scanner.Scan() {
			p.GetLogger(ctx).InfoStatus(scanner.Text())
		}
	}()
	return o
}

// Close waits until every line was logged; then Both, Stdout and Stderr are complete.
func (o *Output) Close() {
	o.pipe.Close()
	<-o.logged
}

// Both is stdout and stderr interleaved, for the error message.
func (o *Output) Both() string { return o.both.buf.String() }

// Captured is each stream without its last newline, as the `stdout` and `stderr` outputs hold them.
func (o *Output) Captured() (stdout, stderr string) {
	return strings.TrimSuffix(o.stdout.String(), "\n"), strings.TrimSuffix(o.stderr.String(), "\n")
}
