package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// cliIn runs neo4jctl in-process with stdin and ctx.
func cliIn(ctx context.Context, stdin io.Reader, args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(ctx, args, streams{in: stdin, out: &out, err: &errb})
	return code, out.String(), errb.String()
}

func writeBytes(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// Hostile files through the real root command: each is refused with exit 2, says why in
// words and touches nothing; none echoes binary bytes.
func TestHostileConfigFilesExitTwo(t *testing.T) {
	calls := noAWS(t)
	bomb := "a: &a [x, x, x, x, x, x, x, x, x]\n"
	for i := range 8 {
		prev, cur := string(rune('a'+i)), string(rune('b'+i))
		bomb += cur + ": &" + cur + " [*" + prev + ", *" + prev + ", *" + prev + ", *" + prev + "]\n"
	}
	cases := []struct {
		name string
		data []byte
		want []string
	}{
		{"too big", append([]byte("a: "), bytes.Repeat([]byte("x"), 2<<20)...), []string{"is 2097155 bytes; a cluster config is at most 1048576 bytes (1 MiB)"}},
		{"binary", append([]byte("\x7fELF\x02\x01\x01\x00"), bytes.Repeat([]byte{0xff, 0x00, 0x1b}, 100)...), []string{":1: not a YAML text file (control character U+007F at byte 0)"}},
		{"deep", []byte("a: " + strings.Repeat("[", 200) + strings.Repeat("]", 200)), []string{":1: nests more than 20 levels deep"}},
		{"alias bomb", []byte(bomb), []string{"has more than 16 YAML aliases; cluster.yaml takes none"}},
		{"tab", []byte("apiVersion: neo4jctl.io/v1alpha1\nkind: ClusterConfig\nmetadata:\n\tname: x\n"), []string{
			".yaml:4:1: not valid YAML: a tab character at column 1; YAML indents with spaces only",
			"    4 | →name: x\n      | ^"}},
		{"secret", []byte(strings.Replace(goodConfig, `neo4j: {acceptLicense: "yes"}`, `neo4j: {acceptLicense: "yes", config: {dbms.connector.bolt.uri: "bolt://app:hunter2secret@db:7687"}}`, 1)),
			[]string{`neo4j.config["dbms.connector.bolt.uri"] (`, ".yaml:4): looks like a password in a URL"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := writeBytes(t, "cluster.yaml", tc.data)
			code, stdout, stderr := cli(t, "create", "cluster", "-f", path, "--dry-run")
			if code != exitUsage || stdout != "" {
				t.Fatalf("exit %d, stdout %.100q\n%s", code, stdout, stderr)
			}
			mustContain(t, "stderr", stderr, append([]string{"Error: invalid cluster config: "}, tc.want...)...)
			if strings.ContainsAny(stderr, "\x00\x1b\xff") || strings.Contains(stderr, "hunter2") {
				t.Errorf("stderr echoes the input's bytes: %q", stderr)
			}
		})
	}
	if calls.Load() != 0 {
		t.Fatalf("hostile files made %d AWS calls", calls.Load())
	}
}

// `-f -` reads the config from standard input; a BOM and CRLF line endings are fine, and
// problems name <stdin> and the line.
func TestConfigFromStdin(t *testing.T) {
	noAWS(t)
	crlf := "\uFEFF" + strings.ReplaceAll(goodConfig, "\n", "\r\n")
	code, stdout, stderr := cliIn(context.Background(), strings.NewReader(crlf), "create", "cluster", "-f", "-", "--dry-run", "-o", "json")
	if code != 0 || !strings.Contains(stdout, `"name": "demo"`) {
		t.Fatalf("-f - with BOM and CRLF: exit %d\n%s", code, stderr)
	}
	bad := strings.Replace(goodConfig, "acceptLicense", "acceptLicence", 1)
	code, stdout, stderr = cliIn(context.Background(), strings.NewReader(bad), "create", "cluster", "-f", "-", "--dry-run")
	if code != exitUsage || stdout != "" {
		t.Fatalf("invalid stdin: exit %d\n%s", code, stderr)
	}
	mustContain(t, "stderr", stderr, "neo4j.acceptLicence (<stdin>:4): unknown field; did you mean `acceptLicense`?")
	dir := t.TempDir()
	code, stdout, stderr = cliIn(context.Background(), strings.NewReader(goodConfig), "generate", "templates", "-f", "-", "-d", dir, "--offline")
	if code != 0 || !strings.Contains(stdout, dir+"/neo4jctl-demo-shared.template.json") {
		t.Fatalf("generate from stdin: exit %d\n%s", code, stderr)
	}
}

// Ctrl-C ends a load that waits on input nobody writes (a pipe, a FIFO).
func TestLoadingEndsOnInterrupt(t *testing.T) {
	noAWS(t)
	pr, pw := io.Pipe()
	defer pw.Close()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	type result struct {
		code           int
		stdout, stderr string
	}
	done := make(chan result, 1)
	go func() {
		code, stdout, stderr := cliIn(ctx, pr, "create", "cluster", "-f", "-", "--dry-run")
		done <- result{code, stdout, stderr}
	}()
	select {
	case r := <-done:
		if r.code != exitFailed || r.stdout != "" {
			t.Fatalf("exit %d, stdout %q\n%s", r.code, r.stdout, r.stderr)
		}
		mustContain(t, "stderr", r.stderr, "Error: reading <stdin>: context canceled")
	case <-time.After(10 * time.Second):
		t.Fatal("an interrupted load did not end")
	}
}
