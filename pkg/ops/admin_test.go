package ops

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/neo4jctl/neo4jctl/internal/clustersim"
	"github.com/neo4jctl/neo4jctl/pkg/engine"
	"github.com/neo4jctl/neo4jctl/pkg/neo4jadmin"
)

// fakeLambda is a FAKE Lambda Invoke: each call goes to fn (the simulator's real handler,
// or an answer no emulator gives: function errors, not-found, Pending).
type fakeLambda struct {
	calls    atomic.Int32
	payloads []string
	fn       func(ctx context.Context, payload []byte) (*lambda.InvokeOutput, error)
}

func (f *fakeLambda) Invoke(ctx context.Context, in *lambda.InvokeInput, _ ...func(*lambda.Options)) (*lambda.InvokeOutput, error) {
	f.calls.Add(1)
	f.payloads = append(f.payloads, string(in.Payload))
	return f.fn(ctx, in.Payload)
}

// simLambda is the admin Lambda handler (pkg/lambdas/admin) on a formed simulated cluster.
func simLambda(t *testing.T) (*clustersim.Sim, *fakeLambda) {
	sim := clustersim.New(clustersim.Config{Cores: 3})
	sim.Apply(clustersim.Services{"core-1": {Running: 1}, "core-2": {Running: 1}, "core-3": {Running: 1}})
	if !sim.AdvanceUntil(clustersim.View.Ready, 5*time.Minute) {
		t.Fatal("the simulated cluster did not form")
	}
	return sim, &fakeLambda{fn: func(ctx context.Context, p []byte) (*lambda.InvokeOutput, error) {
		out, err := sim.Invoke(ctx, p)
		return &lambda.InvokeOutput{StatusCode: 200, Payload: out}, err
	}}
}

func answer(payload string) func(context.Context, []byte) (*lambda.InvokeOutput, error) {
	return func(context.Context, []byte) (*lambda.InvokeOutput, error) {
		return &lambda.InvokeOutput{StatusCode: 200, Payload: []byte(payload)}, nil
	}
}

func TestLambdaChannelCarriesTheContractThroughTheRealHandler(t *testing.T) {
	_, fl := simLambda(t)
	ch := NewLambdaChannel("graph-dev", "eu-west-1", fl)
	ctx := context.Background()
	resp, err := ch.Send(ctx, neo4jadmin.Request{Type: neo4jadmin.ReqStatus})
	if err != nil || resp.Status == nil || len(resp.Status.Servers) != 3 || resp.ContractVersion != neo4jadmin.ContractVersion {
		t.Fatalf("status: %v %+v", err, resp)
	}
	// a change carries an idempotency key, and the same intended change sent again (the SDK
	// retrying an invocation) is answered from the function's memory, not done twice
	ch.NewKey = func() string { return "k-1" }
	req := neo4jadmin.Request{Type: neo4jadmin.ReqEnableFreeServers}
	first, err := ch.Send(ctx, req)
	if err != nil || first.Replayed {
		t.Fatalf("enable: %v %+v", err, first)
	}
	if !strings.Contains(fl.payloads[1], `"idempotencyKey":"k-1"`) || !strings.Contains(fl.payloads[1], `"version":2`) {
		t.Errorf("a mutating request goes with a key and the contract version it needs: %s", fl.payloads[1])
	}
	again, err := ch.Send(ctx, req)
	if err != nil || !again.Replayed {
		t.Errorf("a retried change is replayed: %v %+v", err, again)
	}
	// a failed answer is an error that keeps its code
	_, err = ch.Send(ctx, neo4jadmin.Request{Type: neo4jadmin.ReqDropServer, Server: "core-9.neo4j.internal"})
	if err == nil || !neo4jadmin.IsCode(err, neo4jadmin.CodeNeo4j) && !neo4jadmin.IsCode(err, neo4jadmin.CodeInvalidRequest) {
		t.Errorf("dropping an unknown server: %v", err)
	}
}

func TestLambdaChannelSaysWhatToDoWhenTheFunctionDoesNotAnswer(t *testing.T) {
	notFound := func(context.Context, []byte) (*lambda.InvokeOutput, error) {
		return nil, apiErr("ResourceNotFoundException", "Function not found: arn:aws:lambda:eu-west-1:1:function:neo4jctl-graph-dev-operations")
	}
	crashed := &lambda.InvokeOutput{StatusCode: 200, FunctionError: aws.String("Unhandled"),
		Payload: []byte(`{"errorType":"Runtime.ExitError","errorMessage":"RequestId: 1 Error: Runtime exited with error: exit status 2"}`)}
	killed := &lambda.InvokeOutput{StatusCode: 200, FunctionError: aws.String("Unhandled"),
		Payload: []byte(`{"errorMessage":"2026-11-30T06:00:00.000Z 1 Task timed out after 60.00 seconds"}`)}
	hang := func(ctx context.Context, _ []byte) (*lambda.InvokeOutput, error) { <-ctx.Done(); return nil, ctx.Err() }
	cases := []struct {
		name   string
		fn     func(context.Context, []byte) (*lambda.InvokeOutput, error)
		reason string
		want   []string
	}{
		{"not deployed", notFound, ReasonNotDeployed, []string{"admin function neo4jctl-graph-dev-operations: not deployed", "the operations stack", "neo4jctl get cluster"}},
		{"crashed", func(context.Context, []byte) (*lambda.InvokeOutput, error) { return crashed, nil }, ReasonFailed,
			[]string{"function error (Unhandled: Runtime.ExitError: RequestId: 1 Error: Runtime exited", "CloudWatch Logs group /neo4jctl/graph-dev/lambda"}},
		{"killed at its timeout", func(context.Context, []byte) (*lambda.InvokeOutput, error) { return killed, nil }, ReasonTimeout,
			[]string{"timed out (Unhandled: 2026-11-30T06:00:00.000Z 1 Task timed out after 60.00 seconds)", "aws logs tail /neo4jctl/graph-dev/lambda"}},
		{"no answer in time", hang, ReasonTimeout, []string{"timed out (no answer within 50ms)", "/neo4jctl/graph-dev/lambda"}},
		{"not the admin function", answer(`{"type":"status"}`), ReasonBadAnswer, []string{`it answered "{\"type\":\"status\"}"`}},
		{"denied", func(context.Context, []byte) (*lambda.InvokeOutput, error) {
			return nil, apiErr("AccessDeniedException", "User: arn:aws:iam::1:user/dev is not authorized to perform: lambda:InvokeFunction")
		}, ReasonDenied, []string{"lambda:InvokeFunction on neo4jctl-graph-dev-operations"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ch := NewLambdaChannel("graph-dev", "eu-west-1", &fakeLambda{fn: tc.fn})
			ch.Timeout = 50 * time.Millisecond
			_, err := ch.Send(context.Background(), neo4jadmin.Request{Type: neo4jadmin.ReqStatus})
			ce, ok := AsChannelError(err)
			if !ok || ce.Reason != tc.reason {
				t.Fatalf("got %v, want a %q ChannelError", err, tc.reason)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("not one line: %q", err)
			}
		})
	}
}

func TestLambdaChannelWaitsForAFunctionThatIsStillStarting(t *testing.T) {
	_, sim := simLambda(t)
	tries := 0
	fl := &fakeLambda{fn: func(ctx context.Context, p []byte) (*lambda.InvokeOutput, error) {
		if tries++; tries < 3 {
			return nil, apiErr("ResourceConflictException", "The operation cannot be performed at this time. The function is currently in the following state: Pending")
		}
		return sim.fn(ctx, p)
	}}
	ch := NewLambdaChannel("graph-dev", "eu-west-1", fl)
	clock := engine.NewFakeClock(time.Now(), true)
	ch.Clock = clock
	if _, err := ch.Send(context.Background(), neo4jadmin.Request{Type: neo4jadmin.ReqStatus}); err != nil || fl.calls.Load() != 3 {
		t.Fatalf("after two Pending refusals: %v, %d calls", err, fl.calls.Load())
	}
	if clock.Slept() != 6*time.Second {
		t.Errorf("waited %s between tries, want 2 × 3s", clock.Slept())
	}
}

// An admin function older than the CLI refuses what it does not know; the CLI says to
// update the cluster instead of failing obscurely.
func TestLambdaChannelNamesTheUpdateWhenTheFunctionIsOlder(t *testing.T) {
	v1 := answer(`{"type":"cordon-server","ok":false,"error":{"code":"invalid-request","message":"unknown request type \"cordon-server\" (accepted: [status health])"}}`)
	ch := NewLambdaChannel("graph-dev", "eu-west-1", &fakeLambda{fn: v1})
	_, err := ch.Send(context.Background(), neo4jadmin.Request{Type: neo4jadmin.ReqCordonServer, Server: "core-2"})
	if !neo4jadmin.IsCode(err, neo4jadmin.CodeUpgradeRequired) || !strings.Contains(err.Error(), "`neo4jctl update cluster`") {
		t.Fatalf("got %v", err)
	}
}

// The SDK's own retries (real Lambda client, a server that fails the first attempt): a
// request that changes nothing is retried after a 500; a change is not (the function may
// have run), but is after a throttle (Lambda certainly did not run it).
func TestLambdaChannelLetsTheSDKRetryOnlyWhereSafe(t *testing.T) {
	for _, tc := range []struct {
		name      string
		req       neo4jadmin.Request
		firstCode int
		firstBody string
		wantCalls int32
	}{
		{"status after a 500", neo4jadmin.Request{Type: neo4jadmin.ReqStatus}, 500, `{"Type":"Service","message":"internal"}`, 2},
		{"a change after a 500", neo4jadmin.Request{Type: neo4jadmin.ReqEnableFreeServers}, 500, `{"Type":"Service","message":"internal"}`, 1},
		{"a change after a throttle", neo4jadmin.Request{Type: neo4jadmin.ReqEnableFreeServers}, 429, `{"Type":"User","message":"Rate exceeded"}`, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if calls.Add(1) == 1 {
					w.Header().Set("X-Amzn-Errortype", map[int]string{500: "ServiceException", 429: "TooManyRequestsException"}[tc.firstCode])
					w.WriteHeader(tc.firstCode)
					w.Write([]byte(tc.firstBody))
					return
				}
				json.NewEncoder(w).Encode(neo4jadmin.Response{Type: tc.req.Type, OK: true, ContractVersion: 2})
			}))
			defer srv.Close()
			api := lambda.NewFromConfig(aws.Config{Region: "eu-west-1", BaseEndpoint: aws.String(srv.URL),
				Credentials: credentials.NewStaticCredentialsProvider("a", "b", "")})
			_, err := NewLambdaChannel("graph-dev", "eu-west-1", api).Send(context.Background(), tc.req)
			if calls.Load() != tc.wantCalls {
				t.Fatalf("%d attempts (err %v), want %d", calls.Load(), err, tc.wantCalls)
			}
			if (tc.wantCalls == 2) != (err == nil) {
				t.Errorf("err %v", err)
			}
		})
	}
}

// fakeSecrets is a FAKE Secrets Manager holding the admin secret.
type fakeSecrets struct{ value map[string]string }

func (f fakeSecrets) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	v, ok := f.value[aws.ToString(in.SecretId)]
	if !ok {
		return nil, apiErr("ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
	}
	return &secretsmanager.GetSecretValueOutput{SecretString: aws.String(v)}, nil
}

// fakeRouter is a FAKE Neo4j server that answers only the routing-table procedure, with the
// members' advertised names (the recorded shape of dbms.routing.getRoutingTable): what a
// neo4j:// client through a tunnel is handed.
type fakeRouter struct{ user string }

func (f *fakeRouter) Query(_ context.Context, _ string, _ bool, cypher string, _ map[string]any) ([]neo4jadmin.Row, error) {
	if !strings.Contains(cypher, "getRoutingTable") {
		return nil, errors.New("fakeRouter answers the routing table only")
	}
	return []neo4jadmin.Row{{"servers": []any{
		map[string]any{"role": "WRITE", "addresses": []any{"core-1.graph-dev.neo4j.internal:7687"}},
		map[string]any{"role": "READ", "addresses": []any{"core-2.graph-dev.neo4j.internal:7687", "core-3.graph-dev.neo4j.internal:7687"}},
		map[string]any{"role": "ROUTE", "addresses": []any{"core-1.graph-dev.neo4j.internal:7687", "core-2.graph-dev.neo4j.internal:7687", "core-3.graph-dev.neo4j.internal:7687"}},
	}}}, nil
}

func (f *fakeRouter) Close(context.Context) error { return nil }

func TestBoltChannelNamesTheMemberATunnelCannotReach(t *testing.T) {
	router := &fakeRouter{}
	var dialed []string
	ch := NewBoltChannel("graph-dev", "neo4j://localhost:17687", fakeSecrets{value: map[string]string{"neo4jctl/graph-dev/admin": `{"username":"neo4j","password":"from-the-secret"}`}})
	ch.Getenv = func(string) string { return "" }
	ch.Dial = func(uri, user, password string) (*neo4jadmin.Client, error) {
		dialed = append(dialed, uri+" as "+user)
		router.user = user
		return neo4jadmin.NewWithQuerier(router), nil
	}
	ch.Reach = func(_ context.Context, a string) error {
		if a == "core-2.graph-dev.neo4j.internal:7687" {
			return errors.New("dial tcp: lookup core-2.graph-dev.neo4j.internal: no such host")
		}
		return nil
	}
	_, err := ch.Send(context.Background(), neo4jadmin.Request{Type: neo4jadmin.ReqStatus})
	ce, ok := AsChannelError(err)
	if !ok || ce.Reason != ReasonUnreachable {
		t.Fatalf("got %v", err)
	}
	for _, w := range []string{"the member core-2.graph-dev.neo4j.internal:7687, which cannot be reached from here: dial tcp: lookup core-2.graph-dev.neo4j.internal: no such host",
		"neo4j:// needs every member's advertised name (core-N.<namespace>) to resolve", "through a tunnel to one member use bolt://localhost:17687",
		"leave out --bolt-uri to go through the admin Lambda"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%q lacks %q", err, w)
		}
	}
	if len(dialed) != 1 || dialed[0] != "bolt://localhost:17687 as neo4j" {
		t.Errorf("the routing table is read from the URI's own server, directly, with the secret's user: %q", dialed)
	}
	if strings.Contains(err.Error(), "from-the-secret") {
		t.Error("the password is in the message")
	}
}

func TestBoltChannelCredentials(t *testing.T) {
	secrets := fakeSecrets{value: map[string]string{"neo4jctl/graph-dev/admin": `{"username":"neo4j","password":"s3cret-from-sm"}`}}
	for _, tc := range []struct {
		name     string
		env      map[string]string
		secrets  SecretReader
		wantUser string
		wantErr  string
	}{
		{"environment first", map[string]string{EnvNeo4jUsername: "ops", EnvNeo4jPassword: "pw"}, secrets, "ops", ""},
		{"password alone means neo4j", map[string]string{EnvNeo4jPassword: "pw"}, secrets, "neo4j", ""},
		{"else the admin secret", nil, secrets, "neo4j", ""},
		{"user without password", map[string]string{EnvNeo4jUsername: "ops"}, secrets, "", "NEO4J_USERNAME is set but NEO4J_PASSWORD is not"},
		{"no secret", nil, fakeSecrets{}, "", "reading the admin secret neo4jctl/graph-dev/admin: ResourceNotFoundException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ch := NewBoltChannel("graph-dev", "bolt://localhost:17687", tc.secrets)
			ch.Getenv = func(k string) string { return tc.env[k] }
			var user string
			ch.Dial = func(_, u, _ string) (*neo4jadmin.Client, error) {
				user = u
				return neo4jadmin.NewWithQuerier(&fakeRouter{}), nil
			}
			_, err := ch.connect(context.Background())
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || strings.Contains(err.Error(), "s3cret") {
					t.Fatalf("got %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || user != tc.wantUser {
				t.Fatalf("user %q, err %v", user, err)
			}
		})
	}
}
