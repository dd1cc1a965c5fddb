package main

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/neo4jctl/neo4jctl/internal/testbed"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

// countingProxy sits between the CLI and moto and counts every AWS call that goes through
// it, by operation.
type countingProxy struct {
	mu    sync.Mutex
	calls map[string]int
	url   string
}

func newCountingProxy(t testing.TB) *countingProxy {
	target, _ := url.Parse(testbed.SharedMoto(t).Endpoint())
	p := &countingProxy{calls: map[string]int{}}
	rp := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		p.mu.Lock()
		p.calls[operation(r, body)]++
		p.mu.Unlock()
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	p.url = srv.URL
	return p
}

var (
	actionRe = regexp.MustCompile(`(?:^|&)Action=([A-Za-z]+)`)
	lambdaRe = regexp.MustCompile(`^/2015-03-31/functions/[^/]+/invocations$`)
)

// operation names an AWS call: JSON protocols by X-Amz-Target, query protocols by Action,
// Lambda's REST Invoke by its path.
func operation(r *http.Request, body []byte) string {
	if t := r.Header.Get("X-Amz-Target"); t != "" {
		svc, op, _ := strings.Cut(t, ".")
		return strings.TrimSuffix(strings.TrimPrefix(svc, "Amazon"), "V20141113") + "." + op
	}
	if m := actionRe.FindSubmatch(body); m != nil {
		return "query." + string(m[1])
	}
	if lambdaRe.MatchString(r.URL.Path) {
		return "Lambda.Invoke"
	}
	return r.Method + " " + r.URL.Path
}

// measure runs the CLI through the proxy and returns how many AWS calls it made, and which.
func (p *countingProxy) measure(a *motoAccount, args ...string) (int, string) {
	n, ops, _ := p.measureOps(a, args...)
	return n, ops
}

func (p *countingProxy) measureOps(a *motoAccount, args ...string) (int, string, map[string]int) {
	a.t.Helper()
	p.mu.Lock()
	clear(p.calls)
	p.mu.Unlock()
	a.t.Setenv("AWS_ENDPOINT_URL", p.url)
	defer a.t.Setenv("AWS_ENDPOINT_URL", testbed.SharedMoto(a.t).Endpoint())
	if code, _, stderr := a.cli("", args...); code != 0 {
		a.t.Fatalf("%v: exit %d\n%s", args, code, stderr)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	n, parts := 0, []string{}
	for _, op := range slices.Sorted(maps.Keys(p.calls)) {
		n += p.calls[op]
		parts = append(parts, fmt.Sprintf("%s×%d", op, p.calls[op]))
	}
	return n, strings.Join(parts, " "), maps.Clone(p.calls)
}

// sizedConfig is examples/production.yaml in this account's network as cluster name with
// cores and replicas.
func (a *motoAccount) sizedConfig(vpc string, subnets []string, name string, cores, replicas int) string {
	doc := readFile(a.t, "../../examples/production.yaml")
	doc = strings.NewReplacer("graph-prod", name, "count: 3", fmt.Sprintf("count: %d", cores), "count: 2", fmt.Sprintf("count: %d", replicas)).Replace(doc)
	doc = strings.Replace(doc, "vpc-0a1b2c3d4e5f60718", vpc, 1)
	for i, old := range []string{"subnet-0a1b2c3d4e5f60711", "subnet-0a1b2c3d4e5f60722", "subnet-0a1b2c3d4e5f60733"} {
		doc = strings.Replace(doc, old, subnets[i], 1)
	}
	return writeConfig(a.t, doc)
}

// createSized creates a cluster of that size in a network of its own (moto refuses a second
// Cloud Map namespace on a VPC, even for another domain).
func (a *motoAccount) createSized(cidr, name string, cores, replicas int) {
	a.t.Helper()
	vpc, subnets := a.network(cidr, "a", "b", "c")
	if code, _, stderr := a.cli("", "create", "cluster", "-f", a.sizedConfig(vpc, subnets, name, cores, replicas), "--wait=false"); code != 0 {
		a.t.Fatalf("create %s (%d+%d): exit %d\n%s", name, cores, replicas, code, stderr)
	}
}

// getCost is what the API-cost measurement found.
type getCost struct {
	small, large      int // get cluster NAME: 3 cores, no replicas; 7 cores, 20 replicas
	one, five         int // get cluster: 1 cluster, 5 clusters (3 cores each)
	perCluster        int // what one more cluster adds: get cluster NAME less its stack listing
	smallOps, fiveOps string
}

// measureGetCost counts the AWS calls of get cluster through a proxy in front of moto (the
// real SDK, the real CLI; moto runs no tasks, so ECS answers no task to describe).
func measureGetCost(a *motoAccount) getCost {
	a.pushImage(naming.DefaultImageRepository, defaultImageTag("5.26.30"))
	p := newCountingProxy(a.t)
	var c getCost
	a.createSized("10.31", "small", 3, 0)
	var ops map[string]int
	c.small, c.smallOps, ops = p.measureOps(a, "get", "cluster", "small")
	c.one, _ = p.measure(a, "get", "cluster")
	c.perCluster = c.small - ops["query.DescribeStacks"] // all but the listing of the stacks
	a.createSized("10.32", "large", 7, 20)
	c.large, _ = p.measure(a, "get", "cluster", "large")
	for i := 3; i <= 5; i++ {
		a.createSized(fmt.Sprintf("10.3%d", i), fmt.Sprintf("small-%d", i), 3, 0)
	}
	// the large cluster is one of the five
	c.five, c.fiveOps = p.measure(a, "get", "cluster")
	return c
}

// get's AWS calls do not grow with the cluster, and get of every cluster adds a constant
// per cluster (issue 10's "flat API cost"; the figures are in the README).
func TestGetAWSCallsAreFlat(t *testing.T) {
	c := measureGetCost(newMotoAccount(t, "eu-west-1"))
	t.Logf("get cluster NAME: 3+0 members %d calls (%s), 7+20 members %d; get cluster: 1 cluster %d, 5 clusters %d (%s)",
		c.small, c.smallOps, c.large, c.one, c.five, c.fiveOps)
	if c.small != c.large {
		t.Errorf("get cluster NAME: %d calls for 3 cores, %d for 7 cores and 20 replicas; want the same", c.small, c.large)
	}
	if c.five-c.one > 4*c.perCluster {
		t.Errorf("get cluster: %d calls for 1 cluster, %d for 5: grows by more than %d per cluster", c.one, c.five, c.perCluster)
	}
	if !strings.Contains(c.smallOps, "Lambda.Invoke×1") || !strings.Contains(c.fiveOps, "Lambda.Invoke×5") {
		t.Errorf("Neo4j's view is one invocation per cluster: %s / %s", c.smallOps, c.fiveOps)
	}
}

// BenchmarkGetAWSCalls reports the same figures as metrics:
// go test ./cmd/neo4jctl -run XXX -bench GetAWSCalls -benchtime 1x
func BenchmarkGetAWSCalls(b *testing.B) {
	c := measureGetCost(newMotoAccount(b, "eu-west-1"))
	b.ResetTimer() // the figures are call counts; the time is the clusters' creation
	b.ReportMetric(float64(c.small), "calls/get-3+0")
	b.ReportMetric(float64(c.large), "calls/get-7+20")
	b.ReportMetric(float64(c.one), "calls/get-all-1")
	b.ReportMetric(float64(c.five), "calls/get-all-5")
}
