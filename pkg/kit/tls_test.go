package kit_test

import (
	"context"
	"crypto/tls"
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

// TestRunMutualTLS: two processes, each one service, call each other over mutual TLS; a
// client without a certificate, or without TLS, is refused.
func TestRunMutualTLS(t *testing.T) {
	c := kittest.NewCerts(t, t.TempDir())
	pool, pair := c.Pool, c.Pair
	tlsFiles := &kit.TLS{CertFile: c.CertFile, KeyFile: c.KeyFile, CAFile: c.CAFile}
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
