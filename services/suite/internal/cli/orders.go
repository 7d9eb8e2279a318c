package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
	"github.com/huiyuan-dev/huiyuan/pkg/config"
)

// errImportFailed makes `huiyuan orders import` exit non-zero when some orders were refused,
// so a script notices; the refused ones are listed and the rest are recorded.
var errImportFailed = errors.New("some orders were not recorded")

// importBatch is how many orders one BatchRecordOrders call of the import carries.
const importBatch = 500

// importDescription is the help of `huiyuan orders import`, with or without --help.
func importDescription() string {
	return "Records the orders of FILE through BatchRecordOrders, " + fmt.Sprint(importBatch) + " a call: JSON lines (one order\n" +
		"a line, as POST /v1/orders takes it: {\"id\", \"memberId\", \"amountMinor\", \"currency\", \"storeId\",\n" +
		"\"items\", \"createTime\"}) or CSV with a header naming the columns id, member_id, amount_minor,\n" +
		"currency, store_id, create_time (RFC 3339). An order id is recorded once, so running the import\n" +
		"again after an interruption is safe: orders recorded before answer as they were. Orders that\n" +
		"are refused are listed with their line, and the command then exits 1."
}

func orders(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "import" {
		fmt.Fprint(stderr, "Usage: huiyuan orders import [--addr A] [--key K] [--format csv|jsonl] FILE\n\n"+importDescription()+"\n")
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			return nil
		}
		return errUsage
	}
	fs := newFlags("orders import", importDescription(), stderr, "FILE")
	var r remote
	format := fs.String("format", "", "csv or jsonl; by default the file's extension (.csv, else JSON lines)")
	if err := parseRemote(fs, &r, args[1:], env, config.AllowOperands()); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("name one FILE to import")
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	size := int64(0)
	if st, err := f.Stat(); err == nil {
		size = st.Size()
	}
	src, err := newOrderReader(f, fs.Arg(0), *format)
	if err != nil {
		return err
	}
	conn, cctx, err := r.dial(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	client := loyaltyv1.NewLoyaltyServiceClient(conn)
	bar := newProgress(stderr, size, time.Now)
	var sum importSummary
	for {
		batch, err := src.next(importBatch)
		if err != nil {
			bar.done()
			return err
		}
		if len(batch) == 0 {
			break
		}
		if err := importOne(cctx, client, batch, &sum, stderr, bar); err != nil {
			bar.done()
			return err
		}
		bar.update(src.offset(), sum.recorded, sum.failed)
	}
	bar.done()
	fmt.Fprintf(stdout, "recorded %d orders (%d points); %d refused\n", sum.recorded, sum.points, sum.failed)
	if sum.failed > 0 {
		return errImportFailed
	}
	return nil
}

// importSummary counts what an import did.
type importSummary struct {
	recorded, failed, points int64
}

// importOne records one batch, retrying it while the process is unavailable (a restart):
// its orders are idempotent by id, so a retry records nothing twice.
func importOne(ctx context.Context, client loyaltyv1.LoyaltyServiceClient, batch []lineOrder, sum *importSummary, stderr io.Writer, bar *progress) error {
	req := &loyaltyv1.BatchRecordOrdersRequest{Orders: make([]*loyaltyv1.Order, len(batch))}
	for i, o := range batch {
		req.Orders[i] = o.order
	}
	var resp *loyaltyv1.BatchRecordOrdersResponse
	for attempt := 0; ; attempt++ {
		var err error
		resp, err = client.BatchRecordOrders(ctx, req)
		if err == nil {
			break
		}
		if status.Code(err) != codes.Unavailable || attempt == 20 || ctx.Err() != nil {
			return explain(err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt+1) * 250 * time.Millisecond):
		}
	}
	for i, res := range resp.GetResults() {
		if e := res.GetError(); e != nil {
			sum.failed++
			bar.clear()
			fmt.Fprintf(stderr, "line %d: order %q: %s: %s\n", batch[i].line, batch[i].order.GetId(), codes.Code(e.GetCode()), e.GetMessage())
			continue
		}
		sum.recorded++
		sum.points += res.GetPointsEarned()
	}
	return nil
}
