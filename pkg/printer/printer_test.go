package printer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"text/tabwriter"
)

func TestWriteFormats(t *testing.T) {
	v := map[string]any{"name": "graph", "cores": 3}
	for _, tc := range []struct{ format, want string }{
		{JSON, "\"cores\": 3"},
		{YAML, "cores: 3\nname: graph\n"},
		{Table, "NAME   CORES\ngraph  3\n"},
	} {
		var b bytes.Buffer
		err := Write(&b, tc.format, v, func(w *tabwriter.Writer) {
			fmt.Fprintln(w, "NAME\tCORES")
			fmt.Fprintf(w, "%s\t%d\n", v["name"], v["cores"])
		})
		if err != nil || !strings.Contains(b.String(), tc.want) {
			t.Errorf("%s: %q, %v", tc.format, b.String(), err)
		}
		if tc.format == JSON && !json.Valid(b.Bytes()) {
			t.Errorf("json output is not JSON: %q", b.String())
		}
	}
	if err := CheckFormat("xml"); err == nil || !strings.Contains(err.Error(), "table, json, yaml") {
		t.Errorf("CheckFormat(xml) = %v", err)
	}
}

func TestColor(t *testing.T) {
	var b bytes.Buffer
	t.Setenv("NO_COLOR", "")
	if ColorEnabled(&b) {
		t.Error("a buffer is not a terminal: no colour")
	}
	if got := (Colors{On: false}).Red("x"); got != "x" {
		t.Errorf("colours off still wrapped: %q", got)
	}
	if got := (Colors{On: true}).Red("x"); got != "\x1b[31mx\x1b[0m" {
		t.Errorf("colours on: %q", got)
	}
}
