package testbed

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// DefaultAccountID is the account moto answers for when a request names none.
const DefaultAccountID = "123456789012"

// Test credentials moto accepts (it does not check signatures).
const (
	motoAccessKeyID     = "testing"
	motoSecretAccessKey = "testing"
)

const motoStartTimeout = 60 * time.Second

// motoConfig is applied with POST /moto-api/config after start and after
// Reset: Lambda Invoke and Batch jobs run without Docker (there is none).
const motoConfig = `{"batch": {"use_docker": false}, "lambda": {"use_docker": false}}`

// Moto is a running moto_server on 127.0.0.1.
type Moto struct {
	endpoint string
	cmd      *exec.Cmd
	exited   chan struct{} // closed when the process has exited
	waitErr  error
	logs     *tailBuffer
	http     *http.Client
	close    sync.Once
}

// MotoOption changes how StartMoto starts the server.
type MotoOption func(*motoOptions)

type motoOptions struct {
	preload []string
	env     []string
}

// WithPreload runs the given Python files (runpy.run_path, in order) inside
// the moto process before the server starts. This is the hook for registering
// CloudFormation resource types moto lacks: a CloudFormationModel subclass
// defined there (its __module__ set under "moto.<service>.") is picked up by
// moto's model map, which is built on first use.
func WithPreload(pythonFiles ...string) MotoOption {
	return func(o *motoOptions) { o.preload = append(o.preload, pythonFiles...) }
}

// MotoExtensions is the repo-relative path of the file StartMoto always preloads when it
// exists: the CloudFormation resource types (and fixes) the test tree registers with moto
// so that neo4jctl's templates create in full. Run as a script it starts moto_server itself.
const MotoExtensions = "test/moto/neo4jctl_moto.py"

// defaultPreload returns MotoExtensions when the repo has it.
func defaultPreload() []string {
	root, err := RepoRoot()
	if err != nil {
		return nil
	}
	p := filepath.Join(root, filepath.FromSlash(MotoExtensions))
	if fi, err := os.Stat(p); err != nil || fi.IsDir() {
		return nil
	}
	return []string{p}
}

// WithMotoEnv adds KEY=VALUE variables to the moto process environment
// (e.g. MOTO_* settings).
func WithMotoEnv(kv ...string) MotoOption {
	return func(o *motoOptions) { o.env = append(o.env, kv...) }
}

// preloadBootstrap is what `python -c` runs when WithPreload is used.
const preloadBootstrap = `import os, runpy, sys
for p in filter(None, os.environ.get("NEO4JCTL_MOTO_PRELOAD", "").split(os.pathsep)):
    runpy.run_path(p, run_name="__neo4jctl_moto_preload__")
from moto.server import main
sys.exit(main(sys.argv[1:]))
`

// findMotoServer returns the moto_server executable: the repo's .venv first,
// then PATH.
func findMotoServer() (string, error) {
	var tried []string
	if root, err := RepoRoot(); err == nil {
		p := filepath.Join(root, ".venv", "bin", "moto_server")
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
		tried = append(tried, p)
	}
	if p, err := exec.LookPath("moto_server"); err == nil {
		return p, nil
	}
	tried = append(tried, "moto_server on PATH")
	return "", fmt.Errorf("testbed: moto_server not found (looked for %s); %s", strings.Join(tried, ", "), fixHint)
}

// StartMoto starts moto_server on a free port of 127.0.0.1 and returns once it
// answers HTTP and has taken the test configuration (no Docker for Lambda and
// Batch). Close stops it. The process is killed if the test binary dies.
func StartMoto(ctx context.Context, opts ...MotoOption) (*Moto, error) {
	var o motoOptions
	for _, opt := range opts {
		opt(&o)
	}
	bin, err := findMotoServer()
	if err != nil {
		return nil, err
	}
	o.preload = append(defaultPreload(), o.preload...)
	for _, p := range o.preload {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("testbed: moto preload file: %w", err)
		}
	}
	// A port picked free can be taken before moto binds it; try a few.
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		m, err := startMotoOnce(ctx, bin, o)
		if err == nil {
			return m, nil
		}
		lastErr = err
		if ctx.Err() != nil || !strings.Contains(err.Error(), "Address already in use") {
			break
		}
	}
	return nil, lastErr
}

func startMotoOnce(ctx context.Context, bin string, o motoOptions) (*Moto, error) {
	port, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("testbed: no free port for moto: %w", err)
	}
	args := []string{"-H", "127.0.0.1", "-p", strconv.Itoa(port)}
	var cmd *exec.Cmd
	env := append(os.Environ(), o.env...)
	if len(o.preload) > 0 {
		// The interpreter that owns moto_server sits next to it (venv or not).
		python := filepath.Join(filepath.Dir(bin), "python")
		if _, err := os.Stat(python); err != nil {
			python = filepath.Join(filepath.Dir(bin), "python3")
		}
		cmd = exec.Command(python, append([]string{"-c", preloadBootstrap}, args...)...)
		env = append(env, "NEO4JCTL_MOTO_PRELOAD="+strings.Join(o.preload, string(os.PathListSeparator)))
	} else {
		cmd = exec.Command(bin, args...)
	}
	cmd.Env = env
	logs := newTailBuffer(64 << 10)
	cmd.Stdout, cmd.Stderr = logs, logs
	setChildAttrs(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("testbed: starting %s: %w; %s", bin, err, fixHint)
	}
	m := &Moto{
		endpoint: "http://127.0.0.1:" + strconv.Itoa(port),
		cmd:      cmd,
		exited:   make(chan struct{}),
		logs:     logs,
		http:     &http.Client{Timeout: 30 * time.Second},
	}
	go func() { m.waitErr = cmd.Wait(); close(m.exited) }()

	ctx, cancel := context.WithTimeout(ctx, motoStartTimeout)
	defer cancel()
	if err := m.waitReady(ctx); err != nil {
		m.Close()
		return nil, err
	}
	if err := m.configure(ctx); err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
}

func (m *Moto) waitReady(ctx context.Context) error {
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, m.endpoint+"/moto-api/config", nil)
		if resp, err := m.http.Do(req); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode < 500 {
				return nil
			}
		}
		select {
		case <-m.exited:
			return fmt.Errorf("testbed: moto_server exited before answering (%v); its output:\n%s", m.waitErr, indent(m.logs.String()))
		case <-ctx.Done():
			return fmt.Errorf("testbed: moto_server did not answer on %s: %w; its output:\n%s", m.endpoint, ctx.Err(), indent(m.logs.String()))
		case <-tick.C:
		}
	}
}

func (m *Moto) configure(ctx context.Context) error {
	return m.post(ctx, "/moto-api/config", motoConfig)
}

func (m *Moto) post(ctx context.Context, path, body string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.endpoint+path, strings.NewReader(body))
	if err != nil {
		return err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := m.http.Do(req)
	if err != nil {
		return fmt.Errorf("testbed: moto POST %s: %w", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("testbed: moto POST %s: %s: %s", path, resp.Status, bytes.TrimSpace(b))
	}
	return nil
}

// Endpoint is the server's base URL, e.g. http://127.0.0.1:40123.
func (m *Moto) Endpoint() string { return m.endpoint }

// Logs returns the last 64 KiB of the server's output.
func (m *Moto) Logs() string { return m.logs.String() }

// Reset wipes all state in every account (POST /moto-api/reset) and
// re-applies the test configuration. Prefer per-test accounts (NewAccountID,
// WithAccountID) to resetting a shared server.
func (m *Moto) Reset(ctx context.Context) error {
	if err := m.post(ctx, "/moto-api/reset", ""); err != nil {
		return err
	}
	return m.configure(ctx)
}

// Close stops the server. It is safe to call more than once.
func (m *Moto) Close() error {
	m.close.Do(func() {
		killGroup(m.cmd)
		<-m.exited
	})
	return nil
}

// AWSOption changes the aws.Config AWSConfig returns.
type AWSOption func(*aws.Config)

// WithAccountID makes every request carry the x-moto-account-id header, so
// moto serves it from that account's own backends: tests isolated without a
// reset.
func WithAccountID(accountID string) AWSOption {
	return func(c *aws.Config) {
		c.APIOptions = append(c.APIOptions, smithyhttp.SetHeaderValue("x-moto-account-id", accountID))
	}
}

// NewAccountID returns a random 12-digit AWS account id (no leading zero,
// never DefaultAccountID) for one test's isolated view of moto.
func NewAccountID() string {
	for {
		n, err := rand.Int(rand.Reader, big.NewInt(9e11))
		if err != nil {
			panic(err)
		}
		id := strconv.FormatInt(n.Int64()+1e11, 10)
		if id != DefaultAccountID {
			return id
		}
	}
}

// AWSConfig returns an aws-sdk-go-v2 config that talks to this server:
// BaseEndpoint set to Endpoint(), static test credentials, retries only of
// dropped connections (see connectionRetryer), checksums only where an
// operation requires them, and the SDK's own buildable HTTP client. It reads
// nothing from the environment or ~/.aws, so a developer's AWS setup can never
// leak into a test. For S3 set o.UsePathStyle = true on the client.
func (m *Moto) AWSConfig(ctx context.Context, region string, opts ...AWSOption) aws.Config {
	_ = ctx // kept for symmetry with config.LoadDefaultConfig
	cfg := aws.Config{
		Region:                     region,
		Credentials:                aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(motoAccessKeyID, motoSecretAccessKey, "")),
		BaseEndpoint:               aws.String(m.endpoint),
		HTTPClient:                 awshttp.NewBuildableClient(),
		Retryer:                    connectionRetryer,
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	}
	for _, opt := range opts {
		opt(&cfg)
	}
	return cfg
}

// connectionRetryer tries a call again only when its connection failed, up to three
// attempts, and never on an answer from moto: tests assert AWS errors, and moto answers
// AlreadyExists to a CreateStack sent twice. Under load, a loopback connection to moto's
// werkzeug server (one connection per request, closed by the server) very rarely fails
// while the answer is read: a reset ("use of closed network connection" after a 200), the
// error the SDK's own retryer treats as a dropped connection. That is the
// emulator's transport, not the code under test, and a setup call failing on it made
// unrelated tests fail in CI.
func connectionRetryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = 3
		o.RateLimiter = ratelimit.None
		o.Retryables = []retry.IsErrorRetryable{retry.RetryableConnectionError{}}
		o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 50 * time.Millisecond, nil })
	})
}

// IsolatedConfig is AWSConfig in a fresh random account: the test sees an
// empty AWS. It returns the account id too.
func (m *Moto) IsolatedConfig(ctx context.Context, region string) (aws.Config, string) {
	id := NewAccountID()
	return m.AWSConfig(ctx, region, WithAccountID(id)), id
}

// Env returns environment variables that point an AWS SDK or CLI in a child
// process (for example the neo4jctl binary) at this server, with retries off
// and no shared config files. moto's default account applies.
func (m *Moto) Env(region string) []string {
	return []string{
		"AWS_ENDPOINT_URL=" + m.endpoint,
		"AWS_ACCESS_KEY_ID=" + motoAccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + motoSecretAccessKey,
		"AWS_SESSION_TOKEN=",
		"AWS_PROFILE=",
		"AWS_REGION=" + region,
		"AWS_DEFAULT_REGION=" + region,
		"AWS_MAX_ATTEMPTS=1",
		"AWS_RETRY_MODE=standard",
		"AWS_CONFIG_FILE=" + os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE=" + os.DevNull,
		"AWS_EC2_METADATA_DISABLED=true",
		// checksums only where an operation requires them, as in AWSConfig (and as a user's
		// config may say): an upload that S3 takes only with a checksum (into a bucket with
		// Object Lock) must ask for one itself
		"AWS_REQUEST_CHECKSUM_CALCULATION=when_required",
	}
}
