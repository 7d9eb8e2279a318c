package suite_test

import (
	"flag"
	"io"
	"strings"
	"testing"

	"github.com/huiyuan-dev/huiyuan/services/suite/internal/suite"
)

// TestConfigNATSCredsNeedURL: HUIYUAN_NATS_CREDS without HUIYUAN_NATS_URL is a configuration
// error naming both, not credentials silently ignored by a process that embeds a broker of its
// own.
func TestConfigNATSCredsNeedURL(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr bool
	}{
		{"creds without a URL", []string{"--service=iam", "--nats-creds=/etc/huiyuan/iam.creds"}, true},
		{"creds without a URL, one process", []string{"--nats-creds=/etc/huiyuan/core.creds"}, true},
		{"creds with a URL", []string{"--service=iam", "--nats-creds=/etc/huiyuan/iam.creds", "--nats-url=nats://n1:4222"}, false},
		{"a URL without creds", []string{"--nats-url=nats://n1:4222"}, false},
		{"neither", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			err := suite.NewConfig().Parse(fs, tt.args, func(string) string { return "" })
			named := err != nil && strings.Contains(err.Error(), "HUIYUAN_NATS_CREDS") && strings.Contains(err.Error(), "HUIYUAN_NATS_URL")
			if named != tt.wantErr || (err != nil && !tt.wantErr) {
				t.Fatalf("Parse(%q) = %v, want an error naming both settings: %v", tt.args, err, tt.wantErr)
			}
		})
	}
}
