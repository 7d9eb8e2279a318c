package suite_test

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
)

// TestReadmeTour runs the README's short tour (its sh blocks, the coupons' included) against a
// suite started in process, as a reader would paste it: every curl line is sent as curl sends it,
// placeholders (<id>, <tid>, ...) are filled from the answers that make them, and each answer
// must be a success unless the line's comment names the failure (a reason such as
// COUPON_LIMIT_REACHED, or a status), which it must then be. A tour that drifted from the API
// fails here rather than in a new user's terminal.
func TestReadmeTour(t *testing.T) {
	blocks := shBlocks(readmeSection(t, "A short tour"))
	if len(blocks) < 2 {
		t.Fatalf("found %d sh blocks in the README's tour, want the tour's and the coupons'", len(blocks))
	}
	tr := &tour{t: t, vars: map[string]string{}, values: map[string]string{}}
	for _, b := range blocks {
		for _, c := range splitCommands(b) {
			tr.run(c)
		}
	}
	if tr.curls < 50 {
		t.Errorf("ran %d curl commands; the tour has more", tr.curls)
	}
	for _, h := range tourValues {
		for _, name := range h.names {
			if tr.values[name] == "" {
				t.Errorf("the tour never produced %s", name)
			}
		}
	}
}

// shBlocks returns the ```sh blocks of a piece of Markdown.
func shBlocks(section string) []string {
	var blocks []string
	for {
		i := strings.Index(section, "```sh\n")
		if i < 0 {
			return blocks
		}
		section = section[i+len("```sh\n"):]
		j := strings.Index(section, "```")
		if j < 0 {
			return blocks
		}
		blocks = append(blocks, section[:j])
		section = section[j+3:]
	}
}

// command is one shell command of the tour, unexpanded, and the comment on its line.
type command struct {
	text, comment string
}

// splitCommands splits shell text into commands: a newline ends one unless it is escaped or
// inside quotes; a comment runs from a # that starts a word to the end of the line.
func splitCommands(src string) []command {
	var out []command
	var cur, comment strings.Builder
	var quote byte
	flush := func() {
		if text := strings.TrimSpace(cur.String()); text != "" {
			out = append(out, command{text: text, comment: strings.TrimSpace(comment.String())})
		}
		cur.Reset()
		comment.Reset()
	}
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch {
		case quote != 0:
			if c == '\\' && quote == '"' && i+1 < len(src) {
				cur.WriteByte(c)
				i++
				c = src[i]
			} else if c == quote {
				quote = 0
			}
			cur.WriteByte(c)
		case c == '\'' || c == '"':
			quote = c
			cur.WriteByte(c)
		case c == '\\' && i+1 < len(src) && src[i+1] == '\n':
			i++
			cur.WriteByte(' ')
		case c == '#' && (i == 0 || src[i-1] == ' ' || src[i-1] == '\n' || src[i-1] == '\t'):
			j := strings.IndexByte(src[i:], '\n')
			if j < 0 {
				j = len(src) - i
			}
			comment.WriteString(src[i+1 : i+j])
			i += j - 1
		case c == '\n':
			flush()
		default:
			cur.WriteByte(c)
		}
	}
	flush()
	return out
}

var shellVar = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*`)

// words splits a command into words as a shell does for the tour's needs: single quotes keep
// their text, double quotes and bare words expand $NAME from vars, adjacent parts join, and
// "&" and a "> file" redirection are dropped. Placeholders such as <id> stay words, as the
// reader replaces them before running the line.
func words(text string, vars map[string]string) []string {
	var out []string
	var w strings.Builder
	inWord, redirect := false, false
	end := func() {
		if inWord && !redirect {
			out = append(out, w.String())
		} else if inWord {
			redirect = false
		}
		w.Reset()
		inWord = false
	}
	expand := func(s string, i int) int { // s[i] == '$'; returns the index after the name
		name := shellVar.FindString(s[i+1:])
		w.WriteString(vars[name])
		return i + len(name)
	}
	for i := 0; i < len(text); i++ {
		switch c := text[i]; c {
		case ' ', '\t':
			end()
		case '&':
			end()
		case '>':
			if inWord { // a placeholder's end, such as <id>
				w.WriteByte(c)
				continue
			}
			redirect = true
		case '\'':
			inWord = true
			j := strings.IndexByte(text[i+1:], '\'')
			if j < 0 { // unterminated: the rest of the line, as the README's reader would notice
				j = len(text) - i - 1
			}
			w.WriteString(text[i+1 : i+1+j])
			i += j + 1
		case '"':
			inWord = true
			for i++; i < len(text) && text[i] != '"'; i++ {
				switch {
				case text[i] == '\\' && i+1 < len(text):
					i++
					w.WriteByte(text[i])
				case text[i] == '$':
					i = expand(text, i)
				default:
					w.WriteByte(text[i])
				}
			}
		case '$':
			inWord = true
			i = expand(text, i)
		default:
			inWord = true
			w.WriteByte(c)
		}
	}
	end()
	return out
}

// tourValues says which answers give the tour's placeholders their values: the first success of
// method on a path matching path gives field to the first of names still without a value
// (a name starting with $ is a shell variable).
var tourValues = []struct {
	method string
	path   *regexp.Regexp
	field  string
	names  []string
}{
	{"POST", regexp.MustCompile(`^/v1/members$`), "id", []string{"<id>"}},
	{"POST", regexp.MustCompile(`:issueToken$`), "token", []string{"$TOKEN"}},
	{"POST", regexp.MustCompile(`:requestContactChange$`), "id", []string{"<verification>"}},
	{"GET", regexp.MustCompile(`/contactVerifications/[^/]+/message$`), "code", []string{"<code>"}},
	{"POST", regexp.MustCompile(`^/v1/couponTemplates$`), "id", []string{"<tid>", "<tid2>", "<tid3>"}},
	{"POST", regexp.MustCompile(`^/v1/couponTemplates/[^/]+:claim$`), "code", []string{"<coupon>"}},
	{"POST", regexp.MustCompile(`/codeBatches$`), "id", []string{"<bid>"}},
}

var (
	placeholder    = regexp.MustCompile(`<[a-z0-9]+>`)
	expectedReason = regexp.MustCompile(`\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b`)
	expectedStatus = regexp.MustCompile(`\b[1-5][0-9][0-9]\b`)
)

// tour is the state of a tour being run: the shell's variables, the placeholders' values and
// the suite once `make run` has started it.
type tour struct {
	t      *testing.T
	vars   map[string]string
	values map[string]string
	suite  *running
	curls  int
}

func (tr *tour) run(c command) {
	t := tr.t
	ws := words(c.text, tr.vars)
	if len(ws) == 0 {
		return
	}
	if ws[0] == "export" && len(ws) > 1 {
		ws = ws[1:]
	}
	if name := shellVar.FindString(ws[0]); name != "" && len(ws) == 1 && strings.HasPrefix(ws[0], name+"=") {
		tr.vars[name] = strings.TrimPrefix(ws[0], name+"=")
		return
	}
	switch ws[0] {
	case "make":
		if len(ws) > 1 && ws[1] == "run" {
			tr.suite = startSuite(t, "--admin-key="+tr.vars["HUIYUAN_ADMIN_KEY"])
		}
	case "curl":
		if tr.suite == nil {
			t.Fatalf("%q runs before make run", c.text)
		}
		tr.curl(c, ws[1:])
	case "bin/huiyuan", "nats":
		// The CLI's commands have tests of their own (internal/cli); nats is the NATS project's CLI.
	default:
		t.Errorf("the tour runs %q, which this test does not know how to run", c.text)
	}
}

// curl sends what `curl args` would and checks the answer against the line's comment.
func (tr *tour) curl(c command, args []string) {
	t := tr.t
	tr.curls++
	method, url, body := "", "", ""
	var headers [][2]string
	for i := 0; i < len(args); i++ {
		switch a := args[i]; a {
		case "-s":
		case "-H", "-X", "-d":
			if i+1 == len(args) {
				t.Fatalf("%q: %s without a value", c.text, a)
			}
			i++
			switch a {
			case "-H":
				name, value, _ := strings.Cut(args[i], ":")
				headers = append(headers, [2]string{name, strings.TrimSpace(value)})
			case "-X":
				method = args[i]
			case "-d":
				body = args[i]
			}
		default:
			if strings.HasPrefix(a, "-") || url != "" {
				t.Fatalf("%q: this test does not know curl's %q", c.text, a)
			}
			url = a
		}
	}
	url, body = tr.fill(c, url), tr.fill(c, body)
	path, ok := strings.CutPrefix(url, "localhost:8080")
	if !ok {
		t.Fatalf("%q calls %s, not the edge at localhost:8080", c.text, url)
	}
	if method == "" {
		method = "GET"
		if body != "" {
			method = "POST"
		}
	}

	wantReason := expectedReason.FindString(c.comment)
	wantStatus := expectedStatus.FindString(c.comment)
	var status int
	var raw []byte
	var answer map[string]any
	// Tiers follow loyalty's orders through the broker, moments after the order's answer; a
	// reader is slower than this test, so a failed precondition is asked again for a while.
	for attempt, deadline := 1, time.Now().Add(10*time.Second); ; attempt++ {
		status, raw = tr.send(c, method, path, body, headers)
		answer = nil
		_ = json.Unmarshal(raw, &answer)
		precondition := answer["code"] == float64(codes.FailedPrecondition)
		if wantReason != "" || status < 400 || !precondition || time.Now().After(deadline) {
			if attempt > 1 {
				t.Logf("%s %s: answered %d at attempt %d", method, path, status, attempt)
			}
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	switch {
	case wantStatus != "" && wantStatus != strconv.Itoa(status):
		t.Errorf("%s %s: status %d, the README says %s: %s", method, path, status, wantStatus, raw)
	case wantReason != "":
		if got, _ := (reply{status: status, body: answer}).reason(); got != wantReason {
			t.Errorf("%s %s: answered %d %s, the README says %s: %s", method, path, status, got, wantReason, raw)
		}
	case wantStatus != "": // the status the README names, which it is
	case status != http.StatusOK:
		t.Errorf("%s %s: status %d: %s", method, path, status, raw)
	default:
		tr.harvest(method, path, answer)
	}
}

// send makes the request as curl would: -d posts its data as a form unless a header says what
// it is.
func (tr *tour) send(c command, method, path, body string, headers [][2]string) (int, []byte) {
	t := tr.t
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, tr.suite.base+path, rd)
	if err != nil {
		t.Fatalf("%q: %v", c.text, err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for _, h := range headers {
		req.Header.Set(h[0], h[1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%q: %v", c.text, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%q: %v", c.text, err)
	}
	return resp.StatusCode, raw
}

// fill replaces the placeholders in s with their values; one without a value yet is a tour
// that uses a value before it makes it.
func (tr *tour) fill(c command, s string) string {
	return placeholder.ReplaceAllStringFunc(s, func(p string) string {
		v, ok := tr.values[p]
		if !ok {
			tr.t.Fatalf("%q uses %s before the tour has one", c.text, p)
		}
		return v
	})
}

// harvest takes the placeholders' values from a successful answer.
func (tr *tour) harvest(method, path string, answer map[string]any) {
	path, _, _ = strings.Cut(path, "?")
	for _, h := range tourValues {
		if h.method != method || !h.path.MatchString(path) {
			continue
		}
		v, _ := answer[h.field].(string)
		if v == "" {
			tr.t.Errorf("%s %s answered no %q: %v", method, path, h.field, answer)
			return
		}
		for _, name := range h.names {
			if tr.values[name] != "" {
				continue
			}
			tr.values[name] = v
			if shell, ok := strings.CutPrefix(name, "$"); ok {
				tr.vars[shell] = v
			}
			break
		}
	}
}

func TestTourShellWords(t *testing.T) {
	vars := map[string]string{"KEY": "k1", "CART": `{"a":1}`}
	cases := []struct {
		src  string
		want [][]string
		note string
	}{
		{"curl -s -H \"Authorization: Bearer $KEY\" localhost:8080/v1/x/<id>:go -d '{\"a\":\"<id>\"}'  # 404 NOT_FOUND\n",
			[][]string{{"curl", "-s", "-H", "Authorization: Bearer k1", "localhost:8080/v1/x/<id>:go", "-d", `{"a":"<id>"}`}}, "404 NOT_FOUND"},
		{"curl -d '{\"m\":\"<id>\",\"cart\":'\"$CART\"'}'\n", [][]string{{"curl", "-d", `{"m":"<id>","cart":{"a":1}}`}}, ""},
		{"curl x -d '{\n  \"a\":1}'\nmake run &\n", [][]string{{"curl", "x", "-d", "{\n  \"a\":1}"}, {"make", "run"}}, ""},
		{"curl a \\\n  b > out.csv\n# only a comment\n", [][]string{{"curl", "a", "b"}}, ""},
		{"KEY=$KEY#not-a-comment\n", [][]string{{"KEY=k1#not-a-comment"}}, ""},
		{"curl -d '{\"a\":1}\n", [][]string{{"curl", "-d", `{"a":1}`}}, ""}, // an unterminated quote ends with the text
	}
	for _, c := range cases {
		cmds := splitCommands(c.src)
		if len(cmds) != len(c.want) {
			t.Errorf("%q: %d commands %q, want %d", c.src, len(cmds), cmds, len(c.want))
			continue
		}
		for i, cmd := range cmds {
			if got := words(cmd.text, vars); strings.Join(got, "\x00") != strings.Join(c.want[i], "\x00") {
				t.Errorf("%q: command %d words %q, want %q", c.src, i, got, c.want[i])
			}
		}
		if cmds[0].comment != c.note {
			t.Errorf("%q: comment %q, want %q", c.src, cmds[0].comment, c.note)
		}
	}
}
