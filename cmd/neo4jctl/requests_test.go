package main

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/middleware"
)

// requestLog records the AWS operations a CLI run makes, with the S3 key of object reads,
// for tests that assert what was (not) called, with the S3 key of object reads and the
// whole request of a RunTask.
type requestLog struct {
	mu  sync.Mutex
	ops []request
}

type request struct{ op, detail string }

// recordRequests makes every later CLI run of the account record its AWS calls.
func (a *motoAccount) recordRequests() *requestLog {
	l := &requestLog{}
	a.hooks.awsConfig = append(a.hooks.awsConfig, func(cfg *aws.Config) {
		cfg.APIOptions = append(cfg.APIOptions, func(st *middleware.Stack) error {
			return st.Initialize.Add(middleware.InitializeMiddlewareFunc("neo4jctl-test-record",
				func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
					r := request{op: awsmiddleware.GetOperationName(ctx)}
					switch p := in.Parameters.(type) {
					case *s3.GetObjectInput:
						r.detail = aws.ToString(p.Key)
					case *ecs.RunTaskInput:
						b, _ := json.Marshal(p)
						r.detail = string(b)
					}
					l.mu.Lock()
					l.ops = append(l.ops, r)
					l.mu.Unlock()
					return next.HandleInitialize(ctx, in)
				}), middleware.After)
		})
	})
	return l
}

// calls are the details (S3 keys, RunTask requests as JSON) of the recorded calls of one operation.
func (l *requestLog) calls(op string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, r := range l.ops {
		if r.op == op {
			out = append(out, r.detail)
		}
	}
	return out
}
