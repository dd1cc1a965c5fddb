// Package agentbundle is the built agent (the Lambda code and in-container helper, one
// program: cmd/neo4jctl-agent) embedded in neo4jctl, which uploads it under its SHA-256.
//
// This package must never be imported by the agent: it embeds the agent's own build output.
//
// Build the bundles before building neo4jctl:
//
//	go run ./cmd/build-agent
package agentbundle

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
)

//go:embed zips
var embedded embed.FS

// BuildCommand is the command that makes the bundles.
const BuildCommand = "go run ./cmd/build-agent"

// ErrNotBuilt is wrapped by Bundle's error when the zips were not built before neo4jctl.
var ErrNotBuilt = errors.New("agent bundle not built: run " + BuildCommand)

// Bundle returns the zipped agent for arch ("amd64" or "arm64"; "x86_64" and "aarch64" are
// accepted too) and its SHA-256 in hex. The S3 key is naming.AgentKey(arch, sha).
func Bundle(arch string) ([]byte, string, error) {
	return bundleFrom(embedded, arch)
}

// SHA256 is the bundle's SHA-256 in hex, as recorded beside it at build time: what
// `version`, dry runs and `generate templates` need, without copying or hashing the bundle.
func SHA256(arch string) (string, error) {
	return sumFrom(embedded, arch)
}

// Binary returns the agent executable for arch (the zip's bootstrap), e.g. for an image layer.
func Binary(arch string) ([]byte, error) {
	z, _, err := Bundle(arch)
	if err != nil {
		return nil, err
	}
	return BootstrapFromZip(z)
}

// NormalizeArch maps the names Lambda, EC2 and OCI use to GOARCH.
func NormalizeArch(arch string) (string, error) {
	switch arch {
	case "amd64", "x86_64":
		return "amd64", nil
	case "arm64", "aarch64":
		return "arm64", nil
	}
	return "", fmt.Errorf("agent bundle: unsupported architecture %q (want amd64 or arm64)", arch)
}

// LambdaArchitecture is the Lambda Architectures value of a bundle arch.
func LambdaArchitecture(arch string) string {
	if a, _ := NormalizeArch(arch); a == "amd64" {
		return "x86_64"
	}
	return "arm64"
}

func bundleFrom(fsys fs.FS, arch string) ([]byte, string, error) {
	a, err := NormalizeArch(arch)
	if err != nil {
		return nil, "", err
	}
	name := "zips/agent-" + a + ".zip"
	b, err := fs.ReadFile(fsys, name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", fmt.Errorf("%w (no %s in this neo4jctl build)", ErrNotBuilt, name)
	}
	if err != nil {
		return nil, "", fmt.Errorf("reading embedded %s: %w", name, err)
	}
	if sum, ok := recordedSum(fsys, a); ok {
		return b, sum, nil
	}
	sum := sha256.Sum256(b)
	return b, hex.EncodeToString(sum[:]), nil
}

func sumFrom(fsys fs.FS, arch string) (string, error) {
	a, err := NormalizeArch(arch)
	if err != nil {
		return "", err
	}
	if sum, ok := recordedSum(fsys, a); ok {
		return sum, nil
	}
	_, sum, err := bundleFrom(fsys, a) // built without a sum file: hash it
	return sum, err
}

// recordedSum reads agent-<arch>.zip.sha256 (internal/agentbuild.SumFileName), written by
// the build after the zip; a missing or malformed one means "hash the zip".
func recordedSum(fsys fs.FS, arch string) (string, bool) {
	b, err := fs.ReadFile(fsys, "zips/agent-"+arch+".zip.sha256")
	if err != nil {
		return "", false
	}
	f := strings.Fields(string(b))
	if len(f) != 2 || f[1] != "agent-"+arch+".zip" || len(f[0]) != sha256.Size*2 {
		return "", false
	}
	if _, err := hex.DecodeString(f[0]); err != nil {
		return "", false
	}
	return strings.ToLower(f[0]), true
}

// BootstrapFromZip extracts the bootstrap executable from a bundle.
func BootstrapFromZip(z []byte) ([]byte, error) {
	zr, err := zip.NewReader(bytes.NewReader(z), int64(len(z)))
	if err != nil {
		return nil, fmt.Errorf("reading agent bundle zip: %w", err)
	}
	for _, f := range zr.File {
		if f.Name != "bootstrap" {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return nil, fmt.Errorf("opening bootstrap in agent bundle: %w", err)
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		if err != nil {
			return nil, fmt.Errorf("reading bootstrap from agent bundle: %w", err)
		}
		return b, nil
	}
	return nil, fmt.Errorf("agent bundle has no bootstrap entry")
}
