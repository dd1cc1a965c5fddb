package admin

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/neo4jctl/neo4jctl/internal/testbed"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/neo4jadmin"
)

// The handler runs against the real Neo4j 5.26 of the test bed; Secrets Manager is a map.
func TestMain(m *testing.M) { testbed.Main(m, testbed.NeedNeo4j) }

type secretsMap struct {
	mu sync.Mutex
	m  map[string]string
}

func (s *secretsMap) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[aws.ToString(in.SecretId)]
	if !ok {
		return nil, fmt.Errorf("ResourceNotFoundException: secret %s not found", aws.ToString(in.SecretId))
	}
	return &secretsmanager.GetSecretValueOutput{SecretString: aws.String(v)}, nil
}

func creds(user, pw string) string {
	b, _ := json.Marshal(Credentials{Username: user, Password: pw})
	return string(b)
}

// capture sends the handler's logger, the standard logger, stdout and stderr to one buffer.
func capture(t *testing.T) (*slog.Logger, func() string) {
	t.Helper()
	var buf bytes.Buffer
	var mu sync.Mutex
	w := writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return buf.Write(p) })
	oldOut, oldErr := os.Stdout, os.Stderr
	r, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	os.Stdout, os.Stderr = pw, pw
	log.SetOutput(w)
	done := make(chan struct{})
	go func() {
		b := make([]byte, 4096)
		for {
			n, err := r.Read(b)
			w.Write(b[:n])
			if err != nil {
				close(done)
				return
			}
		}
	}()
	restored := false
	restore := func() string {
		if !restored {
			restored = true
			os.Stdout, os.Stderr = oldOut, oldErr
			log.SetOutput(os.Stderr)
			pw.Close()
			<-done
		}
		mu.Lock()
		defer mu.Unlock()
		return buf.String()
	}
	t.Cleanup(func() { restore() })
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug})), restore
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func TestOperationsHandler(t *testing.T) {
	n := testbed.SharedNeo4j(t)
	roPW, rwPW := rand.Text(), rand.Text()
	sm := &secretsMap{m: map[string]string{
		"arn:admin": creds("neo4j", n.Password),
		"arn:ro":    creds("reader_ops", roPW),
		"arn:rw":    creds("app_ops", rwPW),
		"arn:wrong": creds("neo4j", rand.Text()),
	}}
	logger, output := capture(t)
	h := &Handler{Secrets: sm, Log: logger, Config: Config{BoltURI: n.BoltURI, AdminSecretARN: "arn:admin", ReadOnlyARN: "arn:ro", ReadWriteARN: "arn:rw"}}

	tests := []struct {
		name     string
		req      string
		admin    string
		wantOK   bool
		wantCode string
		check    func(t *testing.T, r neo4jadmin.Response)
	}{
		{name: "status", req: `{"type":"status"}`, wantOK: true, check: func(t *testing.T, r neo4jadmin.Response) {
			if r.Status == nil || len(r.Status.Databases) < 2 {
				t.Fatalf("status %+v", r.Status)
			}
		}},
		{name: "health", req: `{"type":"health","gates":{"maxReplicationLag":5}}`, wantOK: true, check: func(t *testing.T, r neo4jadmin.Response) {
			if r.Health == nil || !r.Health.OK {
				t.Fatalf("health %+v", r.Health)
			}
		}},
		{name: "ensure-users creates", req: `{"type":"ensure-users"}`, wantOK: true, check: func(t *testing.T, r neo4jadmin.Response) {
			if len(r.Users) != 2 || !r.Users[0].Created || r.Users[0].Access != neo4jadmin.ReadOnly {
				t.Fatalf("users %+v", r.Users)
			}
		}},
		{name: "ensure-users again changes nothing", req: `{"type":"ensure-users"}`, wantOK: true, check: func(t *testing.T, r neo4jadmin.Response) {
			for _, u := range r.Users {
				if u.Created || u.PasswordChanged {
					t.Fatalf("second run changed %+v", u)
				}
			}
		}},
		{name: "unknown type refused", req: `{"type":"drop-everything"}`, wantCode: neo4jadmin.CodeInvalidRequest},
		{name: "unknown field refused", req: `{"type":"status","cypher":"MATCH (n) DETACH DELETE n"}`, wantCode: neo4jadmin.CodeInvalidRequest},
		{name: "not JSON", req: `status`, wantCode: neo4jadmin.CodeInvalidRequest},
		{name: "missing field", req: `{"type":"drop-server"}`, wantCode: neo4jadmin.CodeInvalidRequest},
		{name: "wrong admin password", req: `{"type":"status"}`, admin: "arn:wrong", wantCode: neo4jadmin.CodeUnauthorized},
		{name: "missing secret", req: `{"type":"status"}`, admin: "arn:missing", wantCode: neo4jadmin.CodeInternal},
		{name: "enterprise-only command on community", req: `{"type":"set-topology","database":"neo4j","primaries":3,"secondaries":1}`, wantCode: neo4jadmin.CodeUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hh := *h
			if tt.admin != "" {
				hh.Config.AdminSecretARN = tt.admin
			}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			resp, err := hh.Handle(ctx, json.RawMessage(tt.req))
			if err != nil {
				t.Fatalf("handler returned a Lambda error: %v", err)
			}
			if resp.OK != tt.wantOK {
				t.Fatalf("ok=%v error=%+v", resp.OK, resp.Error)
			}
			if tt.wantCode != "" && (resp.Error == nil || resp.Error.Code != tt.wantCode) {
				t.Fatalf("error %+v, want code %s", resp.Error, tt.wantCode)
			}
			if tt.check != nil {
				tt.check(t, resp)
			}
			b, _ := json.Marshal(resp)
			fmt.Println(string(b)) // the answer goes through the captured output too
		})
	}
	out := output()
	if !strings.Contains(out, "operation done") {
		t.Fatalf("nothing captured: %q", out)
	}
	for name, secret := range map[string]string{"admin": n.Password, "read-only": roPW, "read-write": rwPW, "wrong": sm.m["arn:wrong"]} {
		pw := secret
		if strings.HasPrefix(secret, "{") {
			var c Credentials
			json.Unmarshal([]byte(secret), &c)
			pw = c.Password
		}
		if strings.Contains(out, pw) {
			t.Errorf("the %s password appears in the handler's output", name)
		}
	}
}

func TestConfigFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantURI string
		wantErr bool
	}{
		{"namespace default", map[string]string{naming.EnvNamespace: "neo4j.internal", naming.EnvAdminSecretARN: "a"}, "neo4j://core.neo4j.internal:7687", false},
		{"explicit uri", map[string]string{naming.EnvBoltURI: "bolt://x:7687", naming.EnvNamespace: "n", naming.EnvAdminSecretARN: "a"}, "bolt://x:7687", false},
		{"no secret", map[string]string{naming.EnvNamespace: "n"}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ConfigFromEnv(func(k string) string { return tt.env[k] })
			if (err != nil) != tt.wantErr || (!tt.wantErr && c.BoltURI != tt.wantURI) {
				t.Fatalf("%+v %v", c, err)
			}
		})
	}
}

// dialCounter counts the connections the handler opens to Neo4j.
type dialCounter struct {
	mu sync.Mutex
	n  int
}

func (d *dialCounter) dial(uri, user, password string) (*neo4jadmin.Client, error) {
	d.mu.Lock()
	d.n++
	d.mu.Unlock()
	return neo4jadmin.New(uri, user, password)
}

func (d *dialCounter) count() int { d.mu.Lock(); defer d.mu.Unlock(); return d.n }

func invoke(t *testing.T, h *Handler, req string) neo4jadmin.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	resp, err := h.Handle(ctx, json.RawMessage(req))
	if err != nil {
		t.Fatalf("handler returned a Lambda error: %v", err)
	}
	// the answer as the CLI reads it: through JSON
	b, _ := json.Marshal(resp)
	var back neo4jadmin.Response
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	return back
}

// Every answer says which contract the function speaks; the version request needs neither
// the secret nor Neo4j; what a newer client asks that this function does not know is an
// upgrade, named as such.
func TestContractVersionAnswers(t *testing.T) {
	n := testbed.SharedNeo4j(t)
	dc := &dialCounter{}
	h := &Handler{Secrets: &secretsMap{m: map[string]string{"arn:admin": creds("neo4j", n.Password)}}, Dial: dc.dial, Agent: "neo4jctl-agent test",
		Config: Config{BoltURI: n.BoltURI, AdminSecretARN: "arn:missing"}}
	tests := []struct {
		name, req string
		wantCode  string
	}{
		{"version without secret or Neo4j", `{"type":"version","version":2}`, ""},
		{"decode failure", `{"type":"status","cypher":"x"}`, neo4jadmin.CodeInvalidRequest},
		{"secret failure", `{"type":"status"}`, neo4jadmin.CodeInternal},
		{"newer field", `{"type":"status","version":3,"verbose":true}`, neo4jadmin.CodeUpgradeRequired},
		{"newer type", `{"type":"rebalance-leaders","version":3}`, neo4jadmin.CodeUpgradeRequired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := invoke(t, h, tt.req)
			if r.ContractVersion != neo4jadmin.ContractVersion {
				t.Errorf("contractVersion %d", r.ContractVersion)
			}
			if tt.wantCode == "" {
				if !r.OK || r.Contract == nil || r.Contract.Agent != "neo4jctl-agent test" || r.Contract.Version != neo4jadmin.ContractVersion {
					t.Fatalf("%+v %+v", r, r.Error)
				}
				return
			}
			if r.OK || r.Error.Code != tt.wantCode {
				t.Fatalf("%+v, want %s", r.Error, tt.wantCode)
			}
		})
	}
	if dc.count() != 0 {
		t.Errorf("dialled Neo4j %d times", dc.count())
	}
}

// A retried request with the same idempotency key gets the first answer back without
// touching Neo4j; the key on another request is refused; failures are not remembered.
func TestIdempotencyKeys(t *testing.T) {
	n := testbed.SharedNeo4j(t)
	dc := &dialCounter{}
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	h := &Handler{Dial: dc.dial, Answers: NewAnswers(), Now: func() time.Time { return now },
		Secrets: &secretsMap{m: map[string]string{"arn:admin": creds("neo4j", n.Password), "arn:ro": creds("reader_idem", rand.Text())}},
		Config:  Config{BoltURI: n.BoltURI, AdminSecretARN: "arn:admin", ReadOnlyARN: "arn:ro"}}
	first := invoke(t, h, `{"type":"ensure-users","idempotencyKey":"k-1","version":2}`)
	if !first.OK || first.Replayed || !first.Users[0].Created {
		t.Fatalf("first: %+v %v", first, first.Error)
	}
	dials := dc.count()
	again := invoke(t, h, `{"type":"ensure-users","idempotencyKey":"k-1","version":2}`)
	if !again.OK || !again.Replayed || !again.Users[0].Created || dc.count() != dials {
		t.Fatalf("retry: %+v (dials %d -> %d)", again, dials, dc.count())
	}
	other := invoke(t, h, `{"type":"set-default-allocation","primaries":3,"secondaries":1,"idempotencyKey":"k-1","version":2}`)
	if other.OK || other.Error.Code != neo4jadmin.CodeInvalidRequest || !strings.Contains(other.Error.Message, "different request") {
		t.Fatalf("reused key: %+v", other.Error)
	}
	// a failed request (Community has no default allocation) is tried again on retry
	for range 2 {
		r := invoke(t, h, `{"type":"set-default-allocation","primaries":3,"secondaries":1,"idempotencyKey":"k-2","version":2}`)
		if r.OK || r.Replayed || r.Error.Code != neo4jadmin.CodeUnsupported {
			t.Fatalf("failure: %+v", r)
		}
	}
	if dc.count() != dials+2 {
		t.Errorf("failed request not retried against Neo4j: dials %d -> %d", dials, dc.count())
	}
	// an hour later the key is forgotten: the request runs again (naturally idempotent)
	now = now.Add(61 * time.Minute)
	late := invoke(t, h, `{"type":"ensure-users","idempotencyKey":"k-1","version":2}`)
	if !late.OK || late.Replayed || late.Users[0].Created {
		t.Fatalf("after the ttl: %+v", late)
	}
}

// blocked is a Neo4j that never answers.
type blocked struct{}

func (blocked) Query(ctx context.Context, _ string, _ bool, _ string, _ map[string]any) ([]neo4jadmin.Row, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}
func (blocked) Close(context.Context) error { return nil }

// An invocation's work is bounded whatever the function's timeout: a hung Neo4j is answered
// "unavailable" after MaxWork, so the caller polls instead of waiting out the function.
func TestWorkIsBounded(t *testing.T) {
	h := &Handler{Secrets: &secretsMap{m: map[string]string{"arn:admin": creds("neo4j", "pw")}}, MaxWork: 300 * time.Millisecond,
		Dial: func(string, string, string) (*neo4jadmin.Client, error) {
			return neo4jadmin.NewWithQuerier(blocked{}), nil
		},
		Config: Config{BoltURI: "neo4j://core.x:7687", AdminSecretARN: "arn:admin"}}
	t0 := time.Now()
	r := invoke(t, h, `{"type":"status"}`)
	if r.OK || r.Error.Code != neo4jadmin.CodeUnavailable || time.Since(t0) > 10*time.Second {
		t.Fatalf("%+v after %s", r.Error, time.Since(t0))
	}
}
