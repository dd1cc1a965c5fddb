package agentbundle

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/neo4jctl/neo4jctl/internal/agentbuild"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

func TestBundleFrom(t *testing.T) {
	exe := []byte("\x7fELF fake agent")
	z, err := agentbuild.Zip(exe)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(z)
	built := fstest.MapFS{
		"zips/README.md":       {Data: []byte("readme")},
		"zips/agent-amd64.zip": {Data: z},
		"zips/agent-arm64.zip": {Data: z},
	}
	empty := fstest.MapFS{"zips/README.md": {Data: []byte("readme")}}
	tests := []struct {
		name    string
		fs      fstest.MapFS
		arch    string
		wantErr string
	}{
		{"amd64", built, "amd64", ""},
		{"x86_64 alias", built, "x86_64", ""},
		{"aarch64 alias", built, "aarch64", ""},
		{"not built", empty, "arm64", "agent bundle not built: run go run ./cmd/build-agent"},
		{"bad arch", built, "riscv64", "unsupported architecture"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, sha, err := bundleFrom(tt.fs, tt.arch)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(tt.wantErr, "not built") && !errors.Is(err, ErrNotBuilt) {
					t.Fatal("not errors.Is ErrNotBuilt")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if sha != hex.EncodeToString(sum[:]) || !bytes.Equal(b, z) {
				t.Fatalf("wrong bundle or sha %s", sha)
			}
			got, err := BootstrapFromZip(b)
			if err != nil || !bytes.Equal(got, exe) {
				t.Fatalf("bootstrap %q %v", got, err)
			}
		})
	}
}

// TestEmbeddedBundle checks the real embed: either the bundles are built and valid, or the
// error names the command to run.
func TestEmbeddedBundle(t *testing.T) {
	for _, arch := range naming.Archs {
		b, sha, err := Bundle(arch)
		if errors.Is(err, ErrNotBuilt) {
			t.Logf("%s: %v (fine for a package test; neo4jctl's build runs it first)", arch, err)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(sha) != 64 || len(b) == 0 {
			t.Fatalf("%s: bad bundle", arch)
		}
		if _, err := BootstrapFromZip(b); err != nil {
			t.Fatal(err)
		}
	}
}
