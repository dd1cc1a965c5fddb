// Package lambdactx keeps a Lambda handler's work inside its deadline, so that it always has
// time left to answer.
package lambdactx

import (
	"context"
	"time"
)

// Work returns a context that ends margin before ctx's deadline (or never earlier than
// min after now, so a short deadline still leaves some work time).
func Work(ctx context.Context, margin time.Duration) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	until := dl.Add(-margin)
	if left := time.Until(dl); left < 2*margin {
		until = time.Now().Add(left / 2)
	}
	return context.WithDeadline(ctx, until)
}
