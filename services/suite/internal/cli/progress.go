package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// progress draws a progress bar on a terminal: how far into the file the import is, what it
// recorded and refused, and the rate. Elsewhere (a pipe, a log file) it draws nothing.
type progress struct {
	w     io.Writer
	on    bool
	size  int64
	now   func() time.Time
	start time.Time
	last  time.Time
	drawn bool
}

func newProgress(w io.Writer, size int64, now func() time.Time) *progress {
	p := &progress{w: w, size: size, now: now, start: now()}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.on = true
		}
	}
	return p
}

// update redraws the bar, at most ten times a second.
func (p *progress) update(read, recorded, failed int64) {
	if !p.on {
		return
	}
	now := p.now()
	if p.drawn && now.Sub(p.last) < 100*time.Millisecond {
		return
	}
	p.last, p.drawn = now, true
	fmt.Fprint(p.w, "\r"+bar(read, p.size, recorded, failed, now.Sub(p.start)))
}

// clear erases the bar so a line can be printed.
func (p *progress) clear() {
	if p.on && p.drawn {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.drawn = false
	}
}

// done ends the bar's line.
func (p *progress) done() {
	if p.on && p.drawn {
		fmt.Fprintln(p.w)
	}
}

// bar renders the progress line.
func bar(read, size, recorded, failed int64, elapsed time.Duration) string {
	const width = 30
	frac := 1.0
	if size > 0 {
		frac = min(float64(read)/float64(size), 1)
	}
	filled := int(frac * width)
	rate := 0.0
	if s := elapsed.Seconds(); s > 0 {
		rate = float64(recorded+failed) / s
	}
	return fmt.Sprintf("[%s%s] %3.0f%%  %d recorded, %d refused, %.0f orders/s",
		strings.Repeat("=", filled), strings.Repeat(" ", width-filled), frac*100, recorded, failed, rate)
}
