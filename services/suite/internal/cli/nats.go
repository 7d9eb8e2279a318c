package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
	"github.com/huiyuan-dev/huiyuan/pkg/config"
	"github.com/huiyuan-dev/huiyuan/pkg/ids"
	"github.com/huiyuan-dev/huiyuan/pkg/kit"
	"github.com/huiyuan-dev/huiyuan/pkg/natsx"
	"github.com/huiyuan-dev/huiyuan/services/suite/internal/suite"
)

// brokerGrants is what each service of the suite does on the broker (kit.Grant: its own
// events, and the producers it consumes through a durable consumer named after it).
func brokerGrants() []natsx.ServiceGrant {
	var out []natsx.ServiceGrant
	for _, m := range suite.Services() {
		out = append(out, kit.Grant(m.Describe()))
	}
	return out
}

func natsSetup(_ context.Context, args []string, env func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("nats-setup", "Generates, into --out, what the separated layout needs to run against an external NATS\n"+
		"cluster in operator mode (deploy/nats/README.md): the authority (its keys; keep it safe and\n"+
		"off the servers), auth.conf and cluster.conf for the servers, one credentials file per\n"+
		"service (HUIYUAN_NATS_CREDS) and iam's tenant issuer. Run it again to reissue credentials:\n"+
		"the authority and cluster.conf are kept, so the servers and earlier credentials stay valid.", stderr)
	out := fs.String("out", "", "directory to write into (created with mode 0700)")
	routes := fs.String("routes", "n1:6222,n2:6222,n3:6222", "host:port of every node's route listener, comma-separated")
	listen := fs.String("cluster-listen", "0.0.0.0:6222", "where each node listens for routes")
	if err := config.Parse(fs, args, "HUIYUAN_", env); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("--out is required")
	}
	a, err := natsx.OpenAuthority(filepath.Join(*out, "authority"))
	if err != nil {
		return err
	}
	sa, err := a.ServerAuth()
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(*out, "auth.conf"), sa.Config(), 0o644); err != nil {
		return fmt.Errorf("write auth.conf: %w", err)
	}
	kept, err := writeClusterConf(filepath.Join(*out, "cluster.conf"), *listen, strings.Split(*routes, ","))
	if err != nil {
		return err
	}
	for _, g := range brokerGrants() {
		if err := writeCreds(filepath.Join(*out, "creds", g.Service+".creds"), a, g.Service, g); err != nil {
			return err
		}
	}
	if err := a.TenantIssuer().WriteFile(filepath.Join(*out, "iam", "tenant-issuer.json")); err != nil {
		return err
	}
	cluster := "written"
	if kept {
		cluster = "kept (delete it to write new routes and a new route password)"
	}
	fmt.Fprintf(stdout, "NATS authority in %s:\n"+
		"  authority/           the keys: keep them safe, off the servers; nats-setup needs them to reissue\n"+
		"  auth.conf            for every server, beside deploy/nats/node.conf (no secrets)\n"+
		"  cluster.conf         for every server: route credentials (secret), %s\n"+
		"  creds/<service>.creds  one per service process: HUIYUAN_NATS_CREDS (secret)\n"+
		"  iam/tenant-issuer.json  for the iam process, to issue tenant credentials (secret)\n", *out, cluster)
	return nil
}

// writeClusterConf writes cluster.conf unless it exists: its route password must stay what the
// running servers know. It reports whether it kept an existing file.
func writeClusterConf(path, listen string, routes []string) (bool, error) {
	if _, err := os.Stat(path); err == nil {
		return true, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	for i := range routes {
		routes[i] = strings.TrimSpace(routes[i])
	}
	auth, err := natsx.NewClusterAuth()
	if err != nil {
		return false, err
	}
	conf, err := natsx.ClusterConfig(listen, routes, auth)
	if err != nil {
		return false, fmt.Errorf("--routes or --cluster-listen: %w", err)
	}
	return false, natsx.WriteSecretFile(path, conf)
}

func writeCreds(path string, a *natsx.Authority, name string, grants ...natsx.ServiceGrant) error {
	c, err := a.IssueService(name, grants...)
	if err != nil {
		return err
	}
	return natsx.WriteSecretFile(path, c.Creds())
}

func natsCredentials(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("nats-credentials", "Issues a NATS credential for an outside subscriber of one tenant's events (a CRM, a data\n"+
		"pipeline, nats.js): it subscribes to huiyuan.<tenant>.> and publishes nothing; history comes\n"+
		"from ListEvents. Calls the running iam service; needs an admin key. The credential goes to\n"+
		"--out (mode 0600), or to stdout; what it allows is printed to stderr.", stderr)
	var r remote
	tenant := fs.String("tenant", "", "tenant whose events it reads (admins of \"default\" only); default the caller's")
	ttl := fs.Duration("ttl", 0, "how long it lasts, such as 720h; 0 takes the server's default (90 days)")
	out := fs.String("out", "", "file to write the .creds to; empty writes them to stdout")
	if err := parseRemote(fs, &r, args, env); err != nil {
		return err
	}
	conn, cctx, err := r.dial(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	req := &iamv1.IssueBrokerCredentialRequest{RequestId: ids.New(), Tenant: *tenant}
	if *ttl != 0 {
		req.Ttl = durationpb.New(*ttl)
	}
	resp, err := iamv1.NewBrokerCredentialServiceClient(conn).IssueBrokerCredential(cctx, req)
	if err != nil {
		return explain(err)
	}
	if *out == "" {
		_, err = io.WriteString(stdout, resp.GetCreds())
	} else {
		err = natsx.WriteSecretFile(*out, []byte(resp.GetCreds()))
	}
	if err != nil {
		return err
	}
	url := resp.GetNatsUrl()
	if url == "" {
		url = "(ask the operator)"
	}
	fmt.Fprintf(stderr, "NATS credential for tenant %s, user %s: subscribes to %s, publishes nothing; expires %s.\n"+
		"Server: %s. Keep it secret: it is shown only now.\n",
		resp.GetTenant(), resp.GetUser(), resp.GetSubjectFilter(), resp.GetExpireTime().AsTime().Format(time.RFC3339), url)
	return nil
}
