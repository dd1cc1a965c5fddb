package rotation

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
	"github.com/neo4j/neo4j-go-driver/v5/neo4j/config"
)

// Bolt is Neo4j over the Go driver: neo4j:// (routing, a cluster) or bolt:// (one server).
type Bolt struct {
	URI string
}

func (b Bolt) driver(user, password string) (neo4j.DriverWithContext, error) {
	return neo4j.NewDriverWithContext(b.URI, neo4j.BasicAuth(user, password, ""), func(c *config.Config) {
		c.SocketConnectTimeout = 10 * time.Second
		c.ConnectionAcquisitionTimeout = 30 * time.Second
		c.UserAgent = "neo4jctl-rotation"
	})
}

// Login runs a query as user on the system database's leader (writers routing): it has a
// password change as soon as the change committed.
func (b Bolt) Login(ctx context.Context, user, password string) error {
	return b.run(ctx, user, password, true, "SHOW CURRENT USER YIELD user RETURN user", nil)
}

// SetPassword: ALTER USER as admin, routed to the system database's leader.
func (b Bolt) SetPassword(ctx context.Context, admin, adminPassword, user, password string) error {
	err := b.run(ctx, admin, adminPassword, true, "ALTER USER $user SET PASSWORD $password CHANGE NOT REQUIRED",
		map[string]any{"user": user, "password": password})
	if samePassword(err) {
		return nil
	}
	return err
}

// ChangeOwnPassword: ALTER CURRENT USER, as the user with the old password.
func (b Bolt) ChangeOwnPassword(ctx context.Context, user, oldPassword, newPassword string) error {
	err := b.run(ctx, user, oldPassword, true, "ALTER CURRENT USER SET PASSWORD FROM $old TO $new",
		map[string]any{"old": oldPassword, "new": newPassword})
	if samePassword(err) {
		return nil
	}
	return err
}

func (b Bolt) run(ctx context.Context, user, password string, write bool, cypher string, params map[string]any) error {
	d, err := b.driver(user, password)
	if err != nil {
		return err
	}
	defer d.Close(context.WithoutCancel(ctx))
	routing := neo4j.ExecuteQueryWithReadersRouting()
	if write {
		routing = neo4j.ExecuteQueryWithWritersRouting()
	}
	_, err = neo4j.ExecuteQuery(ctx, d, cypher, params, neo4j.EagerResultTransformer,
		neo4j.ExecuteQueryWithDatabase("system"), routing)
	return err
}

// samePassword is Neo4j refusing a password equal to the current one: already set.
func samePassword(err error) bool {
	return err != nil && strings.Contains(strings.ToLower(err.Error()), "old password and new password cannot be the same")
}

// IsUnauthorized tells a refused login from other failures.
func IsUnauthorized(err error) bool {
	var ne *neo4j.Neo4jError
	if errors.As(err, &ne) {
		return ne.Code == "Neo.ClientError.Security.Unauthorized" || strings.HasPrefix(ne.Code, "Neo.ClientError.Security.AuthenticationRateLimit")
	}
	return false
}
