package neo4jadmin

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// Access is what a managed user may do.
type Access string

const (
	ReadOnly  Access = "read-only"  // role reader
	ReadWrite Access = "read-write" // role publisher
)

// Role is the built-in Enterprise role of an access level. Read-write users get publisher,
// not editor: editor cannot create new labels, relationship types or property names, which
// applications writing new kinds of data need.
func (a Access) Role() string {
	if a == ReadWrite {
		return "publisher"
	}
	return "reader"
}

// managedRoles are the roles ensure-users grants or takes away; other roles an operator gave
// by hand are left alone.
var managedRoles = []string{"reader", "editor", "publisher", "architect", "admin"}

// UserSpec is a user to ensure. Password is never serialised.
type UserSpec struct {
	Username string `json:"username"`
	Password string `json:"-"`
	Access   Access `json:"access"`
}

// UserResult says what ensure-users did for one user.
type UserResult struct {
	Username        string   `json:"username"`
	Access          Access   `json:"access"`
	Created         bool     `json:"created"`
	PasswordChanged bool     `json:"passwordChanged"`
	RolesGranted    []string `json:"rolesGranted,omitempty"`
	RolesRevoked    []string `json:"rolesRevoked,omitempty"`
	Note            string   `json:"note,omitempty"`
}

// EnsureUsers creates each user or brings it to the wanted password and role, idempotently:
// a second run changes nothing. On Community (no roles) users are created and their
// passwords kept right, and the result notes that access cannot be restricted.
func (c *Client) EnsureUsers(ctx context.Context, users []UserSpec) ([]UserResult, error) {
	ed, _, err := c.Edition(ctx)
	if err != nil {
		return nil, err
	}
	existing, err := c.users(ctx)
	if err != nil {
		return nil, err
	}
	var out []UserResult
	for _, u := range users {
		if u.Username == "" || u.Password == "" {
			return out, &Error{Code: CodeInvalidRequest, Message: fmt.Sprintf("ensuring users: user %q has no name or password", u.Username)}
		}
		if u.Username == "neo4j" {
			return out, &Error{Code: CodeInvalidRequest, Message: "ensuring users: the admin user neo4j is not managed by ensure-users"}
		}
		if u.Access != ReadOnly && u.Access != ReadWrite {
			return out, &Error{Code: CodeInvalidRequest, Message: fmt.Sprintf("ensuring users: user %s has unknown access %q", u.Username, u.Access)}
		}
		res := UserResult{Username: u.Username, Access: u.Access}
		roles, ok := existing[u.Username]
		if !ok {
			if _, err := c.run(ctx, "creating user "+u.Username, "system", true,
				"CREATE USER $user IF NOT EXISTS SET PLAINTEXT PASSWORD $password CHANGE NOT REQUIRED",
				map[string]any{"user": u.Username, "password": u.Password}); err != nil {
				return out, err
			}
			res.Created = true
		} else {
			changed, err := c.setPassword(ctx, u)
			if err != nil {
				return out, err
			}
			res.PasswordChanged = changed
		}
		if ed == "enterprise" {
			want := u.Access.Role()
			if !slices.Contains(roles, want) {
				if _, err := c.run(ctx, "granting role "+want+" to "+u.Username, "system", true,
					"GRANT ROLE "+want+" TO $user", map[string]any{"user": u.Username}); err != nil {
					return out, err
				}
				res.RolesGranted = append(res.RolesGranted, want)
			}
			for _, r := range roles {
				if r != want && slices.Contains(managedRoles, r) {
					if _, err := c.run(ctx, "revoking role "+r+" from "+u.Username, "system", true,
						"REVOKE ROLE "+r+" FROM $user", map[string]any{"user": u.Username}); err != nil {
						return out, err
					}
					res.RolesRevoked = append(res.RolesRevoked, r)
				}
			}
		} else {
			res.Note = "Neo4j " + ed + " has no roles: the user has full access"
		}
		out = append(out, res)
	}
	return out, nil
}

// users returns the existing users and their roles (nil roles on Community).
func (c *Client) users(ctx context.Context) (map[string][]string, error) {
	rows, err := c.run(ctx, "listing users (SHOW USERS)", "system", false, "SHOW USERS YIELD *", nil)
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, r := range rows {
		out[str(r, "user")] = strs(r, "roles")
	}
	return out, nil
}

// setPassword sets the password and reports whether it changed. Neo4j refuses to set the
// password a user already has; that answer means "already right".
func (c *Client) setPassword(ctx context.Context, u UserSpec) (bool, error) {
	_, err := c.run(ctx, "setting the password of "+u.Username, "system", true,
		"ALTER USER $user SET PLAINTEXT PASSWORD $password CHANGE NOT REQUIRED",
		map[string]any{"user": u.Username, "password": u.Password})
	if err == nil {
		return true, nil
	}
	if e, ok := err.(*Error); ok && strings.Contains(strings.ToLower(e.Message), "old password and new password cannot be the same") {
		return false, nil
	}
	return false, err
}
