package member_test

import (
	"testing"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/services/member/internal/member"
)

func TestParseFilterErrors(t *testing.T) {
	for _, in := range []string{
		"status",
		"status =",
		"status = ",
		"status = DELETED",
		"status < ACTIVE",
		"color = red",
		"tag = \"vip",
		"tag = \"v\\ip\"",
		"tag = has space\"",
		"tag = \"two words\"",
		"status = ACTIVE OR status = FROZEN",
		"status = ACTIVE and tag = vip",
		"status = ACTIVE AND",
		"status = ACTIVE tag = vip",
		"NOT status = ACTIVE",
		"create_time >= yesterday",
		"create_time >= 2026-13-01",
		"channel = WEB",
		// One spelling of enum values (AIP-126): no prefix, no other case, no zero value.
		"status = MEMBER_STATUS_ACTIVE",
		"status = active",
		"status = Active",
		"status = STATUS_UNSPECIFIED",
		"status = UNSPECIFIED",
		"channel = CHANNEL_STORE",
		"channel = store",
		"channel = CHANNEL_UNSPECIFIED",
		"channel = 2",
		// JSON names are the resource's, not any camel case.
		"store_Id = s1",
		"createtime >= 2026-01-01",
		"storeID = s1",
		"store_id = \"a b\"",
		"= ACTIVE",
		"status == ACTIVE",
	} {
		_, err := member.ParseFilter(in)
		if apperr.CodeOf(err) != apperr.Invalid {
			t.Errorf("ParseFilter(%q) error = %v, want Invalid", in, err)
			continue
		}
		var ae *apperr.Error
		if !asAppErr(err, &ae) || len(ae.Violations) != 1 || ae.Violations[0].Field != "filter" {
			t.Errorf("ParseFilter(%q) = %#v, want one violation on filter", in, err)
		}
	}
}

func TestFilterMatch(t *testing.T) {
	reg := time.Date(2026, 2, 1, 10, 0, 0, 0, time.UTC)
	m := &member.Member{
		Status: member.StatusActive, Channel: member.ChannelStore, StoreID: "sh-001", Tier: "gold",
		Tags: []string{"vip", "region:east"}, CreateTime: reg,
	}
	for _, tc := range []struct {
		filter string
		want   bool
	}{
		{"", true},
		{"   ", true},
		{"status = ACTIVE", true},
		{"status=ACTIVE", true},
		{`status = "ACTIVE"`, true},
		{"status != ACTIVE", false},
		{"status = FROZEN", false},
		{"channel = STORE", true},
		{"channel = ONLINE", false},
		{"channel != THIRD_PARTY", true},
		{"status = ERASED", false},
		{"storeId = sh-001", true},
		{`storeId != "sh-001"`, false},
		{"createTime >= 2026-02-01", true},
		{"createTime < 2026-02-01T10:00:00Z", false},
		{"status = ACTIVE AND storeId = sh-001 AND createTime >= 2026-01-01 AND channel = STORE", true},
		{"tier = gold", true},
		{`tier = "silver"`, false},
		{"tier != silver", true},
		{"tag = vip", true},
		{"tags:VIP", true},
		{"tag = region:east", true},
		{`tag = "new"`, false},
		{"tag != new", true},
		{"tag != vip", false},
		{"store_id = sh-001", true},
		{`store_id = "sh-002"`, false},
		{"create_time >= 2026-02-01", true},
		{"create_time > 2026-02-01T10:00:00Z", false},
		{"create_time >= \"2026-02-01T18:00:00+08:00\"", true},
		{"create_time < 2026-02-02", true},
		{"create_time <= 2026-01-31", false},
		{"create_time = 2026-02-01T10:00:00Z", true},
		{"create_time != 2026-02-01T10:00:00Z", false},
		{"status = ACTIVE AND tag = vip AND channel = STORE", true},
		{"status = ACTIVE AND tag = new", false},
		{"status = ACTIVE\tAND\ntag = vip", true},
	} {
		f, err := member.ParseFilter(tc.filter)
		if err != nil {
			t.Errorf("ParseFilter(%q): %v", tc.filter, err)
			continue
		}
		if got := f.Match(m); got != tc.want {
			t.Errorf("%q.Match = %v, want %v", tc.filter, got, tc.want)
		}
		g, err := member.ParseFilter(f.String())
		if err != nil || g.String() != f.String() {
			t.Errorf("round trip of %q via %q: %q, %v", tc.filter, f.String(), g.String(), err)
		}
	}
}

func TestParseFilterLimits(t *testing.T) {
	long := "tag = a"
	for i := 0; i < member.MaxFilterConditions; i++ {
		long += " AND tag = a"
	}
	if _, err := member.ParseFilter(long); apperr.CodeOf(err) != apperr.Invalid {
		t.Errorf("%d conditions accepted", member.MaxFilterConditions+1)
	}
	huge := make([]byte, member.MaxFilterLength+1)
	for i := range huge {
		huge[i] = ' '
	}
	if _, err := member.ParseFilter(string(huge)); apperr.CodeOf(err) != apperr.Invalid {
		t.Errorf("filter longer than %d accepted", member.MaxFilterLength)
	}
}

// FuzzParseFilter checks that no input panics and that every accepted filter survives a round
// trip through its canonical form unchanged.
func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{"status = ACTIVE", `tag = "vip" AND create_time >= 2026-01-01`, "tags:x", "storeId = s1 AND channel = STORE"} {
		f.Add(s)
	}
	probe := &member.Member{Status: member.StatusFrozen, Tags: []string{"vip"}, CreateTime: time.Unix(1_800_000_000, 0).UTC()}
	f.Fuzz(func(t *testing.T, s string) {
		flt, err := member.ParseFilter(s)
		if err != nil {
			if apperr.CodeOf(err) != apperr.Invalid {
				t.Fatalf("ParseFilter(%q) error %v is not Invalid", s, err)
			}
			return
		}
		canon := flt.String()
		again, err := member.ParseFilter(canon)
		if err != nil {
			t.Fatalf("canonical form %q of %q does not parse: %v", canon, s, err)
		}
		if again.String() != canon {
			t.Fatalf("round trip changed %q to %q", canon, again.String())
		}
		if flt.Match(probe) != again.Match(probe) {
			t.Fatalf("round trip of %q changed its meaning", s)
		}
	})
}
