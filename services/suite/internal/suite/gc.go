package suite

import (
	"runtime/debug"
	"strconv"
)

// DefaultGCPercent is the suite's default Config.GCPercent. Go's default of 100 collects each
// time the heap doubles; an order allocates some 55 KB across the gRPC stack, the stores, the
// embedded broker and the consumers, so at 100 the collector took a fifth to a quarter of the
// CPU per order. 400 gives that back for a heap up to five times the live one (the whole
// suite's peak resident memory under 64 order clients rose from about 0.7 to 1.3 GB, mapped
// store pages included; docs/benchmarks.md, "Garbage collection").
const DefaultGCPercent = 400

// The bounds of Config.GCPercent: below 50 the collector runs nearly all the time; above 2000
// the heap can grow twenty-fold between collections.
const (
	minGCPercent = 50
	maxGCPercent = 2000
)

// ApplyGC sets the Go runtime's GC percent to c.GCPercent, unless the GOGC environment
// variable is set: the runtime has then read it at start, and an operator who set it meant it.
// It returns the percent in force and whether it came from GOGC. The GC percent belongs to the
// whole process, so only the process's owner (the serve command) calls this, not Start.
func (c *Config) ApplyGC(getenv func(string) string) (percent string, fromGOGC bool) {
	if v := getenv("GOGC"); v != "" {
		return v, true
	}
	debug.SetGCPercent(c.GCPercent)
	return strconv.Itoa(c.GCPercent), false
}
