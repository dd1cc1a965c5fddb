package engine

import (
	"sync"
	"time"
)

// Clock is time as the engine sees it; tests use FakeClock.
type Clock interface {
	Now() time.Time
	// After delivers the time once d has passed.
	After(d time.Duration) <-chan time.Time
}

// RealClock is the wall clock.
type RealClock struct{}

func (RealClock) Now() time.Time                         { return time.Now() }
func (RealClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// FakeClock is a clock for tests that moves only when told, or, with AutoAdvance, jumps
// straight to each timer as soon as one is set (so a poll loop never sleeps in a test).
type FakeClock struct {
	mu          sync.Mutex
	now         time.Time
	timers      []fakeTimer
	autoAdvance bool
	slept       time.Duration
}

type fakeTimer struct {
	at time.Time
	ch chan time.Time
}

// NewFakeClock starts a fake clock at t. With autoAdvance, After fires at once and the
// clock moves forward by d.
func NewFakeClock(t time.Time, autoAdvance bool) *FakeClock {
	return &FakeClock{now: t, autoAdvance: autoAdvance}
}

func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *FakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if c.autoAdvance {
		c.now = c.now.Add(d)
		c.slept += d
		ch <- c.now
		return ch
	}
	c.timers = append(c.timers, fakeTimer{at: c.now.Add(d), ch: ch})
	return ch
}

// Advance moves the clock and fires the timers that are due.
func (c *FakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.timers[:0]
	for _, t := range c.timers {
		if !t.at.After(c.now) {
			t.ch <- c.now
			continue
		}
		kept = append(kept, t)
	}
	c.timers = kept
}

// Slept is the total time After was asked to wait (autoAdvance clocks).
func (c *FakeClock) Slept() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.slept
}
