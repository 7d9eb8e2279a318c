package cli

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	loyaltyv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/loyalty/v1"
)

// lineOrder is an order read from a file, with the line it came from.
type lineOrder struct {
	line  int
	order *loyaltyv1.Order
}

// orderReader reads the orders of an import file in batches.
type orderReader interface {
	// next returns up to n orders; none at the end. A line that does not parse is an error
	// naming it: the file is not what the import expects.
	next(n int) ([]lineOrder, error)
	// offset is how far into the file reading got, for the progress bar.
	offset() int64
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func newOrderReader(r io.Reader, name, format string) (orderReader, error) {
	if format == "" {
		format = "jsonl"
		if strings.HasSuffix(strings.ToLower(name), ".csv") {
			format = "csv"
		}
	}
	cr := &countingReader{r: r}
	in, err := skipBOM(cr)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	switch format {
	case "jsonl", "json":
		s := bufio.NewScanner(in)
		s.Buffer(make([]byte, 64<<10), 4<<20)
		return &jsonLines{s: s, cr: cr}, nil
	case "csv":
		c := csv.NewReader(in)
		c.ReuseRecord = true
		header, err := c.Read()
		if err != nil {
			return nil, fmt.Errorf("read the CSV header: %w", err)
		}
		cols, err := csvColumns(header)
		if err != nil {
			return nil, err
		}
		return &csvOrders{c: c, cr: cr, cols: cols}, nil
	}
	return nil, fmt.Errorf("--format %q: want csv or jsonl", format)
}

// skipBOM reads past a UTF-8 byte order mark at the start of r: spreadsheets and Windows
// editors write one before a UTF-8 file's first line, and it would glue itself to the first
// column's name or the first order's brace.
func skipBOM(r io.Reader) (io.Reader, error) {
	br := bufio.NewReader(r)
	head, err := br.Peek(3)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if string(head) == "\uFEFF" {
		_, _ = br.Discard(3) // the three bytes were just peeked
	}
	return br, nil
}

// jsonLines reads one order a line, in the JSON edge's form; blank lines are skipped.
type jsonLines struct {
	s    *bufio.Scanner
	cr   *countingReader
	line int
}

func (j *jsonLines) offset() int64 { return j.cr.n }

func (j *jsonLines) next(n int) ([]lineOrder, error) {
	var out []lineOrder
	for len(out) < n && j.s.Scan() {
		j.line++
		text := strings.TrimSpace(j.s.Text())
		if text == "" {
			continue
		}
		o := &loyaltyv1.Order{}
		if err := protojson.Unmarshal([]byte(text), o); err != nil {
			return nil, fmt.Errorf("line %d: %w", j.line, err)
		}
		out = append(out, lineOrder{line: j.line, order: o})
	}
	if err := j.s.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %w", j.line+1, err)
	}
	return out, nil
}

// The CSV columns an import knows, by snake_case or lowerCamelCase name.
const (
	colID = iota
	colMember
	colAmount
	colCurrency
	colStore
	colCreateTime
	colCount
)

func csvColumns(header []string) ([colCount]int, error) {
	names := map[string]int{"id": colID, "member_id": colMember, "memberid": colMember, "amount_minor": colAmount,
		"amountminor": colAmount, "currency": colCurrency, "store_id": colStore, "storeid": colStore,
		"create_time": colCreateTime, "createtime": colCreateTime}
	var cols [colCount]int
	for i := range cols {
		cols[i] = -1
	}
	for i, h := range header {
		c, ok := names[strings.ToLower(strings.TrimSpace(h))]
		if !ok {
			return cols, fmt.Errorf("CSV header: unknown column %q (want id, member_id, amount_minor, currency, store_id, create_time)", h)
		}
		if cols[c] >= 0 {
			// Which of the two a row means is a guess either way: refuse the file.
			return cols, fmt.Errorf("CSV header: column %q given twice (as %q and %q)", strings.TrimSpace(h), header[cols[c]], h)
		}
		cols[c] = i
	}
	if cols[colID] < 0 || cols[colAmount] < 0 || cols[colCurrency] < 0 {
		return cols, errors.New("CSV header: id, amount_minor and currency are required")
	}
	return cols, nil
}

// csvOrders reads one order a row.
type csvOrders struct {
	c    *csv.Reader
	cr   *countingReader
	cols [colCount]int
}

func (c *csvOrders) offset() int64 { return c.cr.n }

func (c *csvOrders) next(n int) ([]lineOrder, error) {
	var out []lineOrder
	for len(out) < n {
		rec, err := c.c.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// A *csv.ParseError names its own line.
			return nil, err
		}
		// The row's first line in the file: a quoted field may hold line breaks, so rows
		// and lines differ.
		line, _ := c.c.FieldPos(0)
		o, err := c.order(rec)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		out = append(out, lineOrder{line: line, order: o})
	}
	return out, nil
}

func (c *csvOrders) order(rec []string) (*loyaltyv1.Order, error) {
	get := func(col int) string {
		if i := c.cols[col]; i >= 0 && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	amount, err := strconv.ParseInt(get(colAmount), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("amount_minor %q: want whole minor units", get(colAmount))
	}
	o := &loyaltyv1.Order{Id: get(colID), MemberId: get(colMember), AmountMinor: amount, Currency: get(colCurrency), StoreId: get(colStore)}
	if ct := get(colCreateTime); ct != "" {
		at, err := time.Parse(time.RFC3339Nano, ct)
		if err != nil {
			return nil, fmt.Errorf("create_time %q: want RFC 3339", ct)
		}
		o.CreateTime = timestamppb.New(at)
	}
	return o, nil
}
