package neo4jadmin

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// RequestType names one operation. The operations Lambda refuses any other.
type RequestType string

const (
	ReqStatus            RequestType = "status"              // SHOW SERVERS, SHOW DATABASES, statusCheck
	ReqHealth            RequestType = "health"              // the quorum gates of design §5
	ReqEnsureUsers       RequestType = "ensure-users"        // users and roles from the secrets
	ReqEnableFreeServers RequestType = "enable-free-servers" // ENABLE SERVER for every Free server
	ReqDeallocateServer  RequestType = "deallocate-server"   // DEALLOCATE DATABASES FROM SERVER
	ReqDropServer        RequestType = "drop-server"         // DROP SERVER
	ReqSetTopology       RequestType = "set-topology"        // ALTER DATABASE ... SET TOPOLOGY
	// dbms.setDefaultAllocationNumbers: the topology of databases created without TOPOLOGY
	ReqSetDefaultAllocation RequestType = "set-default-allocation"
	ReqRestoreDatabase      RequestType = "restore-database" // CREATE OR REPLACE DATABASE ... seedURI
)

// RequestTypes lists every accepted request type.
var RequestTypes = []RequestType{ReqStatus, ReqHealth, ReqEnsureUsers, ReqEnableFreeServers,
	ReqDeallocateServer, ReqDropServer, ReqSetTopology, ReqSetDefaultAllocation, ReqRestoreDatabase}

// Request is what neo4jctl sends to the operations Lambda (as JSON) or hands to Execute on a
// --bolt-uri run. Only the fields of its Type are read. It never carries a password: users'
// passwords come from Secrets Manager on the Lambda side, or from the UserSource given to
// Execute.
type Request struct {
	Type RequestType `json:"type"`

	// deallocate-server, drop-server: the server's name or id (SHOW SERVERS name column).
	Server string `json:"server,omitempty"`
	// deallocate-server: only report what would move (DRYRUN).
	DryRun bool `json:"dryRun,omitempty"`

	// set-topology, restore-database: the database.
	Database string `json:"database,omitempty"`
	// set-topology, set-default-allocation: wanted primaries (>= 1) and secondaries (>= 0).
	Primaries   int `json:"primaries,omitempty"`
	Secondaries int `json:"secondaries,omitempty"`
	// restore-database: where the backup is, e.g. s3://bucket/backups/neo4j-2025-01-01.backup
	// or a folder URI; seedCredentials are not supported (the Neo4j servers use their role).
	SeedURI string `json:"seedURI,omitempty"`
	// set-topology, restore-database: wait up to this many seconds for the change to finish
	// (Cypher WAIT); 0 returns at once (NOWAIT) and the caller polls health.
	WaitSeconds int `json:"waitSeconds,omitempty"`

	// health: gate thresholds.
	Gates *GateOptions `json:"gates,omitempty"`
}

// Response is the JSON answer to a Request. OK false comes with Error.
type Response struct {
	Type  RequestType `json:"type"`
	OK    bool        `json:"ok"`
	Error *Error      `json:"error,omitempty"`

	Status  *Status       `json:"status,omitempty"`  // status
	Health  *HealthReport `json:"health,omitempty"`  // health
	Users   []UserResult  `json:"users,omitempty"`   // ensure-users
	Servers []string      `json:"servers,omitempty"` // enable-free-servers: those enabled
	Message string        `json:"message,omitempty"` // a human summary of what was done
	Rows    []Row         `json:"rows,omitempty"`    // deallocate-server: the moves DRYRUN reports
}

// Row is one raw result row, for answers with no fixed shape.
type Row map[string]any

// Error codes in Response.Error.Code.
const (
	CodeInvalidRequest = "invalid-request" // unknown type, missing or bad field
	CodeUnauthorized   = "unauthorized"    // wrong user or password
	CodeUnavailable    = "unavailable"     // Neo4j could not be reached
	CodeUnsupported    = "unsupported"     // the edition or version lacks the command
	CodeNeo4j          = "neo4j-error"     // Neo4j refused the command
	CodeInternal       = "internal"        // anything else (secrets, timeouts)
)

// Error is a failed operation.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// DecodeRequest parses a request strictly (unknown fields are errors) and validates it.
func DecodeRequest(b []byte) (Request, error) {
	var r Request
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return r, &Error{Code: CodeInvalidRequest, Message: "decoding request: " + err.Error()}
	}
	return r, r.Validate()
}

// Validate checks the fields the request's type needs.
func (r Request) Validate() error {
	bad := func(format string, a ...any) error {
		return &Error{Code: CodeInvalidRequest, Message: fmt.Sprintf("%s: ", r.Type) + fmt.Sprintf(format, a...)}
	}
	switch r.Type {
	case ReqStatus, ReqEnsureUsers, ReqEnableFreeServers:
	case ReqHealth:
		if r.Gates != nil && r.Gates.MaxReplicationLag < 0 {
			return bad("gates.maxReplicationLag must be >= 0")
		}
	case ReqDeallocateServer, ReqDropServer:
		if r.Server == "" {
			return bad("server is required")
		}
	case ReqSetTopology:
		if r.Database == "" {
			return bad("database is required")
		}
		if r.Primaries < 1 || r.Secondaries < 0 {
			return bad("need primaries >= 1 and secondaries >= 0, got %d and %d", r.Primaries, r.Secondaries)
		}
	case ReqSetDefaultAllocation:
		if r.Primaries < 1 || r.Secondaries < 0 {
			return bad("need primaries >= 1 and secondaries >= 0, got %d and %d", r.Primaries, r.Secondaries)
		}
	case ReqRestoreDatabase:
		if r.Database == "" || r.SeedURI == "" {
			return bad("database and seedURI are required")
		}
		if r.Database == "system" {
			return bad("the system database cannot be restored online")
		}
	case "":
		return &Error{Code: CodeInvalidRequest, Message: "request type is empty"}
	default:
		return &Error{Code: CodeInvalidRequest, Message: fmt.Sprintf("unknown request type %q (accepted: %v)", r.Type, RequestTypes)}
	}
	if r.WaitSeconds < 0 || r.WaitSeconds > 3600 {
		return bad("waitSeconds must be within 0..3600")
	}
	return nil
}
