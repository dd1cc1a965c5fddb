package agentbuild

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

// TestBuildReproducible builds both bundles twice, into different directories, and wants
// the same SHA-256; then checks what a Lambda needs from the zip.
func TestBuildReproducible(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	root, err := ModuleRoot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a, err := Build(ctx, Options{ModuleRoot: root, OutDir: filepath.Join(t.TempDir(), "one")})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Build(ctx, Options{ModuleRoot: root, OutDir: filepath.Join(t.TempDir(), "two", "deeper")})
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != len(naming.Archs) || len(b) != len(naming.Archs) {
		t.Fatalf("built %d and %d bundles, want %d", len(a), len(b), len(naming.Archs))
	}
	wantMachine := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}
	for i := range a {
		if a[i].SHA256 != b[i].SHA256 {
			t.Errorf("%s: two builds differ: %s vs %s", a[i].Arch, a[i].SHA256, b[i].SHA256)
		}
		// the sum is recorded beside the zip, in sha256sum's format, and is the zip's hash
		zipBytes, err := os.ReadFile(a[i].Path)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(zipBytes)
		want := hex.EncodeToString(sum[:]) + "  " + FileName(a[i].Arch) + "\n"
		if got, err := os.ReadFile(filepath.Join(filepath.Dir(a[i].Path), SumFileName(a[i].Arch))); err != nil || string(got) != want || a[i].SHA256+"  "+FileName(a[i].Arch)+"\n" != want {
			t.Errorf("%s: recorded sum %q (%v), want %q", a[i].Arch, got, err, want)
		}
		exe := readBootstrap(t, a[i].Path)
		f, err := elf.NewFile(bytes.NewReader(exe))
		if err != nil {
			t.Fatalf("%s: bootstrap is not ELF: %v", a[i].Arch, err)
		}
		if f.Machine != wantMachine[a[i].Arch] {
			t.Errorf("%s: ELF machine %v", a[i].Arch, f.Machine)
		}
		if s := f.Section(".note.go.buildid"); s != nil {
			// A Go build id looks like actionID/contentID; -buildid= leaves none.
			if data, _ := s.Data(); bytes.Contains(data, []byte("/")) {
				t.Errorf("%s: build id present: %q", a[i].Arch, data)
			}
		}
		if f.Section(".symtab") != nil {
			t.Errorf("%s: symbol table not stripped", a[i].Arch)
		}
		if bytes.Contains(exe, []byte(root)) {
			t.Errorf("%s: binary contains the build directory %s (not trimpath)", a[i].Arch, root)
		}
	}
}

func readBootstrap(t *testing.T, path string) []byte {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	if len(zr.File) != 1 || zr.File[0].Name != "bootstrap" {
		t.Fatalf("%s: want exactly one entry bootstrap, got %d", path, len(zr.File))
	}
	f := zr.File[0]
	if f.Mode().Perm() != 0o755 || !f.Modified.Equal(zipTime) && f.ModTime().Year() != 1980 {
		t.Errorf("%s: bootstrap mode %v time %v", path, f.Mode(), f.ModTime())
	}
	rc, err := f.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestZipDeterministic(t *testing.T) {
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"small", []byte("#!/bin/sh\necho hi\n")},
		{"large", bytes.Repeat([]byte("neo4jctl"), 100000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			z1, err := Zip(tt.data)
			if err != nil {
				t.Fatal(err)
			}
			z2, _ := Zip(tt.data)
			if !bytes.Equal(z1, z2) {
				t.Fatal("two zips of the same bytes differ")
			}
		})
	}
}
