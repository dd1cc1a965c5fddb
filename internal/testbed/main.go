package testbed

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"
)

// Need names a server Main starts for a test package.
type Need struct {
	kind     needKind
	motoOpts []MotoOption
}

type needKind int

const (
	needMoto needKind = iota + 1
	needNeo4j
)

var (
	NeedMoto  = Need{kind: needMoto}  // a moto_server, see SharedMoto
	NeedNeo4j = Need{kind: needNeo4j} // a Neo4j test server, see SharedNeo4j
)

// NeedMotoWith is NeedMoto started with options, e.g. WithPreload for
// CloudFormation types the test tree registers with moto.
func NeedMotoWith(opts ...MotoOption) Need { return Need{kind: needMoto, motoOpts: opts} }

var (
	sharedMoto  *Moto
	sharedNeo4j *Neo4j
)

// Main is a test package's TestMain body: it starts what the package needs
// (in parallel, once), runs the tests, stops the servers and exits. If a
// server cannot start, it prints why and exits 1: tests fail, never skip.
//
//	func TestMain(m *testing.M) { testbed.Main(m, testbed.NeedMoto) }
func Main(m *testing.M, needs ...Need) {
	os.Exit(run(m, needs))
}

func run(m *testing.M, needs []Need) int {
	ctx := context.Background()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	fail := func(err error) { mu.Lock(); errs = append(errs, err); mu.Unlock() }
	for _, need := range needs {
		switch need.kind {
		case needMoto:
			wg.Add(1)
			go func() {
				defer wg.Done()
				t0 := time.Now()
				mt, err := StartMoto(ctx, need.motoOpts...)
				if err != nil {
					fail(err)
					return
				}
				sharedMoto = mt
				logStart("moto", mt.Endpoint(), time.Since(t0))
			}()
		case needNeo4j:
			wg.Add(1)
			go func() {
				defer wg.Done()
				t0 := time.Now()
				n, err := StartNeo4j(ctx)
				if err != nil {
					fail(err)
					return
				}
				sharedNeo4j = n
				logStart("neo4j", n.BoltURI, time.Since(t0))
			}()
		default:
			fail(fmt.Errorf("testbed: unknown Need %v", need.kind))
		}
	}
	wg.Wait()
	defer func() {
		if sharedMoto != nil {
			sharedMoto.Close()
		}
		if sharedNeo4j != nil {
			sharedNeo4j.Close()
		}
	}()
	if len(errs) > 0 {
		for _, err := range errs {
			fmt.Fprintln(os.Stderr, "FAIL:", err)
		}
		return 1
	}
	return m.Run()
}

func logStart(what, addr string, d time.Duration) {
	// Shown by go test with -v or when the package fails.
	fmt.Fprintf(os.Stderr, "testbed: %s ready at %s in %s\n", what, addr, d.Round(time.Millisecond))
}

// SharedMoto returns the moto_server Main started for this package; it fails
// the test if TestMain did not ask for testbed.NeedMoto.
func SharedMoto(tb testing.TB) *Moto {
	tb.Helper()
	if sharedMoto == nil {
		tb.Fatal("testbed: no shared moto; start it with func TestMain(m *testing.M) { testbed.Main(m, testbed.NeedMoto) }")
	}
	return sharedMoto
}

// SharedNeo4j returns the Neo4j server Main started for this package; it
// fails the test if TestMain did not ask for testbed.NeedNeo4j.
func SharedNeo4j(tb testing.TB) *Neo4j {
	tb.Helper()
	if sharedNeo4j == nil {
		tb.Fatal("testbed: no shared Neo4j; start it with func TestMain(m *testing.M) { testbed.Main(m, testbed.NeedNeo4j) }")
	}
	return sharedNeo4j
}
