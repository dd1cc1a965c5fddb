package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
	"golang.org/x/term"

	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

// openPTY is a pseudo-terminal in raw mode (no "\n" to "\r\n" translation): what neo4jctl
// writes to the slave arrives unchanged at the master.
func openPTY(t testing.TB) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("opening a pseudo-terminal: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlocking the pseudo-terminal: %v", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("naming the pseudo-terminal: %v", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("opening the pseudo-terminal's slave: %v", err)
	}
	if _, err := term.MakeRaw(int(s.Fd())); err != nil {
		t.Fatalf("raw mode: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	return m, s
}

// onTerminal runs neo4jctl in a with stderr on a terminal and returns the exit code and
// every byte written there.
func (a *motoAccount) onTerminal(args ...string) (int, string) {
	a.t.Helper()
	master, slave := openPTY(a.t)
	var got bytes.Buffer
	copied := make(chan struct{})
	go func() {
		io.Copy(&got, master) // ends with EIO once the slave is closed
		close(copied)
	}()
	var out bytes.Buffer
	code := a.run(a.noWait(args), streams{in: strings.NewReader(""), out: &out, err: slave})
	slave.Close()
	<-copied
	return code, got.String()
}

// On a terminal the progress is a spinner that redraws its line, in colour; TERM=dumb gets
// plain lines instead: no carriage return, no escape sequence.
func TestDumbTerminalGetsPlainLines(t *testing.T) {
	for _, tc := range []struct {
		term  string
		plain bool
	}{{"dumb", true}, {"xterm-256color", false}} {
		t.Run(tc.term, func(t *testing.T) {
			a := newMotoAccount(t, "eu-west-1")
			a.pushImage(naming.DefaultImageRepository, defaultImageTag("5.26.30"))
			t.Setenv("TERM", tc.term)
			t.Setenv("NO_COLOR", "")
			code, tty := a.onTerminal("create", "cluster", "-f", "../../examples/minimal.yaml")
			if code != 0 {
				t.Fatalf("create: exit %d\n%s", code, tty)
			}
			escapes := strings.ContainsAny(tty, "\r\x1b")
			if tc.plain {
				// colour is off too, although NO_COLOR is not set
				mustContain(t, "terminal", tty, "] neo4jctl-graph-dev-shared CREATE_COMPLETE\n", "\nDone: cluster graph-dev created")
			}
			if tc.plain && escapes {
				t.Errorf("TERM=dumb got control sequences: %q", tty)
			}
			if !tc.plain && !escapes {
				t.Errorf("TERM=%s: no spinner on a terminal (the test shows nothing): %q", tc.term, tty)
			}
		})
	}
}
