package suite_test

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// metric returns the value of the sample named series (name and labels, as the text format
// spells them) in a scrape, and whether it is there.
func metric(scrape []byte, series string) (float64, bool) {
	s := bufio.NewScanner(bytes.NewReader(scrape))
	for s.Scan() {
		name, value, ok := strings.Cut(s.Text(), " ")
		if ok && name == series {
			v, err := strconv.ParseFloat(value, 64)
			return v, err == nil
		}
	}
	return 0, false
}

// scrape GETs the Prometheus text at url (no key) and fails unless it answers 200.
func scrape(tb testing.TB, url string) []byte {
	tb.Helper()
	resp, err := http.Get(url)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		tb.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return raw
}

// TestStoreMetrics: /metrics shows each store's group commits (their time and how many writes
// each held) and each outbox's backlog, back at 0 once the relay has published an order's
// events (pkg/eventlog's tests show it counting).
func TestStoreMetrics(t *testing.T) {
	r := startSuite(t, "--metrics-addr=127.0.0.1:0")
	edge := "http://" + r.HTTPAddr() + "/metrics"
	member := r.newMember(t, adminKey)
	r.call(t, "POST", "/v1/orders", adminKey, map[string]any{"requestId": "metrics-1",
		"order": map[string]any{"id": "metrics-1", "memberId": member, "amountMinor": "1000", "currency": "CNY"}}).must(t, 200)
	raw := scrape(t, edge)
	for _, store := range []string{"member", "loyalty"} {
		for _, series := range []string{"huiyuan_store_commit_seconds_count", "huiyuan_store_commit_writes_count", "huiyuan_store_commit_writes_sum"} {
			if v, ok := metric(raw, series+`{store="`+store+`"}`); !ok || v < 1 {
				t.Errorf("%s of %s: %v (there: %v)", series, store, v, ok)
			}
		}
	}
	if v, ok := metric(raw, `huiyuan_store_commit_seconds_sum{store="loyalty"}`); !ok || v <= 0 {
		t.Errorf("loyalty's commits took %v s", v)
	}
	// The same metrics on a listener of their own, without a key, and nothing else there.
	own := scrape(t, "http://"+r.MetricsAddr()+"/metrics")
	if v, ok := metric(own, `huiyuan_store_commit_writes_count{store="loyalty"}`); !ok || v < 1 {
		t.Fatalf("the metrics listener: loyalty's commits %v (%v)", v, ok)
	}
	for _, path := range []string{"/", "/v1/members", "/debug/pprof/"} {
		resp, err := http.Get("http://" + r.MetricsAddr() + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("GET %s on the metrics listener: %d", path, resp.StatusCode)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		raw = scrape(t, edge)
		loyalty, okL := metric(raw, `huiyuan_outbox_backlog_events{service="loyalty"}`)
		members, okM := metric(raw, `huiyuan_outbox_backlog_events{service="member"}`)
		if okL && okM && loyalty == 0 && members == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("outbox backlog: loyalty %v (%v), member %v (%v), 10 s after the order", loyalty, okL, members, okM)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
