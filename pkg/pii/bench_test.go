package pii_test

import (
	"testing"
)

func BenchmarkDataKey(b *testing.B) {
	k := keyring(b, testKEK)
	wrapped, dk, err := k.NewDataKey("acme/members/0190f0e0-0000-7000-8000-000000000000")
	if err != nil {
		b.Fatal(err)
	}
	pt, aad := []byte("+8613800138000"), []byte("acme/members/0190f0e0/phone")
	ct, err := dk.Seal(pt, aad)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("Seal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := dk.Seal(pt, aad); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Open", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := dk.Open(ct, aad); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("OpenDataKey", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := k.OpenDataKey("acme/members/0190f0e0-0000-7000-8000-000000000000", wrapped); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("NewDataKey", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := k.NewDataKey("acme/members/0190f0e0-0000-7000-8000-000000000000"); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkBlindIndex(b *testing.B) {
	k := keyring(b, testKEK)
	b.ReportAllocs()
	for b.Loop() {
		_ = k.BlindIndex("acme", "email", "alice.zhang@example.com")
	}
}
