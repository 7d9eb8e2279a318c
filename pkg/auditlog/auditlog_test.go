package auditlog_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/auditlog"
)

func TestConcurrentWritesAreWholeLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	a, err := auditlog.Open(path, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				if _, err := fmt.Fprintf(a, "{\"g\":%d,\"i\":%d}\n", g, i); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n"))
	if len(lines) != 16*200 {
		t.Fatalf("%d lines, want %d", len(lines), 16*200)
	}
	for _, l := range lines {
		if !bytes.HasPrefix(l, []byte(`{"g":`)) || !bytes.HasSuffix(l, []byte("}")) {
			t.Fatalf("torn line %q", l)
		}
	}
	if _, err := a.Write([]byte("late\n")); err == nil {
		t.Fatal("write after close succeeded")
	}
}

func TestFlushedWithinInterval(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	a, err := auditlog.Open(path, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, err := a.Write([]byte("one\n")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, _ := os.ReadFile(path)
		if string(b) == "one\n" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("record not on disk after the flush interval: %q", b)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestAppendsToExisting(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	if err := os.WriteFile(path, []byte("old\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := auditlog.Open(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Write([]byte("new\n")); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "old\nnew\n" {
		t.Fatalf("file %q", b)
	}
}
