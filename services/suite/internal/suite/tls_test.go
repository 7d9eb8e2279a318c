package suite_test

import (
	"crypto/tls"
	"net/http"
	"testing"
	"time"

	"github.com/huiyuan-dev/huiyuan/pkg/kittest"
)

// TestEdgeOverTLS: with a certificate and a CA the JSON edge serves HTTPS (HTTP/2 negotiated,
// no client certificate demanded of browsers), and plain HTTP is refused.
func TestEdgeOverTLS(t *testing.T) {
	c := kittest.NewCerts(t, t.TempDir())
	r := startSuite(t, "--tls-cert="+c.CertFile, "--tls-key="+c.KeyFile, "--tls-ca="+c.CAFile)
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: c.Pool}, ForceAttemptHTTP2: true}}
	resp, err := client.Get("https://" + r.HTTPAddr() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.ProtoMajor != 2 {
		t.Fatalf("status %d over %s", resp.StatusCode, resp.Proto)
	}
	if resp, err := (&http.Client{Timeout: 2 * time.Second}).Get("http://" + r.HTTPAddr() + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Fatal("plain HTTP answered on the TLS edge")
		}
	}
}

// TestEdgeH2C: without TLS the JSON edge speaks HTTP/2 in clear text to clients that know it
// does (prior knowledge), besides keep-alive HTTP/1.1.
func TestEdgeH2C(t *testing.T) {
	r := startSuite(t)
	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Protocols: p}}
	resp, err := client.Get("http://" + r.HTTPAddr() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.ProtoMajor != 2 {
		t.Fatalf("status %d over %s", resp.StatusCode, resp.Proto)
	}
}
