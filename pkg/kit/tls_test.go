package kit_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/huiyuan-dev/huiyuan/pkg/kit"
	"github.com/huiyuan-dev/huiyuan/pkg/kittest"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
)

// certs writes a CA and a certificate it issued for 127.0.0.1 (server and client use) into dir.
func certs(t *testing.T, dir string) (caFile, certFile, keyFile string, pool *x509.CertPool, pair tls.Certificate) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "huiyuan test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "service"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	write := func(name, typ string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	caFile, certFile, keyFile = write("ca.pem", "CERTIFICATE", caDER), write("cert.pem", "CERTIFICATE", der), write("key.pem", "EC PRIVATE KEY", keyDER)
	pool = x509.NewCertPool()
	pool.AddCert(ca)
	pair, err = tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	return caFile, certFile, keyFile, pool, pair
}

// TestRunMutualTLS: two processes, each one service, call each other over mutual TLS; a
// client without a certificate, or without TLS, is refused.
func TestRunMutualTLS(t *testing.T) {
	caFile, certFile, keyFile, pool, pair := certs(t, t.TempDir())
	tlsFiles := &kit.TLS{CertFile: certFile, KeyFile: keyFile, CAFile: caFile}
	keys := kittest.NewKeys()
	list := []kit.Service{echo{name: "front", calls: "back"}, echo{name: "back"}}
	secret := make([]byte, 32)
	back, err := kit.Run(context.Background(), kit.Config{Target: "back", DataDir: t.TempDir(), GRPCAddr: "127.0.0.1:0",
		Keys: keys, ServiceSecret: secret, TLS: tlsFiles}, list)
	if err != nil {
		t.Fatal(err)
	}
	defer back.Close(context.Background())
	front, err := kit.Run(context.Background(), kit.Config{Target: "front", DataDir: t.TempDir(), GRPCAddr: "127.0.0.1:0",
		Keys: keys, ServiceSecret: secret, TLS: tlsFiles, Addrs: map[string]string{"back": back.GRPCAddr()}}, list)
	if err != nil {
		t.Fatal(err)
	}
	defer front.Close(context.Background())

	ctx := kittest.Bearer(context.Background(), keys.Key("acme", iamv1.Role_OPERATOR))
	call := func(creds credentials.TransportCredentials) (string, error) {
		conn, err := grpc.NewClient(front.GRPCAddr(), grpc.WithTransportCredentials(creds))
		if err != nil {
			return "", err
		}
		defer conn.Close()
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		out := &wrapperspb.StringValue{}
		err = conn.Invoke(cctx, "/"+api("front")+"/Say", wrapperspb.String("over TLS"), out)
		return out.GetValue(), err
	}
	got, err := call(credentials.NewTLS(&tls.Config{RootCAs: pool, Certificates: []tls.Certificate{pair}}))
	if err != nil || got != "acme INTERNAL over TLS" {
		t.Fatalf("mutual TLS call through both processes: %q %v", got, err)
	}
	if _, err := call(credentials.NewTLS(&tls.Config{RootCAs: pool})); err == nil {
		t.Fatal("a client without a certificate was accepted")
	}
	if _, err := call(insecure.NewCredentials()); err == nil {
		t.Fatal("a plaintext client was accepted")
	}
}
