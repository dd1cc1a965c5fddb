package backup

import (
	"errors"
	"os"
	"slices"
	"testing"
	"time"
)

func readRows(t *testing.T, file string) []InspectRow {
	t.Helper()
	b, err := os.ReadFile("testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := ParseInspect(b)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return rows
}

// TestParseInspectRecordedOutputs reads the Operations Manual's outputs of each line
// (testdata/README.md): 5.26 with --show-metadata, 2025.06 with the RECOVERED column and
// --show-metadata, 2025.07 with metadata by default, and one with a column we do not know.
func TestParseInspectRecordedOutputs(t *testing.T) {
	for _, tc := range []struct {
		file      string
		recovered bool
	}{
		{"inspect-5.26-show-metadata-empty.txt", false},
		{"inspect-2025.06-show-metadata-empty.txt", true},
		{"inspect-2025.07-empty.txt", true},
		{"inspect-with-new-column.txt", true},
	} {
		t.Run(tc.file, func(t *testing.T) {
			rows := readRows(t, tc.file)
			if len(rows) != 10 {
				t.Fatalf("%d rows, want the 10 artifacts of the folder", len(rows))
			}
			byName := map[string]InspectRow{}
			for _, r := range rows {
				byName[r.Name()] = r
			}
			empty := byName["malmo-2024-10-07T16-00-50.backup"]
			if empty.Full || empty.LowestTx != 0 || empty.HighestTx != 0 || empty.Database != "malmo" ||
				empty.DatabaseID != "62d1820c-3ac6-4b15-a0b3-bf7e7becc8d0" || !empty.Time.Equal(time.Date(2024, 10, 7, 16, 0, 50, 0, time.UTC)) {
				t.Errorf("empty differential: %+v", empty)
			}
			diff := byName["london-2024-10-07T16-04-05.backup"]
			if diff.Full || diff.LowestTx != 6 || diff.HighestTx != 6 || diff.File != "file:///backups/london-2024-10-07T16-04-05.backup" {
				t.Errorf("differential: %+v", diff)
			}
			full := byName["malmo-2024-10-07T16-01-08.backup"]
			if !full.Full || full.LowestTx != 1 || full.HighestTx != 7 || full.Compressed == nil || !*full.Compressed {
				t.Errorf("full: %+v", full)
			}
			if got := full.Recovered != nil; got != tc.recovered {
				t.Fatalf("RECOVERED read: %v, want %v", got, tc.recovered)
			}
			if tc.recovered && (*full.Recovered || !*byName["malmo-2024-10-07T16-01-24.backup"].Recovered) {
				t.Errorf("RECOVERED values wrong: %+v", full)
			}
		})
	}
}

func TestParseInspectRefusals(t *testing.T) {
	// a 5.x inspect without --show-metadata: file names only (shape assumed; the manual
	// shows no such output), and not-an-inspect-output at all
	for _, out := range []string{
		"|                                              FILE |\n|  file:///backups/neo4j-2024-10-07T16-05-37.backup |\n",
		"Usage: neo4j-admin backup inspect ...",
	} {
		if _, err := ParseInspect([]byte(out)); !errors.Is(err, ErrNoMetadata) {
			t.Errorf("%q: %v, want ErrNoMetadata", out, err)
		}
	}
	if _, err := ParseInspect([]byte("| FILE | FULL |\n| s3://b/backups/neo4j-2024-10-07T16-05-37.backup | maybe |\n")); err == nil {
		t.Error("FULL=maybe parsed")
	}
}

func TestParseInspectJSON(t *testing.T) {
	for _, in := range []string{
		`[{"file":"s3://b/x/neo4j-2025-03-01T02-00-00.backup","database":"neo4j","full":true,"lowestTx":1,"highestTx":12345678901},` +
			`{"file":"neo4j-2025-03-01T03-00-00.backup","full":"false","lowestTx":12345678902,"highestTx":12345678950}]`,
		`{"file":"s3://b/x/neo4j-2025-03-01T02-00-00.backup","database":"neo4j","full":true,"lowestTx":1,"highestTx":12345678901}` + "\n" +
			`{"file":"neo4j-2025-03-01T03-00-00.backup","full":"false","lowestTx":12345678902,"highestTx":12345678950}`,
	} {
		rows, err := ParseInspect([]byte(in))
		if err != nil || len(rows) != 2 || !rows[0].Full || rows[1].Full || rows[0].HighestTx != 12345678901 || rows[1].Database != "neo4j" {
			t.Fatalf("%+v %v", rows, err)
		}
	}
}

// TestInspectArgs: --show-metadata before 2025.07 only; --empty always (without it, empty
// differentials are left out and could not be classified).
func TestInspectArgs(t *testing.T) {
	for version, want := range map[string]bool{
		"5.26": true, "5.26.30": true, "2025.01.0": true, "2025.06.2": true,
		"2025.07": false, "2025.07.1": false, "2025.10.1": false, "2026.01.0": false, "": false,
	} {
		argv := InspectArgs("/var/lib/neo4j/bin/neo4j-admin", version, "s3://b/backups/")
		if slices.Contains(argv, "--show-metadata") != want || !slices.Contains(argv, "--empty") || argv[len(argv)-1] != "s3://b/backups/" {
			t.Errorf("%s: %q", version, argv)
		}
	}
}
