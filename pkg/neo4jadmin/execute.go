package neo4jadmin

import (
	"context"
	"errors"
	"fmt"
)

// UserSource supplies the users ensure-users manages, with their passwords (the Lambda reads
// them from Secrets Manager; the CLI from its own secrets access).
type UserSource func(ctx context.Context) ([]UserSpec, error)

// Env is what some requests need beyond the routed client.
type Env struct {
	// Users: for ensure-users.
	Users UserSource
	// DialServer connects to one server by the Bolt address SHOW SERVERS gives it
	// (host:port), for the requests that must run on a given member (transfer-leadership:
	// dbms.setConfigValue affects only the server it runs on). nil: those requests answer
	// CodeUnsupported (a --bolt-uri tunnel reaches one address only).
	DialServer func(ctx context.Context, address string) (*Client, error)
	// Agent names the build that answers version requests (empty on a --bolt-uri run).
	Agent string
}

// Execute runs one validated request and always returns an answer: failures are in
// Response.Error with a stable code, wrapped with what was being done.
func Execute(ctx context.Context, c *Client, req Request, users UserSource) Response {
	return ExecuteWith(ctx, c, req, Env{Users: users})
}

// ExecuteWith is Execute with everything an answer may need.
func ExecuteWith(ctx context.Context, c *Client, req Request, env Env) Response {
	resp := Response{Type: req.Type, ContractVersion: ContractVersion}
	if err := req.Validate(); err != nil {
		return fail(resp, err)
	}
	var err error
	switch req.Type {
	case ReqVersion:
		resp.Contract = &ContractInfo{Version: ContractVersion, RequestTypes: RequestTypes, Agent: env.Agent}
	case ReqStatus:
		resp.Status, err = c.Status(ctx)
	case ReqHealth:
		var o GateOptions
		if req.Gates != nil {
			o = *req.Gates
		}
		resp.Health, resp.Status, err = c.Health(ctx, o)
	case ReqEnsureUsers:
		resp.Users, err = ensureUsers(ctx, c, env.Users)
	case ReqEnableFreeServers:
		resp.Servers, err = c.EnableFreeServers(ctx)
		if err == nil {
			resp.Message = fmt.Sprintf("enabled %d free servers", len(resp.Servers))
		}
	case ReqEnableServer:
		resp.Message, err = c.EnableServer(ctx, req.Server)
	case ReqCordonServer:
		resp.Message, err = c.CordonServer(ctx, req.Server)
	case ReqDeallocateServer:
		resp.Message, resp.Moves, err = c.Deallocate(ctx, req.Server, req.DryRun)
		if req.DryRun {
			resp.Rows = movesToRows(resp.Moves)
		}
	case ReqDropServer:
		resp.Message, err = c.DropServer(ctx, req.Server)
	case ReqReallocateDatabases:
		resp.Message, resp.Moves, err = c.Reallocate(ctx, req.Database, req.DryRun)
	case ReqTransferLeadership:
		resp.Message, resp.Databases, err = c.TransferLeadership(ctx, req.Server, req.Undo, env.DialServer)
	case ReqSetTopology:
		resp.Message, err = c.SetTopology(ctx, req.Database, req.Primaries, req.Secondaries, req.WaitSeconds)
	case ReqSetDefaultAllocation:
		resp.Message, err = c.SetDefaultAllocation(ctx, req.Primaries, req.Secondaries)
	case ReqRestoreDatabase:
		resp.Message, err = c.RestoreDatabase(ctx, req.Database, req.SeedURI, req.WaitSeconds)
	case ReqRecreateDatabase:
		resp.Message, err = c.RecreateDatabase(ctx, req.Database, req.SeedURI, req.Primaries, req.Secondaries)
		if err == nil {
			resp.Databases = []string{req.Database}
		}
	}
	if err != nil {
		return fail(resp, err)
	}
	resp.OK = true
	return resp
}

func ensureUsers(ctx context.Context, c *Client, users UserSource) ([]UserResult, error) {
	if users == nil {
		return nil, &Error{Code: CodeInvalidRequest, Message: "ensure-users: no source of users configured"}
	}
	specs, err := users(ctx)
	if err != nil {
		return nil, &Error{Code: CodeInternal, Message: "ensure-users: reading the users' secrets: " + err.Error()}
	}
	return c.EnsureUsers(ctx, specs)
}

func fail(resp Response, err error) Response {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Code: CodeInternal, Message: err.Error()}
	}
	resp.OK = false
	resp.Error = e
	return resp
}

// Err returns the response's error as a Go error (nil when OK).
func (r Response) Err() error {
	if r.OK {
		return nil
	}
	if r.Error == nil {
		return &Error{Code: CodeInternal, Message: string(r.Type) + ": failed without a reason"}
	}
	return r.Error
}
