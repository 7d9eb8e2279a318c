package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/huiyuan-dev/huiyuan/pkg/config"
)

// remote is what the commands that call a running process share: its address and a key.
type remote struct {
	addr string
	key  string
}

func (r *remote) flags(fs *flag.FlagSet) {
	fs.StringVar(&r.addr, "addr", "127.0.0.1:9090", "gRPC address of the running process")
	fs.StringVar(&r.key, "key", "", "API key secret to call with (an admin key)")
}

func parseRemote(fs *flag.FlagSet, r *remote, args []string, env func(string) string, opts ...config.Option) error {
	r.flags(fs)
	if err := config.Parse(fs, args, "HUIYUAN_", env, opts...); err != nil {
		return err
	}
	if r.key == "" {
		return errors.New("no API key: pass --key or set HUIYUAN_KEY")
	}
	return nil
}

func (r *remote) dial(ctx context.Context) (*grpc.ClientConn, context.Context, error) {
	conn, err := grpc.NewClient(r.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, nil, fmt.Errorf("dial %s: %w", r.addr, err)
	}
	return conn, metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+r.key), nil
}

// explain turns a status error into one line an operator can act on.
func explain(err error) error {
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	msg := st.Code().String() + ": " + st.Message()
	for _, d := range st.Details() {
		if s := fmt.Sprint(d); s != "" {
			msg += " [" + strings.TrimSpace(s) + "]"
		}
	}
	return errors.New(msg)
}
