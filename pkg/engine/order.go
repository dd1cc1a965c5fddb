package engine

import (
	"context"
	"fmt"
	"sync"
)

// SkippedError marks a stack not touched because a stack it depends on failed.
type SkippedError struct{ Stack, Because string }

func (e *SkippedError) Error() string {
	return fmt.Sprintf("stack %s skipped: %s did not finish", e.Stack, e.Because)
}

// InOrder runs fn for every name once all of its deps (names in deps[name]) have succeeded,
// in parallel otherwise: the shared stack first, then members, replicas and the rest at
// once. It returns the error of every name that failed or was skipped.
func InOrder(ctx context.Context, names []string, deps map[string][]string, fn func(context.Context, string) error) map[string]error {
	done := map[string]chan struct{}{}
	for _, n := range names {
		done[n] = make(chan struct{})
	}
	var mu sync.Mutex
	errs := map[string]error{}
	var wg sync.WaitGroup
	for _, n := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(done[n])
			for _, d := range deps[n] {
				ch, ok := done[d]
				if !ok {
					continue // not part of this run: exists already
				}
				<-ch
				mu.Lock()
				derr := errs[d]
				mu.Unlock()
				if derr != nil {
					mu.Lock()
					errs[n] = &SkippedError{Stack: n, Because: d}
					mu.Unlock()
					return
				}
			}
			if ctx.Err() != nil {
				mu.Lock()
				errs[n] = &InterruptedError{Stack: n, Op: "start"}
				mu.Unlock()
				return
			}
			if err := fn(ctx, n); err != nil {
				mu.Lock()
				errs[n] = err
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errs
}

// Reverse turns creation dependencies into deletion dependencies: a stack is deleted once
// every stack that depended on it is gone.
func Reverse(names []string, deps map[string][]string) map[string][]string {
	in := map[string]bool{}
	for _, n := range names {
		in[n] = true
	}
	rev := map[string][]string{}
	for _, n := range names {
		for _, d := range deps[n] {
			if in[d] {
				rev[d] = append(rev[d], n)
			}
		}
	}
	return rev
}
