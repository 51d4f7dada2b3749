package remote

import (
	"context"
	"fmt"
	"net"
	"time"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"
	"golang.org/x/crypto/ssh"
)

// Connection has the real connection's fields (pulumi-command v1.2.1 remote/connection.go) that the fleet uses;
// password, agent and proxy are not served in the lab (Check refuses unknown fields).
type Connection struct {
	User           *string  `pulumi:"user,optional"`
	Host           *string  `pulumi:"host"`
	Port           *float64 `pulumi:"port,optional"`
	PrivateKey     *string  `pulumi:"privateKey,optional" provider:"secret"`
	DialErrorLimit *int     `pulumi:"dialErrorLimit,optional"`
	PerDialTimeout *int     `pulumi:"perDialTimeout,optional"`
	HostKey        *string  `pulumi:"hostKey,optional"`
}

// Annotate sets the real provider's defaults: root, port 22, 10 dials of at most 15 s each.
func (c *Connection) Annotate(a infer.Annotator) {
	a.SetDefault(&c.User, "root")
	a.SetDefault(&c.Port, 22)
	a.SetDefault(&c.DialErrorLimit, 10)
	a.SetDefault(&c.PerDialTimeout, 15)
}

func (c *Connection) config() (*ssh.ClientConfig, error) {
	config := &ssh.ClientConfig{User: *c.User, Timeout: time.Second * time.Duration(*c.PerDialTimeout)}
	if c.HostKey != nil {
		key, _, _, _, err := ssh.ParseAuthorizedKey([]byte(*c.HostKey))
		if err != nil {
			return nil, fmt.Errorf("failed to parse host key: %w", err)
		}
		// As the real provider: only the pinned key's algorithm is offered (an RSA pin offers ssh-rsa alone).
		config.HostKeyCallback = ssh.FixedHostKey(key)
		config.HostKeyAlgorithms = []string{key.Type()}
	} else {
		config.HostKeyCallback = ssh.InsecureIgnoreHostKey() //nolint:gosec // the real provider checks nothing without hostKey
	}
	if c.PrivateKey != nil {
		signer, err := ssh.ParsePrivateKey([]byte(*c.PrivateKey))
		if err != nil {
			return nil, err
		}
		config.Auth = append(config.Auth, ssh.PublicKeys(signer))
	}
	return config, nil
}

// Dial connects as the real provider's dialWithRetry over sdk retry.Until (its defaults) does: a failed dial (auth
// and handshake errors too) is retried until the dial count exceeds dialErrorLimit — so limit+1 dials in all
// (reachedDialingErrorLimit: `dials > dialErrorLimit`) — pausing 100 ms × 1.5 per try up to 5 s; -1 retries
// forever. The error counts attempts as the real one does (its 0-based try).
func (c *Connection) Dial(ctx context.Context) (*ssh.Client, error) {
	config, err := c.config()
	if err != nil {
		return nil, err
	}
	endpoint := net.JoinHostPort(*c.Host, fmt.Sprintf("%d", int(*c.Port)))
	delay := 100 * time.Millisecond
	for try := 0; ; try++ {
		client, err := ssh.Dial("tcp", endpoint, config)
		if err == nil {
			return client, nil
		}
		if *c.DialErrorLimit > -1 && try+1 > *c.DialErrorLimit {
			return nil, fmt.Errorf("after %d failed attempts: %w", try, err)
		}
		p.GetLogger(ctx).InfoStatusf("Dial %d/%d failed: retrying", try+1, *c.DialErrorLimit)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(delay):
		}
		delay = min(time.Duration(float64(delay)*1.5), 5*time.Second)
	}
}
