package backup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// LockInfo is the body of the backup lock: who holds it, for what, until when. A holder
// renews its lease while it works; a lease not renewed (the task was killed) expires and the
// next run takes the lock over.
type LockInfo struct {
	Owner     string    `json:"owner"`   // ECS task ARN, else host name and pid
	Purpose   string    `json:"purpose"` // e.g. "backup AUTO"
	Databases []string  `json:"databases,omitempty"`
	Acquired  time.Time `json:"acquired"`
	Expires   time.Time `json:"expires"`
	Released  bool      `json:"released,omitempty"`
}

// Lease is a held lock.
type Lease struct {
	store Store
	info  LockInfo
	etag  string
	// TookOver is the expired lease this one replaced (nil when the lock was free).
	TookOver *LockInfo
}

// ErrLeaseLost is Renew's answer when someone else holds the lock now (the lease had
// expired before it was renewed).
var ErrLeaseLost = errors.New("the backup lock was taken over")

// AcquireLock takes the backup lock for lease, with S3 conditional writes: If-None-Match
// when there is no lock object, If-Match on the ETag read when the lock was released or its
// lease expired. When another holder's lease is still valid it returns nil and that holder.
func (s Store) AcquireLock(ctx context.Context, who LockInfo, now time.Time, lease time.Duration) (*Lease, *LockInfo, error) {
	for attempt := 0; attempt < 5; attempt++ {
		b, etag, err := s.get(ctx, LockKey)
		var prev *LockInfo
		switch {
		case errors.Is(err, errNotFound):
			etag = ""
		case err != nil:
			return nil, nil, err
		default:
			var cur LockInfo
			if json.Unmarshal(b, &cur) == nil {
				if !cur.Released && now.Before(cur.Expires) {
					return nil, &cur, nil
				}
				if !cur.Released {
					prev = &cur
				}
			} // an unreadable lock is taken over like an expired one
		}
		info := who
		info.Acquired, info.Expires, info.Released = now.UTC(), now.Add(lease).UTC(), false
		body, _ := json.Marshal(info)
		newTag, err := s.put(ctx, LockKey, body, etag)
		if errors.Is(err, errConflict) {
			continue // someone else wrote it: look again
		}
		if err != nil {
			return nil, nil, err
		}
		return &Lease{store: s, info: info, etag: newTag, TookOver: prev}, nil, nil
	}
	return nil, nil, fmt.Errorf("taking s3://%s/%s: other runs kept writing it", s.Bucket, LockKey)
}

// ReadLock reads the lock without taking it: the holder of a live lease, or nil when the
// lock is free (never taken, released, or its lease expired at now). `backup create` asks
// it before starting a task, to say who is backing up instead of starting a run that would
// only skip.
func (s Store) ReadLock(ctx context.Context, now time.Time) (*LockInfo, error) {
	b, _, err := s.get(ctx, LockKey)
	if errors.Is(err, errNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var cur LockInfo
	if json.Unmarshal(b, &cur) != nil || cur.Released || !now.Before(cur.Expires) {
		return nil, nil // an unreadable lock is taken over like an expired one
	}
	return &cur, nil
}

// Info is the lock as held.
func (l *Lease) Info() LockInfo { return l.info }

// Renew extends the lease to now+lease, only if this lease still holds the lock.
func (l *Lease) Renew(ctx context.Context, now time.Time, lease time.Duration) error {
	info := l.info
	info.Expires = now.Add(lease).UTC()
	body, _ := json.Marshal(info)
	tag, err := l.store.put(ctx, LockKey, body, l.etag)
	if errors.Is(err, errConflict) {
		return ErrLeaseLost
	}
	if err != nil {
		return err
	}
	l.info, l.etag = info, tag
	return nil
}

// Release marks the lock free (a conditional overwrite, not a delete: nothing to refuse
// under object lock, and only the holder can do it).
func (l *Lease) Release(ctx context.Context, now time.Time) error {
	info := l.info
	info.Released, info.Expires = true, now.UTC()
	body, _ := json.Marshal(info)
	_, err := l.store.put(ctx, LockKey, body, l.etag)
	if errors.Is(err, errConflict) {
		return ErrLeaseLost
	}
	return err
}

// Describe is one line about a lock holder for people.
func (i LockInfo) Describe() string {
	s := fmt.Sprintf("%s by %s since %s", i.Purpose, i.Owner, i.Acquired.Format(time.RFC3339))
	if len(i.Databases) > 0 {
		s += fmt.Sprintf(" (databases %v)", i.Databases)
	}
	return s + fmt.Sprintf(", lease until %s", i.Expires.Format(time.RFC3339))
}
