package neo4jadmin

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

func TestDecodeRequest(t *testing.T) {
	tests := []struct {
		in       string
		wantCode string // "" = accepted
		wantMsg  string
	}{
		{`{"type":"status"}`, "", ""},
		{`{"type":"health","gates":{"minServers":3}}`, "", ""},
		{`{"type":"version","version":2}`, "", ""},
		{`{"type":"drop-server","server":"s","idempotencyKey":"k","version":2}`, "", ""},
		{`{"type":"recreate-database","database":"neo4j","seedURI":"s3://b/x","idempotencyKey":"k","version":2}`, "", ""},
		{`{"type":"set-topology","database":"neo4j","primaries":0}`, CodeInvalidRequest, "primaries >= 1"},
		{`{"type":"status","extra":1}`, CodeInvalidRequest, "unknown field"},
		{`{"type":""}`, CodeInvalidRequest, "empty"},
		{`{"type":"x"}`, CodeInvalidRequest, "unknown request type"},
		{`{"type":"restore-database","database":"a","seedURI":"s3://x","waitSeconds":21}`, CodeInvalidRequest, "waitSeconds"},
		{`{"type":"recreate-database","database":"neo4j","seedURI":"s3://b/x","version":2}`, CodeInvalidRequest, "idempotencyKey is required"},
		{`{"type":"recreate-database","database":"neo4j","seedURI":"s3://b/x","idempotencyKey":"k","secondaries":2,"version":2}`, CodeInvalidRequest, "primaries >= 1"},
		{`{"type":"status","idempotencyKey":"k","version":2}`, CodeInvalidRequest, "only for requests that change"},
		{`{"type":"reallocate-databases","database":"system","version":2}`, CodeInvalidRequest, "system"},
		// a newer client: what this build does not know is an upgrade, not a bad request
		{`{"type":"status","version":3,"verbose":true}`, CodeUpgradeRequired, "needs admin contract version 3"},
		{`{"type":"rebalance-leaders","version":3}`, CodeUpgradeRequired, "neo4jctl update cluster"},
		// a newer client whose request this build fully understands is served
		{`{"type":"status","version":3}`, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := DecodeRequest([]byte(tt.in))
			if tt.wantCode == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !IsCode(err, tt.wantCode) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("err %v, want %s with %q", err, tt.wantCode, tt.wantMsg)
			}
		})
	}
}

// What version-1 clients sent decodes, validates and encodes byte for byte as before: the
// v2 fields stay off the wire.
func TestVersion1RequestsUnchanged(t *testing.T) {
	for _, in := range []string{
		`{"type":"status"}`,
		`{"type":"health","gates":{"minServers":3,"maxReplicationLag":5}}`,
		`{"type":"ensure-users"}`,
		`{"type":"enable-free-servers"}`,
		`{"type":"deallocate-server","server":"core-3.neo4j.internal","dryRun":true}`,
		`{"type":"drop-server","server":"core-3.neo4j.internal"}`,
		`{"type":"set-topology","database":"neo4j","primaries":3,"secondaries":2,"waitSeconds":20}`,
		`{"type":"set-default-allocation","primaries":3,"secondaries":1}`,
		`{"type":"restore-database","database":"neo4j","seedURI":"s3://b/x.backup"}`,
	} {
		r, err := DecodeRequest([]byte(in))
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if r.MinVersion() != 1 {
			t.Errorf("%s: MinVersion %d", in, r.MinVersion())
		}
		out, err := Encode(r)
		if err != nil || string(out) != in {
			t.Errorf("Encode(%s) = %s %v", in, out, err)
		}
	}
}

func TestEncodeVersion(t *testing.T) {
	tests := []struct {
		req  Request
		want int
	}{
		{Request{Type: ReqVersion}, 2},
		{Request{Type: ReqDropServer, Server: "s", IdempotencyKey: "k"}, 2},
		{Request{Type: ReqDeallocateServer, Server: "s", DryRun: true}, 1},
		{Request{Type: ReqReallocateDatabases, DryRun: true}, 2},
		{Request{Type: ReqTransferLeadership, Server: "s", Undo: true}, 2},
		{Request{Type: ReqStatus, Version: 7}, 1}, // Encode computes it; a caller's value is ignored
	}
	for _, tt := range tests {
		b, err := Encode(tt.req)
		if err != nil {
			t.Fatal(err)
		}
		var got struct{ Version int }
		json.Unmarshal(b, &got)
		if max(got.Version, 1) != tt.want {
			t.Errorf("%s: version %d, want %d", b, got.Version, tt.want)
		}
	}
}

// A function deployed before versioning answers a v2 request with invalid-request and no
// contractVersion; CheckContract turns that into "update the cluster".
func TestCheckContract(t *testing.T) {
	v1 := func(msg string) Response {
		return Response{Type: "x", Error: &Error{Code: CodeInvalidRequest, Message: msg}}
	}
	tests := []struct {
		name     string
		req      Request
		resp     Response
		wantCode string // "" = no error
	}{
		{"v1 function, new field", Request{Type: ReqDropServer, Server: "s", IdempotencyKey: "k"},
			v1(`decoding request: json: unknown field "idempotencyKey"`), CodeUpgradeRequired},
		{"v1 function, new type", Request{Type: ReqVersion},
			v1(`unknown request type "version" (accepted: [status])`), CodeUpgradeRequired},
		{"v1 function, v1 request it refused for a real reason", Request{Type: ReqDropServer},
			v1("drop-server: server is required"), CodeInvalidRequest},
		{"v2 function refusing a v2 request stays invalid", Request{Type: ReqRecreateDatabase, Database: "neo4j", SeedURI: "s3://x"},
			Response{ContractVersion: 2, Error: &Error{Code: CodeInvalidRequest, Message: "recreate-database: idempotencyKey is required"}}, CodeInvalidRequest},
		{"other failures pass through", Request{Type: ReqVersion}, Response{Error: &Error{Code: CodeUnavailable, Message: "down"}}, CodeUnavailable},
		{"ok", Request{Type: ReqStatus}, Response{OK: true}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckContract(tt.req, tt.resp)
			if tt.wantCode == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !IsCode(err, tt.wantCode) {
				t.Fatalf("err %v, want %s", err, tt.wantCode)
			}
			if tt.wantCode == CodeUpgradeRequired && !strings.Contains(err.Error(), "neo4jctl update cluster") {
				t.Errorf("message %q names no fix", err)
			}
		})
	}
}

func TestVersionRequest(t *testing.T) {
	r := ExecuteWith(context.Background(), nil, Request{Type: ReqVersion}, Env{Agent: "neo4jctl-agent 9"})
	if !r.OK || r.Contract == nil || r.Contract.Version != ContractVersion || r.Contract.Agent != "neo4jctl-agent 9" || len(r.Contract.RequestTypes) != len(RequestTypes) {
		t.Fatalf("%+v", r)
	}
}
