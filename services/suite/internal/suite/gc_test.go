package suite_test

import (
	"flag"
	"runtime/debug"
	"testing"

	"github.com/huiyuan-dev/huiyuan/services/suite/internal/suite"
)

// TestApplyGC: --gc-percent (default DefaultGCPercent) reaches the runtime unless GOGC is set,
// which the runtime has read itself and which then wins. Not parallel: the GC percent belongs
// to the whole process.
func TestApplyGC(t *testing.T) {
	before := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(before) })
	tests := []struct {
		name         string
		args         []string
		gogc         string
		wantPercent  string
		wantFromGOGC bool
		wantRuntime  int
	}{
		{name: "default", wantPercent: "400", wantRuntime: suite.DefaultGCPercent},
		{name: "flag", args: []string{"--gc-percent=150"}, wantPercent: "150", wantRuntime: 150},
		{name: "gogc_wins", args: []string{"--gc-percent=150"}, gogc: "250", wantPercent: "250", wantFromGOGC: true, wantRuntime: 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			debug.SetGCPercent(100)
			env := func(k string) string {
				if k == "GOGC" {
					return tt.gogc
				}
				return ""
			}
			cfg := suite.NewConfig()
			if err := cfg.Parse(flag.NewFlagSet("test", flag.ContinueOnError), tt.args, env); err != nil {
				t.Fatal(err)
			}
			percent, fromGOGC := cfg.ApplyGC(env)
			if percent != tt.wantPercent || fromGOGC != tt.wantFromGOGC {
				t.Fatalf("ApplyGC = %q, %v; want %q, %v", percent, fromGOGC, tt.wantPercent, tt.wantFromGOGC)
			}
			if got := debug.SetGCPercent(100); got != tt.wantRuntime {
				t.Fatalf("the runtime's GC percent is %d, want %d", got, tt.wantRuntime)
			}
		})
	}
}
