package config_test

import (
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/config"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		opts    []config.Option
		wantErr string
		wantIs  error
		addr    string
		ttl     time.Duration
	}{
		{name: "defaults", addr: "127.0.0.1:8080", ttl: time.Hour},
		{name: "env", env: map[string]string{"HY_HTTP_ADDR": ":1", "HY_TTL": "2m"}, addr: ":1", ttl: 2 * time.Minute},
		{name: "flag wins over env", args: []string{"--http-addr", ":2"}, env: map[string]string{"HY_HTTP_ADDR": ":1"}, addr: ":2", ttl: time.Hour},
		{name: "bad env names variable and flag", env: map[string]string{"HY_TTL": "soon"}, wantErr: "HY_TTL=\"soon\" (flag --ttl)"},
		{name: "bad flag", args: []string{"--ttl", "x"}, wantErr: "invalid value"},
		{name: "operand refused", args: []string{"extra", "--http-addr", ":2"}, wantErr: `unexpected arguments ["extra" "--http-addr" ":2"]`, wantIs: config.ErrOperands},
		{name: "operand allowed", args: []string{"--http-addr", ":2", "FILE"}, opts: []config.Option{config.AllowOperands()}, addr: ":2", ttl: time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			addr := fs.String("http-addr", "127.0.0.1:8080", "")
			ttl := fs.Duration("ttl", time.Hour, "")
			err := config.Parse(fs, tt.args, "HY_", func(k string) string { return tt.env[k] }, tt.opts...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want containing %q", err, tt.wantErr)
				}
				if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
					t.Fatalf("err = %v, want wrapping %v", err, tt.wantIs)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if *addr != tt.addr || *ttl != tt.ttl {
				t.Fatalf("got %q %v, want %q %v", *addr, *ttl, tt.addr, tt.ttl)
			}
		})
	}
}

func TestProblems(t *testing.T) {
	var p config.Problems
	if p.Err() != nil {
		t.Fatal("empty problems must be nil")
	}
	p.Addf("HUIYUAN_KEK: want 32 bytes, got %d", 3)
	if err := p.Err(); err == nil || !strings.Contains(err.Error(), "HUIYUAN_KEK") {
		t.Fatalf("err = %v", err)
	}
}
