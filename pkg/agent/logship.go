package agent

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

// CloudWatch Logs limits for one PutLogEvents call and one event.
const (
	maxBatchEvents = 10000
	maxBatchBytes  = 1_000_000 // below the 1,048,576 limit (each event counts 26 bytes more)
	maxEventBytes  = 256*1024 - 26
	maxPending     = 50000 // events kept while CloudWatch Logs refuses; oldest dropped beyond
)

// LogShipper tails one Neo4j log file into the stream <member>/<name> of a log group,
// across rotations (the file renamed and a new one created) and truncation.
type LogShipper struct {
	Path, Group, Stream string
	Sink                LogSink
	Now                 func() time.Time
	Logf                func(format string, a ...any)

	f        *os.File
	fi       os.FileInfo
	partial  []byte
	pending  []LogEvent
	dropped  int
	streamOK bool
}

// Shipper is the shipper of one of NEO4JCTL_SHIP_LOGS (query -> <logs>/query.log).
func (w *Worker) Shipper(name string) *LogShipper {
	return &LogShipper{
		Path: filepath.Join(w.Config.LogsDir, name+".log"), Group: w.Config.LogGroup,
		Stream: naming.LogStreamShipped(w.Config.Member, name), Sink: w.Logs, Now: w.Now, Logf: w.logf,
	}
}

// Run polls every interval until ctx ends, then ships what is left.
func (s *LogShipper) Run(ctx context.Context, every time.Duration) {
	for {
		if err := s.Poll(ctx); err != nil && ctx.Err() == nil {
			s.logf("shipping %s: %v", s.Path, err)
		}
		if !sleep(ctx, every) {
			final, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			_ = s.Poll(final)
			cancel()
			s.Close()
			return
		}
	}
}

func (s *LogShipper) logf(format string, a ...any) {
	if s.Logf != nil {
		s.Logf(format, a...)
	}
}

func (s *LogShipper) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Close closes the tailed file.
func (s *LogShipper) Close() {
	if s.f != nil {
		s.f.Close()
		s.f, s.fi = nil, nil
	}
}

// Poll reads the lines written since the last poll and sends them.
func (s *LogShipper) Poll(ctx context.Context) error {
	if err := s.read(); err != nil {
		return err
	}
	return s.flush(ctx)
}

func (s *LogShipper) read() error {
	cur, err := os.Stat(s.Path)
	if errors.Is(err, fs.ErrNotExist) {
		cur = nil // rotated away, or not written yet: drain what is open
	} else if err != nil {
		return err
	}
	if s.f != nil && (cur == nil || !os.SameFile(s.fi, cur)) {
		// Rotated: the rest of the old file, then the new one from its start.
		if err := s.drain(); err != nil {
			return err
		}
		s.flushPartial()
		s.Close()
	}
	if cur == nil {
		return nil
	}
	if s.f == nil {
		f, err := os.Open(s.Path)
		if err != nil {
			return err
		}
		s.f, s.fi = f, cur
	}
	if off, err := s.f.Seek(0, io.SeekCurrent); err == nil && cur.Size() < off {
		// Truncated in place: start over.
		s.partial = nil
		if _, err := s.f.Seek(0, io.SeekStart); err != nil {
			return err
		}
	}
	return s.drain()
}

func (s *LogShipper) drain() error {
	buf := make([]byte, 64*1024)
	for {
		n, err := s.f.Read(buf)
		if n > 0 {
			data := append(s.partial, buf[:n]...)
			for {
				i := bytes.IndexByte(data, '\n')
				if i < 0 {
					break
				}
				s.add(string(bytes.TrimRight(data[:i], "\r")))
				data = data[i+1:]
			}
			s.partial = append([]byte(nil), data...)
			if len(s.partial) > maxEventBytes {
				s.flushPartial()
			}
		}
		if err == io.EOF || n == 0 {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func (s *LogShipper) flushPartial() {
	if len(s.partial) > 0 {
		s.add(string(s.partial))
		s.partial = nil
	}
}

func (s *LogShipper) add(line string) {
	if line == "" {
		return
	}
	if len(line) > maxEventBytes {
		line = line[:maxEventBytes]
	}
	s.pending = append(s.pending, LogEvent{Time: s.now(), Message: line})
	if over := len(s.pending) - maxPending; over > 0 {
		s.pending = s.pending[over:]
		s.dropped += over
	}
}

func (s *LogShipper) flush(ctx context.Context) error {
	if len(s.pending) == 0 {
		return nil
	}
	if !s.streamOK {
		if err := s.Sink.EnsureStream(ctx, s.Group, s.Stream); err != nil {
			return err
		}
		s.streamOK = true
	}
	if s.dropped > 0 {
		s.logf("dropped %d lines of %s while CloudWatch Logs refused them", s.dropped, s.Path)
		s.dropped = 0
	}
	for len(s.pending) > 0 {
		n, size := 0, 0
		for n < len(s.pending) && n < maxBatchEvents && size+len(s.pending[n].Message)+26 <= maxBatchBytes {
			size += len(s.pending[n].Message) + 26
			n++
		}
		if err := s.Sink.Put(ctx, s.Group, s.Stream, s.pending[:n]); err != nil {
			return err // kept for the next poll
		}
		s.pending = s.pending[n:]
	}
	s.pending = nil
	return nil
}
