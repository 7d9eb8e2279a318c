package natsx_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/huiyuan-dev/huiyuan/pkg/natsx"
	"github.com/huiyuan-dev/huiyuan/pkg/natsx/natstest"
)

func TestStartEmbedded(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cfg     func(t *testing.T) natsx.EmbeddedConfig
		wantErr bool
	}{
		{name: "no_store_dir", cfg: func(*testing.T) natsx.EmbeddedConfig { return natsx.EmbeddedConfig{DontListen: true} }, wantErr: true},
		{name: "in_process", cfg: func(t *testing.T) natsx.EmbeddedConfig {
			return natsx.EmbeddedConfig{DontListen: true, StoreDir: t.TempDir(), ServerName: "t1"}
		}},
		{name: "random_port", cfg: func(t *testing.T) natsx.EmbeddedConfig {
			return natsx.EmbeddedConfig{Host: "127.0.0.1", Port: -1, StoreDir: t.TempDir()}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ns, err := natsx.StartEmbedded(tt.cfg(t))
			if tt.wantErr {
				if err == nil {
					ns.Shutdown()
					t.Fatal("StartEmbedded succeeded, want error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
			var nc *nats.Conn
			if ns.Addr() == nil {
				nc, err = natsx.ConnectInProcess(ns)
			} else {
				nc, err = natsx.Connect(ns.ClientURL(), natsx.WithLogger(nil))
			}
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			js, err := jetstream.New(nc)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := natsx.EnsureStream(context.Background(), js, "member"); err != nil {
				t.Fatalf("EnsureStream: %v", err)
			}
		})
	}
}

func TestStartEmbeddedPortTaken(t *testing.T) {
	t.Parallel()
	first, err := natsx.StartEmbedded(natsx.EmbeddedConfig{Host: "127.0.0.1", Port: -1, StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { first.Shutdown(); first.WaitForShutdown() })
	port := first.Addr().(*net.TCPAddr).Port
	second, err := natsx.StartEmbedded(natsx.EmbeddedConfig{Host: "127.0.0.1", Port: port, StoreDir: t.TempDir(),
		ReadyTimeout: 300 * time.Millisecond})
	if err == nil {
		second.Shutdown()
		t.Fatal("a second server started on a taken port")
	}
}

func TestConnectInProcessNil(t *testing.T) {
	t.Parallel()
	if _, err := natsx.ConnectInProcess(nil); err == nil {
		t.Fatal("ConnectInProcess(nil) succeeded")
	}
}

func TestValidateService(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in string
		ok bool
	}{
		{"member", true}, {"loyalty2", true}, {"point_ledger", true},
		{"", false}, {"Member", false}, {"2fa", false}, {"a.b", false}, {"a*", false}, {"a>", false},
		{"a-b", false}, {"a__b", false}, {"a_", false}, {"_a", false}, {"abcdefghijabcdefghijabcdefghijabc", false},
	}
	for _, tt := range tests {
		if err := natsx.ValidateService(tt.in); (err == nil) != tt.ok {
			t.Errorf("ValidateService(%q) = %v, want ok=%v", tt.in, err, tt.ok)
		}
	}
}

func TestEnsureStream(t *testing.T) {
	t.Parallel()
	_, nc := natstest.Run(t)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := natsx.EnsureStream(ctx, js, "Bad.Name"); err == nil {
		t.Fatal("EnsureStream accepted an invalid service")
	}
	for range 2 { // idempotent
		s, err := natsx.EnsureStream(ctx, js, "loyalty", natsx.WithMaxAge(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		cfg := s.CachedInfo().Config
		if cfg.Name != "LOYALTY" || len(cfg.Subjects) != 1 || cfg.Subjects[0] != "huiyuan.*.loyalty.v1.>" ||
			cfg.Storage != jetstream.FileStorage || cfg.Duplicates != 2*time.Minute || cfg.MaxAge != time.Hour ||
			cfg.Retention != jetstream.LimitsPolicy {
			t.Fatalf("unexpected stream config %+v", cfg)
		}
	}
}

// TestExpectedLastSubjectSequenceWildcard pins the broker behaviour the event relay relies on:
// Nats-Expected-Last-Subject-Sequence checked against the last message of a wildcard filter
// (one tenant's subjects), and a last-message lookup by that wildcard.
func TestExpectedLastSubjectSequenceWildcard(t *testing.T) {
	t.Parallel()
	_, nc := natstest.Run(t)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s, err := natsx.EnsureStream(ctx, js, "member")
	if err != nil {
		t.Fatal(err)
	}
	const acme, other = "huiyuan.acme.member.v1.>", "huiyuan.other.member.v1.>"
	pub := func(subject string, expect uint64, filter string) (*jetstream.PubAck, error) {
		return js.Publish(ctx, subject, []byte("x"), jetstream.WithExpectLastSequenceForSubject(expect, filter))
	}
	a1, err := pub("huiyuan.acme.member.v1.registered", 0, acme)
	if err != nil {
		t.Fatalf("first publish expecting 0: %v", err)
	}
	if _, err := pub("huiyuan.other.member.v1.registered", 0, other); err != nil {
		t.Fatalf("other tenant's first publish: %v", err)
	}
	// Another subject of the same tenant: the check covers the whole filter.
	a2, err := pub("huiyuan.acme.member.v1.updated", a1.Sequence, acme)
	if err != nil {
		t.Fatalf("publish expecting the tenant's last: %v", err)
	}
	_, err = pub("huiyuan.acme.member.v1.updated", a1.Sequence, acme)
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode != jetstream.JSErrCodeStreamWrongLastSequence {
		t.Fatalf("stale expectation: err = %v, want wrong last sequence", err)
	}
	last, err := s.GetLastMsgForSubject(ctx, acme)
	if err != nil {
		t.Fatal(err)
	}
	if last.Sequence != a2.Sequence {
		t.Fatalf("last for %s = %d, want %d", acme, last.Sequence, a2.Sequence)
	}
	if _, err := s.GetLastMsgForSubject(ctx, "huiyuan.none.member.v1.>"); !errors.Is(err, jetstream.ErrMsgNotFound) {
		t.Fatalf("last for an unknown tenant: err = %v, want ErrMsgNotFound", err)
	}
}

func TestServerRestart(t *testing.T) {
	t.Parallel()
	srv := natstest.Start(t)
	nc := srv.Connect()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := natsx.EnsureStream(ctx, js, "coupon"); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "huiyuan.acme.coupon.v1.claimed", []byte("x")); err != nil {
		t.Fatal(err)
	}
	msgs := func() (uint64, error) {
		// A request caught by the restart is lost: give each its own short timeout.
		ctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		s, err := js.Stream(ctx, "COUPON")
		if err != nil {
			return 0, err
		}
		return s.CachedInfo().State.Msgs, nil
	}
	srv.Restart(false)
	waitFor(t, func() bool { n, err := msgs(); return err == nil && n == 1 })
	srv.Restart(true)
	waitFor(t, func() bool { _, err := msgs(); return errors.Is(err, jetstream.ErrStreamNotFound) })
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
