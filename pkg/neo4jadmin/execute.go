package neo4jadmin

import (
	"context"
	"errors"
	"fmt"
)

// UserSource supplies the users ensure-users manages, with their passwords (the Lambda reads
// them from Secrets Manager; the CLI from its own secrets access).
type UserSource func(ctx context.Context) ([]UserSpec, error)

// Execute runs one validated request and always returns an answer: failures are in
// Response.Error with a stable code, wrapped with what was being done.
func Execute(ctx context.Context, c *Client, req Request, users UserSource) Response {
	resp := Response{Type: req.Type}
	if err := req.Validate(); err != nil {
		return fail(resp, err)
	}
	var err error
	switch req.Type {
	case ReqStatus:
		resp.Status, err = c.Status(ctx)
	case ReqHealth:
		var o GateOptions
		if req.Gates != nil {
			o = *req.Gates
		}
		resp.Health, resp.Status, err = c.Health(ctx, o)
	case ReqEnsureUsers:
		if users == nil {
			return fail(resp, &Error{Code: CodeInvalidRequest, Message: "ensure-users: no source of users configured"})
		}
		var specs []UserSpec
		if specs, err = users(ctx); err != nil {
			return fail(resp, &Error{Code: CodeInternal, Message: "ensure-users: reading the users' secrets: " + err.Error()})
		}
		resp.Users, err = c.EnsureUsers(ctx, specs)
	case ReqEnableFreeServers:
		resp.Servers, err = c.EnableFreeServers(ctx)
		if err == nil {
			resp.Message = fmt.Sprintf("enabled %d free servers", len(resp.Servers))
		}
	case ReqDeallocateServer:
		resp.Message, resp.Rows, err = c.DeallocateServer(ctx, req.Server, req.DryRun)
	case ReqDropServer:
		resp.Message, err = c.DropServer(ctx, req.Server)
	case ReqSetTopology:
		resp.Message, err = c.SetTopology(ctx, req.Database, req.Primaries, req.Secondaries, req.WaitSeconds)
	case ReqSetDefaultAllocation:
		resp.Message, err = c.SetDefaultAllocation(ctx, req.Primaries, req.Secondaries)
	case ReqRestoreDatabase:
		resp.Message, err = c.RestoreDatabase(ctx, req.Database, req.SeedURI, req.WaitSeconds)
	}
	if err != nil {
		return fail(resp, err)
	}
	resp.OK = true
	return resp
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
