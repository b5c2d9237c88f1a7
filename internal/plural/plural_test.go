package plural

import "testing"

func TestOf(t *testing.T) {
	for _, tt := range []struct {
		n    int64
		want string
	}{
		{0, "0 rows repeat"}, {1, "1 row repeats"}, {2, "2 rows repeat"}, {-1, "-1 rows repeat"},
	} {
		if got := Of(tt.n, "row repeats", "rows repeat"); got != tt.want {
			t.Errorf("Of(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
	if got := Of(1, "payload", "payloads"); got != "1 payload" {
		t.Errorf("Of(int 1) = %q", got)
	}
}
