// Package agentbuild builds the agent (cmd/neo4jctl-agent) reproducibly for Linux and zips it
// as a Lambda bundle. It is used by `go run ./cmd/build-agent` and by its tests; neo4jctl
// itself only reads the result through package agentbundle.
package agentbuild

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

// AgentPackage is the Go package of the agent program.
const AgentPackage = "./cmd/neo4jctl-agent"

// BuildCommand is the documented command that makes the bundles.
const BuildCommand = "go run ./cmd/build-agent"

// zipTime is the fixed modification time of the zip entry (the earliest DOS time).
var zipTime = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// Options says what to build where.
type Options struct {
	ModuleRoot string   // directory holding go.mod
	OutDir     string   // where agent-<arch>.zip goes
	Archs      []string // default naming.Archs
	GoBin      string   // default "go"
}

// Result is one built bundle.
type Result struct {
	Arch   string
	Path   string
	Size   int64
	SHA256 string
}

// FileName is the bundle file name for an architecture.
func FileName(arch string) string { return "agent-" + arch + ".zip" }

// SumFileName is the file beside a bundle that records its SHA-256 in sha256sum's format
// ("<hex>  agent-<arch>.zip"), so that neo4jctl knows its bundles' sums without hashing
// 10 MB at every start, and `sha256sum -c` checks them.
func SumFileName(arch string) string { return FileName(arch) + ".sha256" }

// SplitArchs parses a comma-separated list.
func SplitArchs(s string) []string {
	var out []string
	for _, a := range strings.Split(s, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// ModuleRoot returns the directory of the main module's go.mod.
func ModuleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("finding the module root with 'go env GOMOD': %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("finding the module root: not inside a Go module")
	}
	return filepath.Dir(gomod), nil
}

// Build compiles the agent for each architecture and writes its zip into OutDir.
func Build(ctx context.Context, o Options) ([]Result, error) {
	if o.ModuleRoot == "" || o.OutDir == "" {
		return nil, fmt.Errorf("bundler: ModuleRoot and OutDir are required")
	}
	archs := o.Archs
	if len(archs) == 0 {
		archs = naming.Archs
	}
	if err := os.MkdirAll(o.OutDir, 0o755); err != nil {
		return nil, fmt.Errorf("creating bundle directory: %w", err)
	}
	tmp, err := os.MkdirTemp("", "neo4jctl-agent-build-")
	if err != nil {
		return nil, fmt.Errorf("creating build directory: %w", err)
	}
	defer os.RemoveAll(tmp)

	var res []Result
	for _, arch := range archs {
		bin := filepath.Join(tmp, "bootstrap-"+arch)
		if err := compile(ctx, o, arch, bin); err != nil {
			return nil, err
		}
		exe, err := os.ReadFile(bin)
		if err != nil {
			return nil, fmt.Errorf("reading built agent for %s: %w", arch, err)
		}
		z, err := Zip(exe)
		if err != nil {
			return nil, fmt.Errorf("zipping agent for %s: %w", arch, err)
		}
		path := filepath.Join(o.OutDir, FileName(arch))
		sumPath := filepath.Join(o.OutDir, SumFileName(arch))
		// no sum is better than a stale one: without it the bundle is hashed when read
		if err := os.Remove(sumPath); err != nil && !os.IsNotExist(err) {
			return nil, fmt.Errorf("removing %s: %w", sumPath, err)
		}
		if err := writeAtomic(path, z); err != nil {
			return nil, fmt.Errorf("writing %s: %w", path, err)
		}
		sum := sha256.Sum256(z)
		hexSum := hex.EncodeToString(sum[:])
		if err := writeAtomic(sumPath, []byte(hexSum+"  "+FileName(arch)+"\n")); err != nil {
			return nil, fmt.Errorf("writing %s: %w", sumPath, err)
		}
		res = append(res, Result{Arch: arch, Path: path, Size: int64(len(z)), SHA256: hexSum})
	}
	return res, nil
}

// Env is the build environment: the caller's environment (for PATH, HOME, GOCACHE,
// GOPROXY...) with everything that changes the output pinned.
func Env(arch string) []string {
	pinned := map[string]string{
		"CGO_ENABLED":  "0",
		"GOOS":         "linux",
		"GOARCH":       arch,
		"GOAMD64":      "v1",
		"GOARM64":      "v8.0",
		"GOFLAGS":      "",
		"GOEXPERIMENT": "",
		"GOTOOLCHAIN":  "local",
	}
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if _, ok := pinned[k]; ok || k == "GOROOT_FINAL" || strings.HasPrefix(k, "CGO_") {
			continue
		}
		env = append(env, kv)
	}
	for k, v := range pinned {
		env = append(env, k+"="+v)
	}
	return env
}

// Args are the go build arguments (after "go").
func Args(out string) []string {
	return []string{"build",
		"-trimpath", "-buildvcs=false",
		"-tags", "lambda.norpc",
		"-ldflags", "-s -w -buildid=",
		"-o", out, AgentPackage}
}

func compile(ctx context.Context, o Options, arch, out string) error {
	gobin := o.GoBin
	if gobin == "" {
		gobin = "go"
	}
	cmd := exec.CommandContext(ctx, gobin, Args(out)...)
	cmd.Dir = o.ModuleRoot
	cmd.Env = Env(arch)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("building %s for linux/%s: %w\n%s", AgentPackage, arch, err, stderr.String())
	}
	return nil
}

// Zip returns a deterministic zip with one entry, "bootstrap" (mode 0755), holding exe.
func Zip(exe []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(w, flate.BestCompression)
	})
	h := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate}
	// ModifiedTime/Date only (no extended-timestamp extra field, which would carry Modified).
	h.ModifiedDate, h.ModifiedTime = dosDateTime(zipTime)
	h.SetMode(0o755) // also marks the entry as made on Unix, so Lambda keeps the x bit
	w, err := zw.CreateHeader(h)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(exe); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func dosDateTime(t time.Time) (date, tm uint16) {
	date = uint16(t.Day() + int(t.Month())<<5 + (t.Year()-1980)<<9)
	tm = uint16(t.Second()/2 + t.Minute()<<5 + t.Hour()<<11)
	return
}

func writeAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err != nil {
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}
