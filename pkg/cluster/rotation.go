package cluster

// RotatesPasswords reports whether Secrets Manager rotates the cluster's passwords
// (users.rotation): the admin's, and those of users.readOnly and users.readWrite.
func (c *ClusterConfig) RotatesPasswords() bool { return c.Users != nil && c.Users.Rotation != nil }
