package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/huiyuan-dev/huiyuan/pkg/config"
)

// probe is the container health check: images carry no curl, so the binary checks itself.
func probe(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("probe", "Exits 0 when a process is ready: --http checks GET <url>/healthz, --grpc the standard gRPC\n"+
		"health service. Used by docker-compose health checks.", stderr)
	httpURL := fs.String("http", "", "base URL of a JSON edge, such as http://127.0.0.1:8080")
	grpcAddr := fs.String("grpc", "", "gRPC address, such as 127.0.0.1:9090")
	timeout := fs.Duration("timeout", 3*time.Second, "how long to wait for an answer")
	if err := config.Parse(fs, args, "HUIYUAN_PROBE_", env); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	switch {
	case *httpURL != "":
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, *httpURL+"/healthz", nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("healthz answered %s", resp.Status)
		}
	case *grpcAddr != "":
		conn, err := grpc.NewClient(*grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return err
		}
		defer conn.Close()
		r, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
		if err != nil {
			return err
		}
		if r.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			return fmt.Errorf("status %s", r.GetStatus())
		}
	default:
		return errors.New("pass --http or --grpc")
	}
	fmt.Fprintln(stdout, "ok")
	return nil
}
