package notify_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"mizogov/internal/db"
	"mizogov/internal/db/dbtest"
	"mizogov/internal/jobs"
	"mizogov/internal/notify"
)

var testTemplates = fstest.MapFS{
	"hello.sms.en.txt":    {Data: []byte("Hello {{.name}}, your code is {{.code}}.")},
	"hello.sms.lus.txt":   {Data: []byte("Chibai {{.name}}, i code chu {{.code}} a ni.")},
	"hello.email.en.txt":  {Data: []byte("Subject: Hello {{.name}}\n\nYour code is {{.code}}.")},
	"hello.email.lus.txt": {Data: []byte("Subject: Chibai {{.name}}\n\nI code chu {{.code}} a ni.")},
}

func newService(t *testing.T, d *db.DB, sms, email notify.Sender) (*notify.Service, *jobs.Jobs) {
	t.Helper()
	ts := notify.NewTemplates(map[string]string{"hello": "1107000000000000001"})
	if err := ts.Add(testTemplates); err != nil {
		t.Fatal(err)
	}
	j := jobs.New(d, nil)
	j.PollInterval = 20 * time.Millisecond
	s := &notify.Service{DB: d, Jobs: j, Log: slog.New(slog.DiscardHandler), SMS: sms, Email: email, Templates: ts, MaxAttempts: 3}
	s.Register()
	return s, j
}

func waitStatus(t *testing.T, d *db.DB, id int64, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var st string
		d.R().QueryRow(`SELECT status FROM outbox WHERE id = $1`, id).Scan(&st)
		if st == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("outbox %d status %q, want %q", id, st, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestDeliverAndScrub(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		sms, mail := &notify.Memory{}, &notify.Memory{}
		s, j := newService(t, d, sms, mail)
		var smsID, mailID int64
		err := d.Tx(ctx, func(tx *db.Tx) (err error) {
			smsID, err = s.Enqueue(ctx, tx, notify.Message{Channel: notify.SMS, To: "+919862012345", Template: "hello", Lang: "lus",
				Data: map[string]string{"name": "Mari", "code": "123456"}, Sensitive: true})
			if err != nil {
				return err
			}
			mailID, err = s.Enqueue(ctx, tx, notify.Message{Channel: notify.Email, To: "mari@example.org", Template: "hello", Lang: "en",
				Data: map[string]string{"name": "Mari", "code": "654321"}})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := j.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer j.Stop(ctx)
		waitStatus(t, d, smsID, "sent")
		waitStatus(t, d, mailID, "sent")
		got, _ := sms.Last("+919862012345")
		if got.Body != "Chibai Mari, i code chu 123456 a ni." || got.TemplateID != "1107000000000000001" {
			t.Fatalf("sms = %+v", got)
		}
		m, _ := mail.Last("mari@example.org")
		if m.Subject != "Hello Mari" || m.Body != "Your code is 654321." {
			t.Fatalf("email = %+v", m)
		}
		var data string
		d.R().QueryRow(`SELECT data FROM outbox WHERE id = $1`, smsID).Scan(&data)
		if data != "{}" {
			t.Fatalf("sensitive data kept after delivery: %s", data)
		}
	})
}

func TestRetriesThenGivesUp(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		failing := &notify.Memory{Fail: notify.Permanent{Err: errors.New("number barred")}}
		s, j := newService(t, d, failing, &notify.Memory{})
		var id int64
		d.Tx(ctx, func(tx *db.Tx) (err error) {
			id, err = s.Enqueue(ctx, tx, notify.Message{Channel: notify.SMS, To: "+15551234567", Template: "hello", Lang: "en",
				Data: map[string]string{"name": "A", "code": "1"}})
			return err
		})
		j.Start(ctx)
		defer j.Stop(ctx)
		waitStatus(t, d, id, "failed")
		var lastErr string
		d.R().QueryRow(`SELECT last_error FROM outbox WHERE id = $1`, id).Scan(&lastErr)
		if !strings.Contains(lastErr, "number barred") {
			t.Fatalf("last_error = %q", lastErr)
		}
	})
}

func TestEnqueueRefusesUnknownTemplate(t *testing.T) {
	d := dbtest.SQLite(t)
	s, _ := newService(t, d, &notify.Memory{}, &notify.Memory{})
	err := d.Tx(context.Background(), func(tx *db.Tx) error {
		_, err := s.Enqueue(context.Background(), tx, notify.Message{Channel: notify.SMS, To: "+1", Template: "nope", Lang: "en"})
		return err
	})
	if err == nil {
		t.Fatal("unknown template accepted")
	}
}

func TestTemplatesNeedEveryLanguage(t *testing.T) {
	ts := notify.NewTemplates(nil)
	err := ts.Add(fstest.MapFS{"x.sms.en.txt": {Data: []byte("hi")}})
	if err == nil || !strings.Contains(err.Error(), "lus") {
		t.Fatalf("missing Mizo template accepted: %v", err)
	}
}

func TestHTTPSMS(t *testing.T) {
	var got *http.Request
	var body string
	fail := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		b, _ := io.ReadAll(r.Body)
		body = string(b)
		if fail {
			http.Error(w, "token expired", http.StatusUnauthorized)
			return
		}
		w.Write([]byte(`{"status":"ok"}`))
	}))
	defer srv.Close()
	msg := notify.Rendered{Channel: "sms", To: "+919862012345", Body: "Code 123456 & more", TemplateID: "1107"}

	g := notify.HTTPSMS{URL: srv.URL + "/send?to={to_digits}&text={message}&sender={sender}&tid={template_id}", Sender: "MZGOVT"}
	if err := g.Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	q := got.URL.Query()
	if q.Get("to") != "919862012345" || q.Get("text") != "Code 123456 & more" || q.Get("sender") != "MZGOVT" || q.Get("tid") != "1107" {
		t.Fatalf("query = %v", q)
	}

	p := notify.HTTPSMS{URL: srv.URL + "/json", Method: "POST", Body: `{"to":"{to}","msg":"{message}","dlt":"{template_id}"}`, AuthHeader: "Bearer k"}
	msg.Body = `He said "hi"`
	if err := p.Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	var decoded map[string]string
	if err := json.Unmarshal([]byte(body), &decoded); err != nil || decoded["msg"] != `He said "hi"` || got.Header.Get("Authorization") != "Bearer k" {
		t.Fatalf("body %s (%v)", body, err)
	}

	// An unreachable gateway: the error names the host, never the message.
	down := notify.HTTPSMS{URL: "http://127.0.0.1:1/send?text={message}"}
	if err := down.Send(context.Background(), notify.Rendered{To: "+919862012345", Body: "123456 is your code"}); err == nil || strings.Contains(err.Error(), "123456") {
		t.Fatalf("unreachable gateway error: %v", err)
	}

	fail = true
	err := g.Send(context.Background(), msg)
	var perm notify.Permanent
	if !errors.As(err, &perm) || !strings.Contains(err.Error(), "token expired") {
		t.Fatalf("401 = %v, want a permanent error naming the cause", err)
	}
}

// fakeSMTP speaks enough SMTP (RFC 5321) to accept one message.
func fakeSMTP(t *testing.T) (addr string, received chan string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	received = make(chan string, 1)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		tp := textproto.NewConn(c)
		tp.PrintfLine("220 fake ESMTP")
		var data strings.Builder
		for {
			line, err := tp.ReadLine()
			if err != nil {
				return
			}
			cmd := strings.ToUpper(strings.SplitN(line, " ", 2)[0])
			switch cmd {
			case "EHLO", "HELO":
				tp.PrintfLine("250-fake\r\n250 8BITMIME")
			case "MAIL", "RCPT":
				tp.PrintfLine("250 ok")
			case "DATA":
				tp.PrintfLine("354 go on")
				r := bufio.NewReader(tp.DotReader())
				b, _ := io.ReadAll(r)
				data.Write(b)
				tp.PrintfLine("250 queued")
			case "QUIT":
				tp.PrintfLine("221 bye")
				received <- data.String()
				return
			default:
				tp.PrintfLine("502 no")
			}
		}
	}()
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return ln.Addr().String(), received
}

func TestSMTP(t *testing.T) {
	addr, received := fakeSMTP(t)
	s := notify.SMTP{Addr: addr, From: "Mizoram e-Services <noreply@mizoram.gov.in>"}
	err := s.Send(context.Background(), notify.Rendered{Channel: "email", To: "mari@example.org", Subject: "Ṭawng thar", Body: "Line one\nLine two"})
	if err != nil {
		t.Fatal(err)
	}
	msg := <-received
	for _, want := range []string{"To: <mari@example.org>", "Subject: =?utf-8?q?", "Content-Type: text/plain; charset=utf-8", "Line one\nLine two"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}
}

func TestEnqueueForPerson(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s, _ := newService(t, d, &notify.Memory{}, &notify.Memory{})
		var both, phoneOnly int64
		d.W().QueryRow(`INSERT INTO people (name, phone, email, lang, created_at) VALUES ('A', '+919862000001', 'a@example.org', 'lus', $1) RETURNING id`, db.Time(time.Now())).Scan(&both)
		d.W().QueryRow(`INSERT INTO people (name, phone, lang, created_at) VALUES ('B', '+919862000002', 'en', $1) RETURNING id`, db.Time(time.Now())).Scan(&phoneOnly)
		err := d.Tx(ctx, func(tx *db.Tx) error {
			for id, want := range map[int64]int{both: 2, phoneOnly: 1} {
				n, err := s.EnqueueFor(ctx, tx, id, "hello", map[string]string{"name": "x", "code": "1"})
				if err != nil || n != want {
					t.Errorf("person %d: %d messages, %v", id, n, err)
				}
			}
			_, err := s.EnqueueFor(ctx, tx, 999, "hello", nil)
			if err == nil {
				t.Error("unknown person accepted")
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		var lang string
		d.R().QueryRow(`SELECT lang FROM outbox WHERE recipient = 'a@example.org'`).Scan(&lang)
		if lang != "lus" {
			t.Fatalf("sent in %q, not the person's language", lang)
		}
	})
}

// flaky fails its first n sends, then delivers.
type flaky struct {
	notify.Memory
	mu sync.Mutex
	n  int
}

func (f *flaky) Send(ctx context.Context, r notify.Rendered) error {
	f.mu.Lock()
	if f.n > 0 {
		f.n--
		f.mu.Unlock()
		return errors.New("gateway busy")
	}
	f.mu.Unlock()
	return f.Memory.Send(ctx, r)
}

func TestEnqueueAllDeliversABatchInOneJob(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		sms := &flaky{n: 1}
		s, j := newService(t, d, sms, &notify.Memory{})
		var msgs []notify.Message
		for i := range 5 {
			msgs = append(msgs, notify.Message{Channel: notify.SMS, To: "+91986201234" + string(rune('0'+i)), Template: "hello", Lang: "en",
				Data: map[string]string{"name": "A", "code": "1"}})
		}
		if err := d.Tx(ctx, func(tx *db.Tx) error { return s.EnqueueAll(ctx, tx, msgs) }); err != nil {
			t.Fatal(err)
		}
		var jobsQueued int
		d.R().QueryRow(`SELECT COUNT(*) FROM river_job WHERE kind = 'notify_deliver_batch'`).Scan(&jobsQueued)
		if jobsQueued != 1 {
			t.Fatalf("%d jobs for a batch", jobsQueued)
		}
		j.Start(ctx)
		defer j.Stop(ctx)
		var ids []int64
		rows, _ := d.R().Query(`SELECT id FROM outbox ORDER BY id`)
		for rows.Next() {
			var id int64
			rows.Scan(&id)
			ids = append(ids, id)
		}
		rows.Close()
		for _, id := range ids {
			waitStatus(t, d, id, "sent")
		}
		// One message failed once and was retried; none was sent twice.
		if n := len(sms.Sent()); n != 5 {
			t.Fatalf("%d messages sent for 5", n)
		}
		var attempts int
		d.R().QueryRow(`SELECT SUM(attempts) FROM outbox`).Scan(&attempts)
		if attempts != 6 {
			t.Fatalf("%d attempts", attempts)
		}
	})
}
