package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode"
)

// Hostile inputs (issue 10): each must end quickly with a config error that says what is
// wrong, and never echo what it refuses. pathological is a deadline no healthy run comes
// near (they take milliseconds; before the limits these took 10 s to 11 min, or died of
// memory): it catches a regression to the old cost, not a slow machine.
const pathological = 20 * time.Second

// hostile is one bad input and what the user must be told.
type hostile struct {
	name string
	data func() []byte
	want []string // substrings of the error, in order of appearance not required
}

func nestedBrackets() []byte { // 200 KB of nested [, the first case
	return []byte(minimal + "cores: " + strings.Repeat("[", 200_000) + "\n")
}

func manyTags(n int) []byte { // metadata.tags with n entries
	var b strings.Builder
	b.WriteString("apiVersion: neo4jctl.io/v1alpha1\nkind: ClusterConfig\nmetadata:\n  name: graph\n  region: eu-west-1\n  tags:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "    t%05d: v\n", i)
	}
	b.WriteString("neo4j:\n  acceptLicense: \"yes\"\n")
	return []byte(b.String())
}

func billionLaughs() []byte { // 9 levels of 9 aliases each: 387,420,489 strings if expanded
	var b strings.Builder
	b.WriteString(minimal + "  config:\n    a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n")
	for i := 1; i < 10; i++ {
		fmt.Fprintf(&b, "    a%d: &a%d [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*a%d, ", i-1), 9), ", "))
	}
	return []byte(b.String())
}

var hostileInputs = []hostile{
	{"200 KB of nested brackets", nestedBrackets, []string{"<in>:8: nests more than 20 levels deep; cluster.yaml needs 5", "check the brackets"}},
	{"deep block nesting", func() []byte {
		var b strings.Builder
		b.WriteString(minimal + "cores:\n")
		for i := 1; i < 30; i++ {
			fmt.Fprintf(&b, "%sk%d:\n", strings.Repeat(" ", i), i)
		}
		return []byte(b.String())
	}, []string{"nests more than 20 levels deep"}},
	{"compact nested lists", func() []byte { return []byte(minimal + "cores: " + strings.Repeat("- ", 5000) + "x\n") }, []string{"nests more than 20 levels deep"}},
	{"1.1 MB with 80,000 tags", func() []byte { return manyTags(80_000) }, []string{"<in>: is more than 1 MiB; a cluster config is at most 1048576 bytes (1 MiB)"}},
	{"4,000 tags under 1 MiB", func() []byte { return manyTags(4_000) }, []string{"<in>: is too large for a cluster config: 12021 YAML tokens (keys, values, punctuation); the limit is 10000"}},
	{"billion laughs", billionLaughs, []string{"<in>:11: has more than 16 YAML aliases; cluster.yaml takes none; write each value out"}},
	{"a 2 MB value", func() []byte { return []byte(minimal + "  image: " + strings.Repeat("x", 2<<20) + "\n") }, []string{"at most 1048576 bytes"}},
	{"a 100 KB value", func() []byte { return []byte(minimal + "  image: " + strings.Repeat("x", 100_000) + "\n") }, []string{"<in>:8: a key or value of 100000 characters; the limit is 4096"}},
	{"a 100 KB key", func() []byte { return []byte(minimal + strings.Repeat("k", 100_000) + ": 1\n") }, []string{"a key or value of 100000 characters"}},
}

func TestHostileInputsEndQuicklyWithAConfigError(t *testing.T) {
	for _, tc := range hostileInputs {
		t.Run(tc.name, func(t *testing.T) {
			data := tc.data()
			err := withinDeadline(t, func() error {
				_, err := Read(context.Background(), bytes.NewReader(data), "<in>", Overrides{})
				return err
			})
			if !IsConfigError(err) {
				t.Fatalf("want a config error (exit 2), got %T %v", err, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("want %q in:\n%.2000s", w, err)
				}
			}
			if len(err.Error()) > 4000 {
				t.Errorf("the error is %d bytes: it echoes the input", len(err.Error()))
			}
		})
	}
}

// withinDeadline runs f, failing the test only if it takes pathologically long.
func withinDeadline(t *testing.T, f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(pathological):
		t.Fatalf("still loading after %v", pathological)
		return nil
	}
}

// Many tags under every limit reach validation, which names the AWS limit.
func TestTooManyTagsForAWS(t *testing.T) {
	_, err := Read(context.Background(), bytes.NewReader(manyTags(3_000)), "cluster.yaml", Overrides{})
	want := "metadata.tags (cluster.yaml:6): has 3000 tags; AWS allows 50 per resource and neo4jctl puts up to 7 of its own on each; keep at most 43 tags"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("want %q, got %.500v", want, err)
	}
}

func TestFiftyMegabyteFileIsRefusedWithoutReadingIt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.yaml")
	fh, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := fh.Truncate(50 << 20); err != nil { // sparse: 50 MB of NULs, no disk used
		t.Fatal(err)
	}
	fh.Close()
	_, err = LoadContext(context.Background(), path, Overrides{})
	want := path + ": is 52428800 bytes; a cluster config is at most 1048576 bytes (1 MiB); check that -f names the cluster.yaml"
	if !IsConfigError(err) || !strings.Contains(err.Error(), want) {
		t.Fatalf("want %q, got %v", want, err)
	}
}

// An endless stream (`-f -` fed by `yes`, /dev/zero) stops after the limit.
func TestEndlessStreamStopsAtTheLimit(t *testing.T) {
	r := &countingReader{r: endless{}}
	err := withinDeadline(t, func() error {
		_, err := Read(context.Background(), r, "<stdin>", Overrides{})
		return err
	})
	want := "<stdin>: is more than 1 MiB; a cluster config is at most 1048576 bytes (1 MiB)"
	if !IsConfigError(err) || !strings.Contains(err.Error(), want) {
		t.Fatalf("want %q, got %v", want, err)
	}
	if r.n > MaxConfigBytes+64<<10 {
		t.Fatalf("read %d bytes of an endless stream", r.n)
	}
}

type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'a'
	}
	return len(p), nil
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// Ctrl-C while waiting for input (`-f -` on a terminal nobody types into) ends the load.
func TestCancelEndsAWaitingRead(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := Read(ctx, pr, "<stdin>", Overrides{})
		done <- err
	}()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) || IsConfigError(err) {
			t.Fatalf("want context.Canceled and no config error, got %v", err)
		}
	case <-time.After(pathological):
		t.Fatal("Read did not return after cancel")
	}
	// a cancelled context also stops a load whose input is all there
	_, err := Read(ctx, strings.NewReader(minimal), "<stdin>", Overrides{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
}

func TestReadNamesTheStream(t *testing.T) {
	f, err := Read(context.Background(), strings.NewReader(minimal), "<stdin>", Overrides{})
	if err != nil || f.Config.Metadata.Name != "graph" || f.Path != "<stdin>" {
		t.Fatalf("valid config from a reader: %v %+v", err, f)
	}
	_, err = Read(context.Background(), strings.NewReader(minimal+"cores: {cuont: 3}\n"), "<stdin>", Overrides{})
	if want := "cores.cuont (<stdin>:8): unknown field"; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("want %q, got %v", want, err)
	}
}

func TestByteOrderMarkAndCRLFAreAccepted(t *testing.T) {
	plain, err := load(t, minimal+"  config: {db.transaction.timeout: 10s}\n")
	if err != nil {
		t.Fatal(err)
	}
	for name, doc := range map[string]string{
		"BOM":      "\uFEFF" + minimal + "  config: {db.transaction.timeout: 10s}\n",
		"CRLF":     strings.ReplaceAll(minimal+"  config: {db.transaction.timeout: 10s}\n", "\n", "\r\n"),
		"BOM+CRLF": "\uFEFF" + strings.ReplaceAll(minimal+"  config: {db.transaction.timeout: 10s}\n", "\n", "\r\n"),
	} {
		t.Run(name, func(t *testing.T) {
			f, err := load(t, doc)
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !reflect.DeepEqual(f.Config, plain.Config) {
				t.Fatalf("decoded differently:\n%+v\nwant\n%+v", f.Config, plain.Config)
			}
			if f.Line("neo4j.acceptLicense") != 7 {
				t.Fatalf("lines shifted: acceptLicense at %d", f.Line("neo4j.acceptLicense"))
			}
		})
	}
}

func TestBinaryFilesAreNotEchoed(t *testing.T) {
	zip := []byte("PK\x03\x04\x14\x00\x00\x00\x08\x00SECRETBYTES\x00\x00")
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"zip", zip, "<in>:1: not a YAML text file (control character U+0003 at byte 2); give -f the cluster.yaml itself, saved as UTF-8 text"},
		{"ELF", []byte("\x7fELF\x02\x01\x01SECRETBYTES"), "not a YAML text file (control character U+007F at byte 0)"},
		{"Latin-1", []byte(minimal + "metadata: {tags: {owner: Ren\xe9 SECRETBYTES}}\n"), "<in>:8: not a YAML text file (invalid UTF-8 at byte"},
		{"UTF-16", append([]byte{0xFF, 0xFE}, []byte("a\x00p\x00SECRETBYTES")...), "<in>: is UTF-16 text; neo4jctl reads UTF-8; save the file as UTF-8"},
		{"escape sequences", []byte(minimal + "# \x1b[2J SECRETBYTES\n"), "<in>:8: not a YAML text file (control character U+001B"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Read(context.Background(), bytes.NewReader(tc.data), "<in>", Overrides{})
			if !IsConfigError(err) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want %q, got %v", tc.want, err)
			}
			if strings.Contains(err.Error(), "SECRETBYTES") || strings.ContainsAny(err.Error(), "\x00\x1b\x7f") {
				t.Fatalf("the error echoes the file's bytes: %q", err)
			}
		})
	}
}

func TestSyntaxErrorsPointAtLineAndColumn(t *testing.T) {
	cases := []struct{ name, doc, want string }{
		{"tab indent", minimal + "cores:\n\tcount: 3\n",
			"cluster.yaml:9:1: not valid YAML: a tab character at column 1; YAML indents with spaces only; replace the tab with spaces\n" +
				"    9 | →count: 3\n" +
				"      | ^"},
		{"tab in a nested block", minimal + "cores:\n  volume:\n\t  sizeGiB: 10\n",
			"cluster.yaml:10:1: not valid YAML: a tab character at column 1; YAML indents with spaces only"},
		{"unclosed quote", minimal + "  version: \"5.26\n",
			"cluster.yaml:8:12: not valid YAML: could not find end character of double-quoted text; check the indentation and quoting near the line shown\n" +
				"    8 |   version: \"5.26\n" +
				"      |            ^"},
		{"lone carriage return", "A\r0:\n", "cluster.yaml:1:1: not valid YAML: unexpected key name; check the indentation and quoting near the line shown\n    1 | A␍0:\n      | ^"},
		{"unclosed flow", minimal + "cores: {count: 3\n", "cluster.yaml:8:8: not valid YAML: could not find flow mapping end token '}'"},
		{"value on a key line", minimal + "cores: count: 3\n", "cluster.yaml:8:8: not valid YAML: mapping value is not allowed in this context"},
		{"password on the bad line is masked", minimal + "users: {password: \"hunter2\n",
			"    8 | users: {password: ********\n      |                   ^"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Read(context.Background(), strings.NewReader(tc.doc), "cluster.yaml", Overrides{})
			if !IsConfigError(err) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want\n%s\ngot\n%v", tc.want, err)
			}
			if strings.ContainsAny(err.Error(), "\r\t") {
				t.Fatalf("the excerpt prints raw control characters: %q", err)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("the excerpt shows the password: %v", err)
			}
		})
	}
}

func TestManyProblemsAreCapped(t *testing.T) {
	var b strings.Builder
	b.WriteString(minimal)
	for i := 0; i < 120; i++ {
		fmt.Fprintf(&b, "unknown%d: x\n", i)
	}
	_, err := load(t, b.String())
	msg := err.Error()
	if !strings.Contains(msg, "invalid cluster config: 120 problems:") || !strings.Contains(msg, "... and 70 more (fix the ones above first)") ||
		strings.Count(msg, "\n  - ") != maxShownProblems {
		t.Fatalf("want 50 shown and the rest counted, got:\n%s", msg)
	}
}

// BenchmarkHostileInputs measures each hostile case end to end (figures for the README and
// the before/after).
func BenchmarkHostileInputs(b *testing.B) {
	for _, tc := range hostileInputs {
		data := tc.data()
		b.Run(strings.ReplaceAll(tc.name, " ", "_"), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := Read(context.Background(), bytes.NewReader(data), "<in>", Overrides{}); err == nil {
					b.Fatal("accepted")
				}
			}
		})
	}
}

// Keys and values reach messages; written with YAML escapes they can hold terminal control
// sequences and invisible characters, which messages show escaped, never raw.
func TestErrorsNeverCarryTerminalControls(t *testing.T) {
	cases := []struct{ name, doc, want string }{
		{"escape sequence in a key", minimal + "cores: {\"x\\e[2J\\rFAKE\": 1}\n", `cores.x\u001b[2J\rFAKE (<in>:8): unknown field`},
		{"bidi override in a key", minimal + "cores: {\"count\\u202e\": 3}\n", `cores.count\u202e (<in>:8): unknown field`},
		{"bell in a duplicate subnet", minimal + "network: {vpcID: vpc-0123abcd, subnets: [\"s\\a\", \"s\\a\"]}\n", `s\u0007 is listed twice`},
		{"C1 control in the file", minimal + "# \u009b2J\n", "<in>:8: not a YAML text file (control character U+009B at byte"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Read(context.Background(), strings.NewReader(tc.doc), "<in>", Overrides{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want %q in:\n%v", tc.want, err)
			}
			if i := strings.IndexFunc(err.Error(), func(r rune) bool { return r != '\n' && !unicode.IsPrint(r) }); i >= 0 {
				t.Fatalf("raw control character at %d: %q", i, err)
			}
		})
	}
}
