package cluster

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// File is a decoded cluster.yaml: the config and where each field was written, so that
// validation can point at lines.
type File struct {
	Path   string
	Config *ClusterConfig
	lines  map[string]int
	zeros  []string // int fields written as an explicit 0
}

// Line is the line where path (e.g. "cores.volume.iops") was written, or of its nearest
// written parent, or 0 when nothing on the path was in the file.
func (f *File) Line(path string) int {
	if f == nil {
		return 0
	}
	for p := path; p != ""; p = parentPath(p) {
		if l, ok := f.lines[p]; ok {
			return l
		}
	}
	return 0
}

func parentPath(p string) string {
	if strings.HasSuffix(p, "]") {
		if i := strings.LastIndex(p, "["); i >= 0 {
			return p[:i]
		}
	}
	if i := strings.LastIndex(p, "."); i >= 0 {
		return p[:i]
	}
	return ""
}

// LoadFile reads and strictly decodes a cluster.yaml. It does not default or validate.
func LoadFile(path string) (*File, error) {
	data, err := readFile(context.Background(), path)
	if err != nil {
		return nil, err
	}
	return decodeNamed(data, path)
}

// decodeNamed is Decode with name (a path, "<stdin>") in the File and every problem.
func decodeNamed(data []byte, name string) (*File, error) {
	f, err := Decode(data)
	if f != nil {
		f.Path = name
	}
	if errs, ok := err.(ErrorList); ok {
		errs.setFile(name)
		return f, errs
	}
	return f, err
}

// Decode strictly decodes one YAML document into a ClusterConfig. Every unknown key, wrong
// type and inline secret is reported, together, as an ErrorList.
func Decode(data []byte) (*File, error) {
	f := &File{Config: &ClusterConfig{}, lines: map[string]int{}}
	if len(data) > MaxConfigBytes {
		return nil, ErrorList{tooBig(int64(len(data)))}
	}
	data, bad := checkText(data)
	if bad != nil {
		return nil, ErrorList{*bad}
	}
	if bad := checkShape(data); bad != nil {
		return nil, ErrorList{*bad}
	}
	// duplicate keys are the decoder's to report, with the field's path
	astFile, err := parser.ParseBytes(data, 0, parser.AllowDuplicateMapKey())
	if err != nil {
		return nil, ErrorList{syntaxProblem(err, data)}
	}
	var docs []ast.Node
	for _, d := range astFile.Docs {
		if d != nil && d.Body != nil {
			if _, ok := d.Body.(*ast.CommentGroupNode); ok {
				continue
			}
			docs = append(docs, d.Body)
		}
	}
	switch len(docs) {
	case 0:
		return nil, ErrorList{{Message: "the file is empty", Fix: "start from an example in examples/ or `neo4jctl utils schema`"}}
	case 1:
	default:
		return nil, ErrorList{{Line: docs[1].GetToken().Position.Line, Message: "more than one YAML document", Fix: "keep one ClusterConfig per file"}}
	}
	d := &decoder{lines: f.lines}
	d.decode(docs[0], reflect.ValueOf(f.Config).Elem(), "")
	f.zeros = d.zeros
	if len(d.errs) > 0 {
		sort.SliceStable(d.errs, func(i, j int) bool { return d.errs[i].Line < d.errs[j].Line })
		return f, d.errs
	}
	return f, nil
}

type decoder struct {
	lines map[string]int
	zeros []string // int fields written as 0
	errs  ErrorList
}

func (d *decoder) fail(n ast.Node, path, msg, fix string) {
	d.errs = append(d.errs, FieldError{Path: path, Line: line(n), Message: msg, Fix: fix})
}

func line(n ast.Node) int {
	if n == nil || n.GetToken() == nil {
		return 0
	}
	return n.GetToken().Position.Line
}

// unwrap drops anchors and tags, which carry no meaning for the config.
func unwrap(n ast.Node) ast.Node {
	for {
		switch v := n.(type) {
		case *ast.AnchorNode:
			n = v.Value
		case *ast.TagNode:
			n = v.Value
		default:
			return n
		}
	}
}

func (d *decoder) decode(n ast.Node, v reflect.Value, path string) {
	n = unwrap(n)
	if path != "" {
		if _, seen := d.lines[path]; !seen {
			d.lines[path] = line(n)
		}
	}
	if _, ok := n.(*ast.AliasNode); ok {
		d.fail(n, path, "YAML aliases are not supported", "write the value out")
		return
	}
	if _, ok := n.(*ast.NullNode); ok || n == nil {
		return // null leaves the zero value, which defaulting fills
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.decode(n, v.Elem(), path)
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Map:
		d.decodeMap(n, v, path)
	case reflect.Slice:
		seq, ok := n.(*ast.SequenceNode)
		if !ok {
			d.fail(n, path, "must be a list", fmt.Sprintf("write %s: [a, b]", lastKey(path)))
			return
		}
		out := reflect.MakeSlice(v.Type(), len(seq.Values), len(seq.Values))
		for i, item := range seq.Values {
			d.decode(item, out.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
		v.Set(out)
	case reflect.String:
		s, ok := scalarText(n)
		if !ok {
			d.fail(n, path, "must be a single value, not a list or mapping", "")
			return
		}
		if what := secretShape(s); what != "" {
			d.fail(n, path, "looks like "+what+"; secret values are not allowed in cluster.yaml", "keep credentials out of the file (neo4jctl generates its passwords in AWS Secrets Manager)")
			return
		}
		v.SetString(s)
	case reflect.Int:
		s, _ := scalarText(n)
		i, err := strconv.Atoi(s)
		if _, isInt := n.(*ast.IntegerNode); !isInt || err != nil {
			d.fail(n, path, fmt.Sprintf("must be a whole number, got %q", s), "")
			return
		}
		if i == 0 {
			// 0 means "not set" to the defaulting pass; remember that the user wrote it
			d.zeros = append(d.zeros, path)
		}
		v.SetInt(int64(i))
	case reflect.Bool:
		b, ok := n.(*ast.BoolNode)
		if !ok {
			s, _ := scalarText(n)
			d.fail(n, path, fmt.Sprintf("must be true or false, got %q", s), "")
			return
		}
		v.SetBool(b.Value)
	default:
		panic(fmt.Sprintf("cluster: no decoder for %s", v.Type()))
	}
}

func (d *decoder) decodeStruct(n ast.Node, v reflect.Value, path string) {
	pairs, ok := mappingPairs(n)
	if !ok {
		d.fail(n, path, "must be a mapping of keys to values", "")
		return
	}
	fields := jsonFields(v.Type())
	seen := map[string]bool{}
	for _, kv := range pairs {
		key, _ := scalarText(kv.Key)
		if what := secretShape(key); what != "" {
			d.fail(kv.Key, path, "a key looks like "+what+"; secret values are not allowed in cluster.yaml", "remove it; neo4jctl keeps credentials in AWS Secrets Manager")
			continue
		}
		child := joinPath(path, key)
		if seen[key] {
			d.fail(kv.Key, child, "is set twice", "keep one")
			continue
		}
		seen[key] = true
		idx, ok := fields[key]
		if !ok {
			if looksSecret(key) {
				d.fail(kv.Key, child, "secret values are not allowed in cluster.yaml", "neo4jctl generates passwords in AWS Secrets Manager; remove this key")
				continue
			}
			d.fail(kv.Key, child, "unknown field", suggest(key, fieldNames(fields)))
			continue
		}
		d.lines[child] = line(kv.Key)
		d.decode(kv.Value, v.Field(idx), child)
	}
}

func (d *decoder) decodeMap(n ast.Node, v reflect.Value, path string) {
	pairs, ok := mappingPairs(n)
	if !ok {
		d.fail(n, path, "must be a mapping of keys to values", "")
		return
	}
	if v.IsNil() {
		v.Set(reflect.MakeMap(v.Type()))
	}
	for _, kv := range pairs {
		key, _ := scalarText(kv.Key)
		if what := secretShape(key); what != "" {
			d.fail(kv.Key, path, "a key looks like "+what+"; secret values are not allowed in cluster.yaml", "remove it; neo4jctl keeps credentials in AWS Secrets Manager")
			continue
		}
		child := joinPath(path, key)
		d.lines[child] = line(kv.Key)
		if secretKey(key) {
			d.fail(kv.Key, child, "secret values are not allowed in cluster.yaml", "neo4jctl keeps passwords in AWS Secrets Manager; remove this key")
			continue
		}
		if v.MapIndex(reflect.ValueOf(key)).IsValid() {
			d.fail(kv.Key, child, "is set twice", "keep one")
			continue
		}
		val := reflect.New(v.Type().Elem()).Elem()
		d.decode(kv.Value, val, child)
		v.SetMapIndex(reflect.ValueOf(key), val)
	}
}

func mappingPairs(n ast.Node) ([]*ast.MappingValueNode, bool) {
	switch m := n.(type) {
	case *ast.MappingNode:
		return m.Values, true
	case *ast.MappingValueNode:
		return []*ast.MappingValueNode{m}, true
	}
	return nil, false
}

// scalarText is the value as written, so `version: 5.26` stays "5.26" and `acceptLicense: yes`
// stays "yes" whatever YAML's type rules say.
func scalarText(n ast.Node) (string, bool) {
	n = unwrap(n)
	switch s := n.(type) {
	case *ast.StringNode:
		return s.Value, true
	case *ast.LiteralNode:
		return s.Value.Value, true
	case ast.ScalarNode:
		if t := s.GetToken(); t != nil {
			return t.Value, true
		}
	}
	return "", false
}

func jsonFields(t reflect.Type) map[string]int {
	out := map[string]int{}
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			out[name] = i
		}
	}
	return out
}

func fieldNames(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func joinPath(parent, key string) string {
	if parent == "" {
		return key
	}
	if strings.ContainsAny(key, ". ") && !strings.HasPrefix(parent, "[") {
		// map keys such as neo4j.config keys contain dots: quote them so the path stays readable
		return parent + "[" + strconv.Quote(key) + "]"
	}
	return parent + "." + key
}

func lastKey(path string) string {
	if i := strings.LastIndex(path, "."); i >= 0 {
		return path[i+1:]
	}
	return path
}

// suggest offers the closest known field for a typo.
func suggest(key string, known []string) string {
	best, bestDist := "", 1<<30
	for _, k := range known {
		if d := editDistance(strings.ToLower(key), strings.ToLower(k)); d < bestDist {
			best, bestDist = k, d
		}
	}
	if best != "" && bestDist <= max(2, len(key)/3) {
		return fmt.Sprintf("did you mean `%s`?", best)
	}
	return "known fields: " + strings.Join(known, ", ")
}

func editDistance(a, b string) int {
	// optimal string alignment: Levenshtein plus transposition, the commonest typo
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
