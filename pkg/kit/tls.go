package kit

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// TLS names the files of the process's TLS configuration.
type TLS struct {
	// CertFile and KeyFile are the process's certificate (PEM) and its key: gRPC and the JSON
	// edge serve TLS with them, and with a CA they are the client certificate this process
	// presents to the others.
	CertFile, KeyFile string
	// CAFile, when set, holds the CA certificates (PEM) the services' certificates are issued
	// by: servers then require and verify client certificates (mutual TLS) and clients verify
	// servers against it. Without it, clients verify against the system roots.
	CAFile string
}

// tlsConfigs are the loaded server and client configurations.
type tlsConfigs struct {
	srv, cli *tls.Config
}

func (t TLS) load() (*tlsConfigs, error) {
	if t.CertFile == "" || t.KeyFile == "" {
		return nil, errors.New("HUIYUAN_TLS_CERT and HUIYUAN_TLS_KEY: both are required for TLS")
	}
	cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("HUIYUAN_TLS_CERT/HUIYUAN_TLS_KEY: %w", err)
	}
	srv := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	cli := &tls.Config{MinVersion: tls.VersionTLS12}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("HUIYUAN_TLS_CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("HUIYUAN_TLS_CA: %s holds no PEM certificate", t.CAFile)
		}
		srv.ClientCAs, srv.ClientAuth = pool, tls.RequireAndVerifyClientCert
		cli.RootCAs, cli.Certificates = pool, []tls.Certificate{cert}
	}
	return &tlsConfigs{srv: srv, cli: cli}, nil
}

// server is the server configuration (nil without TLS); each use gets its own copy.
func (c *tlsConfigs) server() *tls.Config {
	if c == nil {
		return nil
	}
	return c.srv.Clone()
}

// edge is the JSON edge's HTTPS configuration: the server certificate, never a client
// certificate demand (browsers and tills have none).
func (c *tlsConfigs) edge() *tls.Config {
	if c == nil {
		return nil
	}
	e := c.srv.Clone()
	e.ClientAuth, e.ClientCAs = tls.NoClientCert, nil
	return e
}

// client is the configuration for connections to other processes (nil without TLS).
func (c *tlsConfigs) client() *tls.Config {
	if c == nil {
		return nil
	}
	return c.cli.Clone()
}
