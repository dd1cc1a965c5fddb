package stack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

// Files WriteDir writes beside the stacks' own.
const (
	DeployScript   = "deploy.sh"   // the AWS CLI steps, in order
	DeployManifest = "deploy.json" // the same as data (Deployment)
)

// Deployment is how the stacks of a directory are deployed by hand, in deploy.json.
type Deployment struct {
	Cluster string `json:"cluster"`
	Region  string `json:"region"`
	// Levels are the stacks in creation order: each level's stacks may be created together
	// once every stack of the levels before is CREATE_COMPLETE.
	Levels [][]string `json:"levels"`
	// Uploads go into the bucket the shared stack outputs (BucketOutput) before the first
	// stack of level BeforeLevel is created.
	Uploads []DeployUpload `json:"uploads"`
	// FillIn are the parameter values only AWS knows, written as Placeholder(parameter).
	FillIn []DeployFillIn `json:"fillIn"`
}

// DeployUpload is one agent bundle to put into the cluster bucket.
type DeployUpload struct {
	File         string `json:"file"` // agent-<arch>.zip, expected beside deploy.sh
	Arch         string `json:"arch"`
	SHA256       string `json:"sha256"`
	Key          string `json:"key"`
	BucketStack  string `json:"bucketStack"`
	BucketOutput string `json:"bucketOutput"`
	BeforeLevel  int    `json:"beforeLevel"`
}

// DeployFillIn is one placeholder in a parameters file.
type DeployFillIn struct {
	File        string `json:"file"`
	Parameter   string `json:"parameter"`
	Placeholder string `json:"placeholder"`
	What        string `json:"what"`
	Lookup      string `json:"lookup"`
}

// WriteDir writes every stack as <stack>.template.json (compact: CloudFormation takes at most
// MaxTemplateBody bytes inline), <stack>.parameters.json and <stack>.tags.json (the formats
// of the AWS CLI's --parameters and --tags file://), and deploy.sh and deploy.json: the
// stacks' order, the agent bundles to upload and where, and the values only AWS knows, each
// written as Placeholder(parameter) with the command that looks it up. With the agent bundles
// beside them (the caller writes the Deployment's Uploads), nothing else is needed to deploy
// the cluster with the AWS CLI.
func WriteDir(stacks []Stack, dir string) (*Deployment, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	d := deployment(stacks)
	if err := writeStacks(stacks, dir); err != nil {
		return nil, err
	}
	if err := writeJSON(filepath.Join(dir, DeployManifest), d); err != nil {
		return nil, err
	}
	return &d, os.WriteFile(filepath.Join(dir, DeployScript), []byte(d.script(stacks)), 0o755)
}

// writeStacks writes each stack's template, parameters and tags files.
func writeStacks(stacks []Stack, dir string) error {
	for _, s := range stacks {
		params := maps.Clone(s.Parameters)
		for _, u := range s.Unknowns {
			params[u.Parameter] = Placeholder(u.Parameter)
		}
		type param struct {
			ParameterKey   string `json:"ParameterKey"`
			ParameterValue string `json:"ParameterValue"`
		}
		ps := []param{}
		for _, k := range slices.Sorted(maps.Keys(params)) {
			ps = append(ps, param{k, params[k]})
		}
		type tag struct {
			Key   string `json:"Key"`
			Value string `json:"Value"`
		}
		ts := []tag{}
		for _, k := range slices.Sorted(maps.Keys(s.Tags)) {
			ts = append(ts, tag{k, s.Tags[k]})
		}
		if err := os.WriteFile(filepath.Join(dir, s.Name+".template.json"), s.Template, 0o644); err != nil {
			return err
		}
		if err := writeJSON(filepath.Join(dir, s.Name+".parameters.json"), ps); err != nil {
			return err
		}
		if err := writeJSON(filepath.Join(dir, s.Name+".tags.json"), ts); err != nil {
			return err
		}
	}
	return nil
}

func writeJSON(path string, v any) error {
	body, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(body, '\n'), 0o644)
}

// deployment orders the stacks by their dependencies and collects uploads and placeholders.
func deployment(stacks []Stack) Deployment {
	var d Deployment
	level := map[string]int{}
	var shared string
	for _, s := range stacks { // Build returns them in creation order
		if d.Cluster == "" {
			d.Cluster, d.Region = s.Tags[naming.TagCluster], s.Region
		}
		if s.Kind == naming.KindShared {
			shared = s.Name
		}
		l := 0
		for _, dep := range s.DependsOn {
			l = max(l, level[dep]+1)
		}
		level[s.Name] = l
		for len(d.Levels) <= l {
			d.Levels = append(d.Levels, nil)
		}
		d.Levels[l] = append(d.Levels[l], s.Name)
		for _, u := range s.Unknowns {
			d.FillIn = append(d.FillIn, DeployFillIn{File: s.Name + ".parameters.json", Parameter: u.Parameter,
				Placeholder: Placeholder(u.Parameter), What: u.What, Lookup: u.Lookup})
		}
	}
	seen := map[string]bool{}
	for _, s := range stacks {
		for _, u := range s.Uploads {
			if seen[u.Key] {
				continue
			}
			seen[u.Key] = true
			first := level[s.Name]
			for _, o := range stacks {
				if slices.ContainsFunc(o.Uploads, func(x Upload) bool { return x.Key == u.Key }) {
					first = min(first, level[o.Name])
				}
			}
			d.Uploads = append(d.Uploads, DeployUpload{File: "agent-" + u.Arch + ".zip", Arch: u.Arch, SHA256: u.SHA256, Key: u.Key,
				BucketStack: shared, BucketOutput: OutputBucketName, BeforeLevel: first})
		}
	}
	return d
}

// script renders the deployment as a bash script for the AWS CLI.
func (d Deployment) script(stacks []Stack) string {
	var b bytes.Buffer
	p := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	version := ""
	if len(stacks) > 0 {
		version = stacks[0].Tags[naming.TagVersion]
	}
	p("#!/usr/bin/env bash")
	p("# Deploys neo4jctl cluster %s in %s with the AWS CLI: the stacks in order, and the agent", d.Cluster, d.Region)
	p("# bundles into the cluster bucket once the shared stack has made it. Written by neo4jctl %s", version)
	p("# (generate templates); `neo4jctl create cluster` does the same, checks the account first and")
	p("# waits for Neo4j. Templates are compact JSON (CloudFormation takes 51,200 bytes inline):")
	p("# `jq . FILE` reads them.")
	p("#")
	p("# Before you run it:")
	if len(d.FillIn) == 0 {
		p("#   - every parameter has its value.")
	}
	for _, f := range d.FillIn {
		p("#   - %s: replace %s with %s:", f.File, f.Placeholder, f.What)
		p("#       %s", f.Lookup)
	}
	if len(d.FillIn) > 0 {
		p("#     (`neo4jctl generate templates` looks these up and writes them in itself when it runs")
		p("#     with AWS credentials and without --offline.)")
	}
	for _, u := range d.Uploads {
		p("#   - the agent bundle %s (SHA-256 %s) is beside this script (generate templates writes it).", u.File, u.SHA256)
	}
	p("#   - the Existing* parameters are empty: the stacks make new volumes, bucket, key and secrets.")
	p("#     To come back on the data a deleted cluster of this name kept, put their ids there.")
	p("set -euo pipefail")
	p("cd \"$(dirname \"$0\")\"")
	p("REGION=%s", d.Region)
	p("if grep -l FILL_IN_ ./*.parameters.json; then echo \"fill in the FILL_IN_ values of the files above first (see the top of $0)\" >&2; exit 1; fi")
	if len(d.Uploads) > 0 {
		p("sha256sum -c <<'SUMS'")
		for _, u := range d.Uploads {
			p("%s  %s", u.SHA256, u.File)
		}
		p("SUMS")
	}
	p("create() {")
	p("  aws cloudformation create-stack --region \"$REGION\" --stack-name \"$1\" --template-body \"file://$1.template.json\" \\")
	p("    --parameters \"file://$1.parameters.json\" --tags \"file://$1.tags.json\" --capabilities CAPABILITY_NAMED_IAM --enable-termination-protection >/dev/null")
	p("}")
	p("created() { aws cloudformation wait stack-create-complete --region \"$REGION\" --stack-name \"$1\"; }")
	p("output() { aws cloudformation describe-stacks --region \"$REGION\" --stack-name \"$1\" --query \"Stacks[0].Outputs[?OutputKey=='$2'].OutputValue\" --output text; }")
	for i, names := range d.Levels {
		for _, u := range d.Uploads {
			if u.BeforeLevel == i {
				p("aws s3 cp --region \"$REGION\" %s \"s3://$(output %s %s)/%s\"", u.File, u.BucketStack, u.BucketOutput, u.Key)
			}
		}
		p("for s in %s; do create \"$s\"; done", strings.Join(names, " "))
		p("for s in %s; do created \"$s\"; echo \"$s created\"; done", strings.Join(names, " "))
	}
	return b.String()
}
