package neo4jadmin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// ContractVersion is the version of the admin request/response contract this build speaks.
//
// The versioning rule:
//   - The contract only grows. A new version adds request types, request fields, answer
//     fields or error codes; it never renames or removes one, nor changes what one means.
//   - A request carries in "version" the lowest contract version that can express it
//     (Request.MinVersion; Encode fills it in). Version 1 is omitted, so a request that the
//     first contract could say reads exactly as it did then, and older functions serve it.
//   - Every answer carries "contractVersion", the version of the side that answered (absent:
//     1, the functions deployed before versioning).
//   - A function serves every request it fully understands, whatever its version. One it does
//     not understand (an unknown type or field) is answered with CodeUpgradeRequired when the
//     request's version is newer than the function's, and CodeInvalidRequest otherwise.
//     A version-1 function says "unknown field" or "unknown request type" instead: CheckContract
//     turns that into CodeUpgradeRequired too, so the CLI can always say "run
//     `neo4jctl update cluster`" instead of failing obscurely.
const ContractVersion = 2

// RequestType names one operation. The admin Lambda refuses any other.
type RequestType string

// Version 1 request types.
const (
	ReqStatus            RequestType = "status"              // SHOW SERVERS, SHOW DATABASES, statusCheck
	ReqHealth            RequestType = "health"              // the quorum gates of design §5
	ReqEnsureUsers       RequestType = "ensure-users"        // users and roles from the secrets
	ReqEnableFreeServers RequestType = "enable-free-servers" // ENABLE SERVER for every Free server
	ReqDeallocateServer  RequestType = "deallocate-server"   // DEALLOCATE DATABASES FROM SERVER (DRYRUN with dryRun)
	ReqDropServer        RequestType = "drop-server"         // DROP SERVER
	ReqSetTopology       RequestType = "set-topology"        // ALTER DATABASE ... SET TOPOLOGY
	// dbms.setDefaultAllocationNumbers: the topology of databases created without TOPOLOGY
	ReqSetDefaultAllocation RequestType = "set-default-allocation"
	// version 1's name for recreate-database (without idempotency key or topology); a database
	// that does not exist yet is created from the seed
	ReqRestoreDatabase RequestType = "restore-database"
)

// Version 2 request types.
const (
	// what the answering side speaks (no Neo4j access: it works even when Neo4j is down)
	ReqVersion RequestType = "version"
	// ENABLE SERVER for one server (Free or Cordoned)
	ReqEnableServer RequestType = "enable-server"
	// CALL dbms.cluster.cordonServer: keep what it hosts, allocate nothing new to it
	ReqCordonServer RequestType = "cordon-server"
	// REALLOCATE DATABASES (or dbms.cluster.reallocateDatabase for one database); dryRun
	// answers the moves without making them
	ReqReallocateDatabases RequestType = "reallocate-databases"
	// make Neo4j move the leaderships a server holds to other primaries, by making its user
	// databases read-only on that server (server.databases.read_only, a dynamic setting that
	// a restart clears); undo gives them back
	ReqTransferLeadership RequestType = "transfer-leadership"
	// dbms.cluster.recreateDatabase (5.24 to 2025.03) or dbms.recreateDatabase (2025.04+)
	// with a seedURI: the database's privileges are kept
	ReqRecreateDatabase RequestType = "recreate-database"
)

// requestTypesV1 are the types version 1 knew; RequestTypes every type this build knows.
var (
	requestTypesV1 = []RequestType{ReqStatus, ReqHealth, ReqEnsureUsers, ReqEnableFreeServers,
		ReqDeallocateServer, ReqDropServer, ReqSetTopology, ReqSetDefaultAllocation, ReqRestoreDatabase}
	RequestTypes = append(slices.Clone(requestTypesV1), ReqVersion, ReqEnableServer, ReqCordonServer,
		ReqReallocateDatabases, ReqTransferLeadership, ReqRecreateDatabase)
)

// MaxWaitSeconds bounds Request.WaitSeconds: every invocation of the admin Lambda stays well
// under a minute; longer waits are polls (status, health) from the caller.
const MaxWaitSeconds = 20

// Request is what neo4jctl sends to the admin Lambda (as JSON) or hands to Execute on a
// --bolt-uri run. Only the fields of its Type are read. It never carries a password: users'
// passwords come from Secrets Manager on the Lambda side, or from the UserSource given to
// Execute.
type Request struct {
	Type RequestType `json:"type"`
	// Version is the lowest contract version that can express this request (0 or absent: 1).
	Version int `json:"version,omitempty"`
	// IdempotencyKey names one intended change; a retried invocation with the same key is
	// answered with the first answer instead of acting twice (see the admin Lambda). Required
	// on recreate-database, accepted on every mutating request; a fresh random value per
	// intended change, reused only for retries of that change.
	IdempotencyKey string `json:"idempotencyKey,omitempty"`

	// deallocate-server, drop-server, enable-server, cordon-server, transfer-leadership: the
	// server's name, id or Bolt address (SHOW SERVERS), or its host alone (core-2.<namespace>).
	Server string `json:"server,omitempty"`
	// deallocate-server, reallocate-databases: only report what would move (DRYRUN).
	DryRun bool `json:"dryRun,omitempty"`
	// transfer-leadership: give the server its leaderships' eligibility back.
	Undo bool `json:"undo,omitempty"`

	// set-topology, restore-database, recreate-database, reallocate-databases (optional: one
	// database instead of all): the database.
	Database string `json:"database,omitempty"`
	// set-topology, set-default-allocation: wanted primaries (>= 1) and secondaries (>= 0);
	// recreate-database: a new topology (0 primaries keeps the current one).
	Primaries   int `json:"primaries,omitempty"`
	Secondaries int `json:"secondaries,omitempty"`
	// restore-database, recreate-database: where the backup is, e.g.
	// s3://bucket/backups/neo4j-2025-01-01.backup or a folder URI; seedCredentials are not
	// supported (the Neo4j servers use their role).
	SeedURI string `json:"seedURI,omitempty"`
	// set-topology, restore-database: wait up to this many seconds (at most MaxWaitSeconds)
	// for the change to finish (Cypher WAIT); 0 returns at once (NOWAIT) and the caller polls.
	WaitSeconds int `json:"waitSeconds,omitempty"`

	// health: gate thresholds.
	Gates *GateOptions `json:"gates,omitempty"`
}

// Mutating reports whether the request changes the cluster (and so may carry an
// idempotency key). Dry runs change nothing.
func (r Request) Mutating() bool {
	switch r.Type {
	case ReqDeallocateServer, ReqReallocateDatabases:
		return !r.DryRun
	case ReqEnableFreeServers, ReqDropServer, ReqSetTopology, ReqSetDefaultAllocation, ReqRestoreDatabase,
		ReqEnableServer, ReqCordonServer, ReqTransferLeadership, ReqRecreateDatabase, ReqEnsureUsers:
		return true
	}
	return false
}

// MinVersion is the lowest contract version that can express the request.
func (r Request) MinVersion() int {
	if !slices.Contains(requestTypesV1, r.Type) || r.IdempotencyKey != "" || r.Undo {
		return 2
	}
	if r.DryRun && r.Type != ReqDeallocateServer {
		return 2
	}
	return 1
}

// Encode marshals a request for the wire with its Version set to MinVersion (omitted for 1).
func Encode(r Request) ([]byte, error) {
	if v := r.MinVersion(); v > 1 {
		r.Version = v
	} else {
		r.Version = 0
	}
	return json.Marshal(r)
}

// Response is the JSON answer to a Request. OK false comes with Error.
type Response struct {
	Type RequestType `json:"type"`
	OK   bool        `json:"ok"`
	// ContractVersion is the contract version of the side that answered (absent: 1).
	ContractVersion int    `json:"contractVersion,omitempty"`
	Error           *Error `json:"error,omitempty"`
	// Replayed says the answer is the recorded answer of an earlier request with the same
	// idempotency key: nothing was done this time.
	Replayed bool `json:"replayed,omitempty"`

	Status  *Status       `json:"status,omitempty"`  // status
	Health  *HealthReport `json:"health,omitempty"`  // health
	Users   []UserResult  `json:"users,omitempty"`   // ensure-users
	Servers []string      `json:"servers,omitempty"` // enable-free-servers: those enabled
	Message string        `json:"message,omitempty"` // a human summary of what was done
	// deallocate-server with dryRun: the moves DRYRUN reports, as Neo4j returned them
	// (version 1; Moves has them typed).
	Rows []Row `json:"rows,omitempty"`
	// deallocate-server, reallocate-databases: the moves planned (dryRun) or started.
	Moves []Move `json:"moves,omitempty"`
	// transfer-leadership: the databases now read-only on the server (undo: given back);
	// recreate-database: the database.
	Databases []string `json:"databases,omitempty"`
	// version: what the answering side speaks.
	Contract *ContractInfo `json:"contract,omitempty"`
}

// ContractInfo is the answer to a version request.
type ContractInfo struct {
	Version      int           `json:"version"`
	RequestTypes []RequestType `json:"requestTypes"`
	// Agent is the agent build that answered (the admin Lambda), empty on a --bolt-uri run.
	Agent string `json:"agent,omitempty"`
}

// Move is one database allocation moving from one server to another (DRYRUN DEALLOCATE,
// DRYRUN REALLOCATE, and what the real commands start).
type Move struct {
	Database       string `json:"database"`
	FromServerName string `json:"fromServerName"`
	FromServerID   string `json:"fromServerId"`
	ToServerName   string `json:"toServerName"`
	ToServerID     string `json:"toServerId"`
	Mode           string `json:"mode"` // primary | secondary
}

// Row is one raw result row, for answers with no fixed shape.
type Row map[string]any

// Error codes in Response.Error.Code.
const (
	CodeInvalidRequest = "invalid-request" // unknown type, missing or bad field
	CodeUnauthorized   = "unauthorized"    // wrong user or password
	CodeUnavailable    = "unavailable"     // Neo4j could not be reached, or has no leader for the change
	CodeUnsupported    = "unsupported"     // the edition or version lacks the command
	CodeNeo4j          = "neo4j-error"     // Neo4j refused the command
	CodeInternal       = "internal"        // anything else (secrets, timeouts)
	// Version 2.
	CodeUpgradeRequired = "upgrade-required" // the answering function is older than the request
	CodeNotReady        = "not-ready"        // the cluster is not in a state that allows this yet; poll and retry
)

// Error is a failed operation.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// DecodeRequest parses a request strictly (unknown fields are errors) and validates it. What
// it cannot understand in a request from a newer contract is answered CodeUpgradeRequired.
func DecodeRequest(b []byte) (Request, error) {
	var r Request
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		// Read what can be read, to name the type and see whether a newer client sent it.
		var peek struct {
			Type    RequestType `json:"type"`
			Version int         `json:"version"`
		}
		_ = json.Unmarshal(b, &peek)
		r.Type, r.Version = peek.Type, peek.Version
		if peek.Version > ContractVersion {
			return r, upgradeRequired(peek.Version, "it has something this function does not know ("+err.Error()+")")
		}
		return r, &Error{Code: CodeInvalidRequest, Message: "decoding request: " + err.Error()}
	}
	if r.Version > ContractVersion && !slices.Contains(RequestTypes, r.Type) {
		return r, upgradeRequired(r.Version, fmt.Sprintf("request type %q is unknown here", r.Type))
	}
	return r, r.Validate()
}

func upgradeRequired(v int, why string) *Error {
	return &Error{Code: CodeUpgradeRequired, Message: fmt.Sprintf(
		"the request needs admin contract version %d and this function speaks %d: %s; update the cluster's operations function with `neo4jctl update cluster`",
		v, ContractVersion, why)}
}

// Validate checks the fields the request's type needs.
func (r Request) Validate() error {
	bad := func(format string, a ...any) error {
		return &Error{Code: CodeInvalidRequest, Message: fmt.Sprintf("%s: ", r.Type) + fmt.Sprintf(format, a...)}
	}
	topology := func() error {
		if r.Primaries < 1 || r.Secondaries < 0 {
			return bad("need primaries >= 1 and secondaries >= 0, got %d and %d", r.Primaries, r.Secondaries)
		}
		return nil
	}
	var err error
	switch r.Type {
	case ReqStatus, ReqEnsureUsers, ReqEnableFreeServers, ReqVersion:
	case ReqHealth:
		if r.Gates != nil && r.Gates.MaxReplicationLag < 0 {
			err = bad("gates.maxReplicationLag must be >= 0")
		}
	case ReqDeallocateServer, ReqDropServer, ReqEnableServer, ReqCordonServer, ReqTransferLeadership:
		if r.Server == "" {
			err = bad("server is required")
		}
	case ReqReallocateDatabases:
		if strings.EqualFold(r.Database, "system") {
			err = bad("the system database is hosted by every server: nothing to reallocate")
		}
	case ReqSetTopology:
		if r.Database == "" {
			err = bad("database is required")
		} else {
			err = topology()
		}
	case ReqSetDefaultAllocation:
		err = topology()
	case ReqRestoreDatabase, ReqRecreateDatabase:
		switch {
		case r.Database == "" || r.SeedURI == "":
			err = bad("database and seedURI are required")
		case strings.EqualFold(r.Database, "system"):
			err = bad("the system database cannot be restored online")
		case r.Type == ReqRecreateDatabase && r.IdempotencyKey == "":
			err = bad("idempotencyKey is required (a recreate is not idempotent by itself)")
		case r.Type == ReqRecreateDatabase && (r.Primaries != 0 || r.Secondaries != 0):
			err = topology()
		}
	case "":
		return &Error{Code: CodeInvalidRequest, Message: "request type is empty"}
	default:
		return &Error{Code: CodeInvalidRequest, Message: fmt.Sprintf("unknown request type %q (accepted: %v)", r.Type, RequestTypes)}
	}
	if err != nil {
		return err
	}
	if r.WaitSeconds < 0 || r.WaitSeconds > MaxWaitSeconds {
		return bad("waitSeconds must be within 0..%d: longer waits are polls", MaxWaitSeconds)
	}
	if len(r.IdempotencyKey) > 128 {
		return bad("idempotencyKey is longer than 128 characters")
	}
	if r.IdempotencyKey != "" && !r.Mutating() {
		return bad("idempotencyKey is only for requests that change the cluster")
	}
	return nil
}

// CheckContract interprets an answer from a function that may be older than this build:
// it returns the answer's error, turned into CodeUpgradeRequired where the function did not
// understand a request that it would have understood had it been up to date.
func CheckContract(req Request, resp Response) error {
	err := resp.Err()
	if err == nil || resp.Error == nil || resp.Error.Code != CodeInvalidRequest {
		return err
	}
	fv := resp.ContractVersion
	if fv == 0 {
		fv = 1
	}
	if req.MinVersion() <= fv {
		return err
	}
	m := resp.Error.Message
	if strings.Contains(m, "unknown field") || strings.Contains(m, "unknown request type") {
		return &Error{Code: CodeUpgradeRequired, Message: fmt.Sprintf(
			"the cluster's operations function speaks admin contract version %d, and %s needs version %d (it answered: %s); update it with `neo4jctl update cluster`",
			fv, req.Type, req.MinVersion(), m)}
	}
	return err
}
