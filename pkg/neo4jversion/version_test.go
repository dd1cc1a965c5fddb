package neo4jversion

import "testing"

func TestParseAndCalendar(t *testing.T) {
	for _, tc := range []struct {
		in       string
		ok       bool
		calendar bool
		str      string
	}{
		{"5.26", true, false, "5.26"},
		{"5.26.30", true, false, "5.26.30"},
		{"2025.01", true, true, "2025.01"},
		{"2025.10.1", true, true, "2025.10.1"},
		{"5.26.x", false, false, ""},
		{"v5.26", false, false, ""},
	} {
		v, err := Parse(tc.in)
		if (err == nil) != tc.ok {
			t.Fatalf("Parse(%q): %v", tc.in, err)
		}
		if err == nil && (v.Calendar() != tc.calendar || v.String() != tc.str) {
			t.Errorf("Parse(%q) = %+v (calendar %v, %s)", tc.in, v, v.Calendar(), v)
		}
	}
}

func TestIsCalendarReadsWhatServersAndConfigsWrite(t *testing.T) {
	for in, want := range map[string]bool{
		"5.26.0": false, "5.26.x": false, "2025.01.0": true, "2026.02": true, "2025.10.1-SNAPSHOT": true,
		"": false, "enterprise": false, "4.4.30": false,
	} {
		if got := IsCalendar(in); got != want {
			t.Errorf("IsCalendar(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestLess(t *testing.T) {
	a, _ := Parse("5.26.30")
	b, _ := Parse("2025.01")
	if !a.Less(b) || b.Less(a) {
		t.Fatal("5.26.30 sorts before 2025.01")
	}
}

func TestAtLeast(t *testing.T) {
	for _, tc := range []struct {
		v            string
		major, minor int
		want         bool
	}{
		{"5.26.30", 5, 24, true}, {"5.23.0", 5, 24, false}, {"2025.04.0", 2025, 4, true}, {"2025.03.1", 2025, 4, false},
		{"2025.10.1-enterprise", 2025, 4, true}, {"2026.01", 2025, 4, true}, {"5", 5, 0, false}, {"x.y", 1, 0, false},
	} {
		if got := AtLeast(tc.v, tc.major, tc.minor); got != tc.want {
			t.Errorf("AtLeast(%q, %d, %d) = %v", tc.v, tc.major, tc.minor, got)
		}
	}
}
