package pii_test

import (
	"encoding/hex"
	"errors"
	"testing"

	"github.com/huiyuan-dev/huiyuan/pkg/pii"
)

// fuzzWrapped is a data key for scope "fuzz/scope" wrapped under testKEK; the seeds in
// testdata/fuzz/FuzzOpen were sealed with it.
const fuzzWrapped = "01448fb19711ad737a396332e836928f20539cb84f9bfb46f92fdc54e2fc9e89bca408ba6418a655dabc8052c57193381bbec775b0ff062abad97eda88"

func fuzzDataKey(f *testing.F) (*pii.Keyring, *pii.DataKey) {
	f.Helper()
	k := keyring(f, testKEK)
	w, err := hex.DecodeString(fuzzWrapped)
	if err != nil {
		f.Fatal(err)
	}
	dk, err := k.OpenDataKey("fuzz/scope", w)
	if err != nil {
		f.Fatal(err)
	}
	return k, dk
}

// FuzzOpen feeds arbitrary ciphertexts and AAD to DataKey.Open: it must never panic, must
// fail with ErrDecrypt, and whatever it accepts must stop opening when any bit changes.
func FuzzOpen(f *testing.F) {
	_, dk := fuzzDataKey(f)
	f.Fuzz(func(t *testing.T, ct, aad []byte) {
		pt, err := dk.Open(ct, aad)
		if err != nil {
			if !errors.Is(err, pii.ErrDecrypt) {
				t.Fatalf("error %v does not wrap ErrDecrypt", err)
			}
			return
		}
		for i := range len(ct) * 8 {
			if _, err := dk.Open(flipBit(ct, i), aad); err == nil {
				t.Fatalf("opened with bit %d flipped", i)
			}
		}
		again, err := dk.Seal(pt, aad)
		if err != nil {
			t.Fatal(err)
		}
		if back, err := dk.Open(again, aad); err != nil || string(back) != string(pt) {
			t.Fatalf("reseal round trip: %q, %v", back, err)
		}
	})
}

// FuzzOpenDataKey feeds arbitrary scopes and wrapped keys to OpenDataKey: it must never panic,
// and a key it accepts must not open under a flipped bit or another scope.
func FuzzOpenDataKey(f *testing.F) {
	k, _ := fuzzDataKey(f)
	f.Fuzz(func(t *testing.T, scope string, wrapped []byte) {
		dk, err := k.OpenDataKey(scope, wrapped)
		if err != nil {
			if !errors.Is(err, pii.ErrDecrypt) || dk != nil {
				t.Fatalf("OpenDataKey = %v, %v", dk, err)
			}
			return
		}
		for i := range len(wrapped) * 8 {
			if _, err := k.OpenDataKey(scope, flipBit(wrapped, i)); err == nil {
				t.Fatalf("opened with bit %d flipped", i)
			}
		}
		if _, err := k.OpenDataKey(scope+"x", wrapped); err == nil {
			t.Fatal("opened under another scope")
		}
	})
}

func flipBit(b []byte, i int) []byte {
	c := append([]byte(nil), b...)
	c[i/8] ^= 1 << (i % 8)
	return c
}
