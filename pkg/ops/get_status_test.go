package ops

import "testing"

func TestStatusCountsTasks(t *testing.T) {
	up := Member{Desired: 1, Running: 1}
	down := Member{Desired: 1, Running: 0}
	off := Member{Desired: 0}
	for _, tc := range []struct {
		stacks  string
		members []Member
		want    string
	}{
		{"ready", []Member{up, up, up}, "ready"},
		{"ready", []Member{up, down, up}, "degraded"},
		{"ready", []Member{off, off, off}, "stopped"},
		{"ready", []Member{off, up, up}, "degraded"},
		{"creating", []Member{down, down, down}, "creating"},
		{"failed", []Member{up, up, up}, "failed"},
	} {
		if got := withTasks(tc.stacks, tc.members); got != tc.want {
			t.Errorf("stacks %s, members %+v: got %s, want %s", tc.stacks, tc.members, got, tc.want)
		}
	}
}
