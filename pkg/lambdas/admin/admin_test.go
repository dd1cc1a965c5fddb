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
