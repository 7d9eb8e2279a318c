package grpcapi

import (
	"slices"
	"testing"
)

func TestProtoPaths(t *testing.T) {
	tests := []struct {
		in, want []string
	}{
		{in: []string{"displayName", "tags"}, want: []string{"display_name", "tags"}},
		{in: []string{"display_name", "storeId"}, want: []string{"display_name", "store_id"}},
		{in: []string{"specialNeeds.allergies"}, want: []string{"special_needs.allergies"}},
		{in: []string{"shoeSize", "specialNeeds.shoeSize", "*", ""}, want: []string{"shoeSize", "special_needs.shoeSize", "*", ""}},
	}
	for _, tt := range tests {
		if got := protoPaths(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("protoPaths(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
