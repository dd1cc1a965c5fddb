package admin

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/neo4jctl/neo4jctl/pkg/neo4jadmin"
)

// Answers remembers, per idempotency key, the request and the successful answer it got, for
// an hour, at most 512 entries (the oldest go first). It lives as long as the execution
// environment: a best-effort second layer behind the operations' natural idempotency.
type Answers struct {
	mu  sync.Mutex
	ttl time.Duration
	max int
	m   map[string]answer
}

type answer struct {
	fingerprint [32]byte
	resp        neo4jadmin.Response
	at          time.Time
}

// NewAnswers makes an empty memory of answers.
func NewAnswers() *Answers { return newAnswers(time.Hour, 512) }

func newAnswers(ttl time.Duration, max int) *Answers {
	return &Answers{ttl: ttl, max: max, m: map[string]answer{}}
}

// fingerprint identifies what a request asks, whatever its key.
func fingerprint(req neo4jadmin.Request) [32]byte {
	req.IdempotencyKey, req.Version = "", 0
	b, _ := json.Marshal(req)
	return sha256.Sum256(b)
}

// replay returns the remembered answer of a retried request, an error for a key reused on a
// different request, or nil, nil for a key not seen (or forgotten).
func (a *Answers) replay(req neo4jadmin.Request, now time.Time) (*neo4jadmin.Response, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	e, ok := a.m[req.IdempotencyKey]
	if !ok || now.Sub(e.at) > a.ttl {
		delete(a.m, req.IdempotencyKey)
		return nil, nil
	}
	if e.fingerprint != fingerprint(req) {
		return nil, &neo4jadmin.Error{Code: neo4jadmin.CodeInvalidRequest, Message: fmt.Sprintf(
			"idempotency key %q was used for a different request (%s); use a new key for each intended change", req.IdempotencyKey, e.resp.Type)}
	}
	r := e.resp
	r.Replayed = true
	return &r, nil
}

func (a *Answers) record(req neo4jadmin.Request, resp neo4jadmin.Response, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for k, e := range a.m {
		if now.Sub(e.at) > a.ttl {
			delete(a.m, k)
		}
	}
	for len(a.m) >= a.max {
		oldest := ""
		for k, e := range a.m {
			if oldest == "" || e.at.Before(a.m[oldest].at) {
				oldest = k
			}
		}
		delete(a.m, oldest)
	}
	a.m[req.IdempotencyKey] = answer{fingerprint: fingerprint(req), resp: resp, at: now}
}
