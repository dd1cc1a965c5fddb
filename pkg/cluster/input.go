package cluster

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	yaml "github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/lexer"
	"github.com/goccy/go-yaml/token"
)

// Limits on what is parsed at all. No cluster.yaml comes near them (the examples are under
// 4 KiB, a few hundred tokens, 5 levels deep); they exist because the YAML parser's cost
// grows faster than the input in places (a long mapping is copied once per entry, a deep
// nesting builds a path string per level), so a hostile file could otherwise take minutes
// and gigabytes. The checks before parsing cost one linear pass of the lexer.
const (
	// MaxConfigBytes is the largest file read: 1 MiB.
	MaxConfigBytes = 1 << 20
	// maxTokens bounds the parser's work: the richest example has 157 YAML tokens, a file
	// with every field, 43 tags and 50 neo4j.config settings about 600.
	maxTokens = 10000
	// maxDepth is the deepest nesting of mappings and lists; the schema needs 5.
	maxDepth = 20
	// maxAliases: the decoder refuses every alias anyway, so more than a few is not a
	// config but an alias bomb, refused before anything could expand it.
	maxAliases = 16
	// maxScalar is the longest key or value; the longest real values are neo4j.config
	// settings such as a procedure allowlist.
	maxScalar = 4096
)

// checkText refuses what is not UTF-8 YAML text and returns data without a UTF-8 byte-order
// mark. It never quotes the bytes it refuses.
func checkText(data []byte) ([]byte, *FieldError) {
	switch {
	case bytes.HasPrefix(data, []byte{0xFE, 0xFF}), bytes.HasPrefix(data, []byte{0xFF, 0xFE}):
		return nil, &FieldError{Message: "is UTF-16 text; neo4jctl reads UTF-8", Fix: "save the file as UTF-8"}
	}
	data = bytes.TrimPrefix(data, []byte("\uFEFF")) // a BOM is harmless; editors on Windows write one
	line := 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			return nil, notText(line, fmt.Sprintf("invalid UTF-8 at byte %d", i))
		case r == 0:
			return nil, notText(line, fmt.Sprintf("a NUL byte at byte %d", i))
		case r < 0x20 && r != '\t' && r != '\n' && r != '\r', r == 0x7F, r >= 0x80 && r <= 0x9F && r != 0x85:
			return nil, notText(line, fmt.Sprintf("control character U+%04X at byte %d", r, i))
		case r == '\n':
			line++
		}
		i += size
	}
	return data, nil
}

func notText(line int, what string) *FieldError {
	return &FieldError{Line: line, Message: "not a YAML text file (" + what + ")", Fix: "give -f the cluster.yaml itself, saved as UTF-8 text"}
}

// checkShape lexes data once and refuses, before parsing, what no cluster.yaml needs: too
// many tokens, too deep a nesting, alias bombs, huge keys or values.
func checkShape(data []byte) *FieldError {
	toks := lexer.Tokenize(string(data))
	var d depthCounter
	aliases := 0
	for _, tk := range toks {
		if tk.Type == token.AliasType {
			if aliases++; aliases > maxAliases {
				return &FieldError{Line: tk.Position.Line, Message: fmt.Sprintf("has more than %d YAML aliases; cluster.yaml takes none", maxAliases), Fix: "write each value out"}
			}
		}
		if n := utf8.RuneCountInString(tk.Value); n > maxScalar && tk.Type != token.CommentType {
			return &FieldError{Line: tk.Position.Line, Message: fmt.Sprintf("a key or value of %d characters; the limit is %d", n, maxScalar), Fix: "shorten it; no cluster.yaml field takes that much"}
		}
		if depth := d.add(tk); depth > maxDepth {
			return &FieldError{Line: tk.Position.Line, Message: fmt.Sprintf("nests more than %d levels deep; cluster.yaml needs 5", maxDepth), Fix: "check the brackets and the indentation"}
		}
	}
	if len(toks) > maxTokens {
		return &FieldError{Message: fmt.Sprintf("is too large for a cluster config: %d YAML tokens (keys, values, punctuation); the limit is %d", len(toks), maxTokens),
			Fix: "check that -f names a cluster.yaml; a complete one has a few hundred"}
	}
	return nil
}

// depthCounter estimates the nesting depth from the tokens alone: flow brackets, plus the
// block collections open at smaller indentation (a stack of the columns where their keys
// or dashes start). It errs on the side of counting a level more, never fewer.
type depthCounter struct {
	flow  int
	block []blockLevel
}

type blockLevel struct {
	col int
	seq bool
}

func (d *depthCounter) add(tk *token.Token) int {
	switch tk.Type {
	case token.SequenceStartType, token.MappingStartType:
		d.flow++
	case token.SequenceEndType, token.MappingEndType:
		d.flow = max(0, d.flow-1)
	case token.SequenceEntryType:
		if d.flow == 0 {
			d.open(tk.Position.Column, true)
		}
	case token.MappingValueType:
		if d.flow == 0 && tk.Prev != nil && tk.Prev.Position != nil {
			d.open(tk.Prev.Position.Column, false)
		}
	}
	return d.flow + len(d.block)
}

func (d *depthCounter) open(col int, seq bool) {
	for n := len(d.block); n > 0; n = len(d.block) {
		top := d.block[n-1]
		// a list may start at its parent key's column; a key at that column ends the list
		if top.col > col || top.col == col && top.seq && !seq {
			d.block = d.block[:n-1]
			continue
		}
		if top.col == col && top.seq == seq {
			return // a sibling entry
		}
		break
	}
	d.block = append(d.block, blockLevel{col, seq})
}

// syntaxProblem turns the parser's error into file:line:column, the offending line with a
// caret under the column, and words a user knows (tabs are named as tabs).
func syntaxProblem(err error, src []byte) FieldError {
	fe := FieldError{Message: "not valid YAML", Fix: "check the indentation and quoting near the line shown"}
	var ye yaml.Error
	if !errors.As(err, &ye) || ye.GetToken() == nil || ye.GetToken().Position == nil {
		fe.Message += ": " + redactText(oneLine(err.Error()))
		return fe
	}
	pos := ye.GetToken().Position
	fe.Line, fe.Column = pos.Line, pos.Column
	text := sourceLine(src, fe.Line)
	msg := ye.GetMessage()
	if tab := strings.IndexByte(text, '\t'); tab >= 0 && (strings.Contains(msg, "\t") || strings.Contains(msg, "tab")) {
		fe.Column = utf8.RuneCountInString(text[:tab]) + 1
		fe.Message = fmt.Sprintf("not valid YAML: a tab character at column %d; YAML indents with spaces only", fe.Column)
		fe.Fix = "replace the tab with spaces"
	} else {
		fe.Message += ": " + redactText(oneLine(strings.ReplaceAll(msg, "\t", `\t`)))
	}
	fe.Excerpt = caretExcerpt(fe.Line, fe.Column, text)
	return fe
}

// sourceLine is line n (1-based) of src without its line ending.
func sourceLine(src []byte, n int) string {
	for i := 1; i < n; i++ {
		j := bytes.IndexByte(src, '\n')
		if j < 0 {
			return ""
		}
		src = src[j+1:]
	}
	if j := bytes.IndexByte(src, '\n'); j >= 0 {
		src = src[:j]
	}
	return strings.TrimSuffix(string(src), "\r")
}

// caretExcerpt shows one source line, secrets masked, tabs visible as → and a lone carriage
// return as ␍ (printed, it would send the terminal's cursor back over the line), with a
// caret under column col.
func caretExcerpt(line, col int, text string) string {
	if line < 1 {
		return ""
	}
	const maxShown = 160
	runes := []rune(redactLine(text))
	start := 0
	if col > maxShown { // keep the caret in view on a very long line
		start = col - maxShown/2
	}
	runes = runes[min(start, len(runes)):]
	if len(runes) > maxShown {
		runes = runes[:maxShown]
	}
	shown := printable(strings.NewReplacer("\t", "→", "\r", "␍").Replace(string(runes)))
	gutter := fmt.Sprintf("%5d | ", line)
	caret := strings.Repeat(" ", max(0, col-1-start))
	return gutter + shown + "\n" + strings.Repeat(" ", len(gutter)-2) + "| " + caret + "^"
}
