// Package testbed starts real emulators and servers for tests: a moto_server
// (AWS emulator, pip package moto[server]) and an in-process Neo4j 5.26 server
// (org.neo4j.test:neo4j-harness, run with Java 17 from test/neo4j).
//
// Nothing here is faked: tests talk to the real processes over 127.0.0.1.
// Both are installed by scripts/test-deps.sh (make test-deps). When one is
// missing, Start* returns an error naming it and that fix; tests that need it
// must fail, never skip.
//
// Start them once per test package from TestMain and share them:
//
//	func TestMain(m *testing.M) {
//		testbed.Main(m, testbed.NeedMoto, testbed.NeedNeo4j)
//	}
//
//	func TestSomething(t *testing.T) {
//		ctx := context.Background()
//		cfg, account := testbed.SharedMoto(t).IsolatedConfig(ctx, "eu-west-1")
//		client := cloudformation.NewFromConfig(cfg) // sees only this test's account
//		...
//		drv, err := testbed.SharedNeo4j(t).Driver()
//		...
//	}
//
// Isolation between tests on one moto is by account: every request made
// with WithAccountID carries the x-moto-account-id header, and moto keeps a
// separate backend per account, so no Reset is needed between tests.
package testbed
