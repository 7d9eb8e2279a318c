package ids_test

import (
	"testing"

	"github.com/huiyuan-dev/huiyuan/pkg/ids"
)

func TestCanonical(t *testing.T) {
	id := ids.New()
	for _, tc := range []struct{ in, want string }{
		{id, id},
		{"01A232B0-8B30-71E6-8EEE-0D824355334C", "01a232b0-8b30-71e6-8eee-0d824355334c"},
		{"01a232B0-8b30-71E6-8eee-0D824355334c", "01a232b0-8b30-71e6-8eee-0d824355334c"},
		{"M1", "M1"}, // not an id of New's form: as it is
		{"01A232B0-8B30-71E6-8EEE-0D824355334CX", "01A232B0-8B30-71E6-8EEE-0D824355334CX"},
		{"01A232B08B3071E68EEE0D824355334C", "01A232B08B3071E68EEE0D824355334C"}, // no dashes: not New's form
		{"", ""},
	} {
		if got := ids.Canonical(tc.in); got != tc.want {
			t.Errorf("Canonical(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
