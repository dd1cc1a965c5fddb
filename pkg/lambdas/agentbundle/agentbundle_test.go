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

// The sum recorded at build time is what Bundle and SHA256 report (the bundle is not hashed
// again); without a usable record they hash the bundle.
func TestRecordedSum(t *testing.T) {
	z, err := agentbuild.Zip([]byte("\x7fELF fake agent"))
	if err != nil {
		t.Fatal(err)
	}
	actual := sha256.Sum256(z)
	hashed := hex.EncodeToString(actual[:])
	recorded := strings.Repeat("ab", 32) // not the hash: proves the record is read, not recomputed
	withSum := func(content string) fstest.MapFS {
		return fstest.MapFS{"zips/agent-arm64.zip": {Data: z}, "zips/" + agentbuild.SumFileName("arm64"): {Data: []byte(content)}}
	}
	cases := []struct {
		name string
		fs   fstest.MapFS
		want string
	}{
		{"recorded", withSum(recorded + "  agent-arm64.zip\n"), recorded},
		{"no record", fstest.MapFS{"zips/agent-arm64.zip": {Data: z}}, hashed},
		{"truncated record", withSum(recorded[:40]), hashed},
		{"record of another file", withSum(recorded + "  agent-amd64.zip\n"), hashed},
		{"not hex", withSum(strings.Repeat("zz", 32) + "  agent-arm64.zip\n"), hashed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, sum, err := bundleFrom(tc.fs, "aarch64"); err != nil || sum != tc.want {
				t.Fatalf("Bundle sum %s, %v; want %s", sum, err, tc.want)
			}
			if sum, err := sumFrom(tc.fs, "arm64"); err != nil || sum != tc.want {
				t.Fatalf("SHA256 %s, %v; want %s", sum, err, tc.want)
			}
		})
	}
	if _, err := sumFrom(fstest.MapFS{}, "arm64"); !errors.Is(err, ErrNotBuilt) {
		t.Fatalf("no bundle: want ErrNotBuilt, got %v", err)
	}
}

// BenchmarkSums compares what `neo4jctl version` pays per architecture: the recorded sum,
// Bundle (copies the zip), and hashing the zip as it did before the sums were recorded.
func BenchmarkSums(b *testing.B) {
	if _, _, err := Bundle("amd64"); err != nil {
		b.Skip(err)
	}
	b.Run("SHA256", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := SHA256("amd64"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Bundle", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, _, err := Bundle("amd64"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("hash-at-start", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			z, _, _ := Bundle("amd64")
			sha256.Sum256(z)
		}
	})
}

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
