package cli

import (
	"strconv"
	"strings"
	"testing"
)

// readAll reads every order of an import file in batches of three.
func readAll(t testing.TB, data, format string) ([]lineOrder, error) {
	src, err := newOrderReader(strings.NewReader(data), "orders", format)
	if err != nil {
		return nil, err
	}
	var all []lineOrder
	for range len(data) + 1 { // a batch holds at least one line of the file
		batch, err := src.next(3)
		if err != nil || len(batch) == 0 {
			return all, err
		}
		all = append(all, batch...)
	}
	t.Fatalf("the reader did not end within %d batches", len(data)+1)
	return nil, nil
}

// TestOrderReader: what an import file says is what the import sends, each order with the
// line of the file it starts on, and a file that is not an import file is refused with the
// line that shows it.
func TestOrderReader(t *testing.T) {
	const header = "id,member_id,amount_minor,currency,store_id,create_time\n"
	for _, tc := range []struct {
		name, format, data string
		want               []string // id@line of each order read
		err                string   // a part of the error, when reading fails
	}{
		{name: "csv", format: "csv", data: header + "a,m1,100,CNY,s1,2026-12-01T10:00:00Z\nb,m2,200,CNY,,\n",
			want: []string{"a@2", "b@3"}},
		{name: "csv in lowerCamelCase, columns in any order", format: "csv", data: "currency,amountMinor,id\nCNY,5,x\n",
			want: []string{"x@2"}},
		{name: "csv after a byte order mark", format: "csv", data: "\uFEFF" + header + "a,m1,100,CNY,s1,\n",
			want: []string{"a@2"}},
		{name: "a quoted field over two lines", format: "csv", data: header + "\"a\nb\",m1,100,CNY,s1,\nc,m1,1,CNY,,\n",
			want: []string{"a\nb@2", "c@4"}},
		{name: "a row with a column too few", format: "csv", data: header + "a,m1,100,CNY,s1,\nb,m1,100,CNY\n",
			err: "line 3"},
		{name: "an amount that is not whole", format: "csv", data: header + "a,m1,1.5,CNY,,\n", err: `line 2: amount_minor "1.5"`},
		{name: "a time without its offset", format: "csv", data: header + "a,m1,1,CNY,,2026-12-01T10:00:00\n", err: "line 2: create_time"},
		{name: "a column twice", format: "csv", data: "id,amount_minor,currency,memberId,member_id\n", err: `column "member_id" given twice`},
		{name: "an unknown column", format: "csv", data: "id,amount_minor,currency,points\n", err: `unknown column "points"`},
		{name: "a required column missing", format: "csv", data: "id,member_id,currency\n", err: "id, amount_minor and currency are required"},
		{name: "an empty csv", format: "csv", data: "", err: "CSV header"},
		{name: "json lines", format: "jsonl", data: `{"id":"a","memberId":"m1","amountMinor":"100","currency":"CNY"}` + "\n\n" +
			`{"id":"b","amountMinor":"1","currency":"CNY","items":[{"sku":"s","quantity":"1","unitPriceMinor":"1"}]}`,
			want: []string{"a@1", "b@3"}},
		{name: "json lines after a byte order mark", format: "jsonl", data: "\uFEFF" + `{"id":"a","amountMinor":"1","currency":"CNY"}` + "\r\n",
			want: []string{"a@1"}},
		{name: "a line that is not an order", format: "jsonl", data: `{"id":"a","amountMinor":"1","currency":"CNY"}` + "\n" + `{"id":"b","points":1}`,
			err: "line 2"},
		{name: "an unknown format", format: "xml", data: "<orders/>", err: `--format "xml"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readAll(t, tc.data, tc.format)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, o := range got {
				ids = append(ids, o.order.GetId()+"@"+strconv.Itoa(o.line))
			}
			if strings.Join(ids, " ") != strings.Join(tc.want, " ") {
				t.Fatalf("read %q, want %q", ids, tc.want)
			}
		})
	}
}

// FuzzOrderReader: whatever the file holds, reading it ends, without a panic, with orders on
// lines that exist, in order, and a read position within the file. Seeds in
// testdata/fuzz/FuzzOrderReader.
func FuzzOrderReader(f *testing.F) {
	f.Add([]byte("id,member_id,amount_minor,currency\na,m,1,CNY\n"), true)
	f.Add([]byte(`{"id":"a","amountMinor":"1","currency":"CNY"}`+"\n"), false)
	f.Fuzz(func(t *testing.T, data []byte, csv bool) {
		format := "jsonl"
		if csv {
			format = "csv"
		}
		src, err := newOrderReader(strings.NewReader(string(data)), "f", format)
		if err != nil {
			return
		}
		lines := strings.Count(string(data), "\n") + 1
		last := 0
		for range len(data) + 1 {
			batch, err := src.next(3)
			if src.offset() > int64(len(data)) {
				t.Fatalf("read position %d past the file's %d bytes", src.offset(), len(data))
			}
			if err != nil {
				if err.Error() == "" {
					t.Fatal("an error that says nothing")
				}
				return
			}
			if len(batch) == 0 {
				return
			}
			for _, o := range batch {
				if o.order == nil || o.line <= last || o.line > lines {
					t.Fatalf("order on line %d after line %d, of %d lines", o.line, last, lines)
				}
				last = o.line
			}
		}
		t.Fatal("the reader did not end")
	})
}
