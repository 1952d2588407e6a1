package notify

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"strings"
	"time"
)

// SMTP sends email through a mail server, with STARTTLS when the server
// offers it (required before authenticating).
type SMTP struct {
	Addr     string // host:port
	User     string
	Password string
	From     string // address, optionally with a name: "Mizoram e-Services <noreply@mizoram.gov.in>"
	// TLSConfig is used for STARTTLS; nil means verify the server by its host name.
	TLSConfig *tls.Config
}

// Send delivers one message.
func (s SMTP) Send(ctx context.Context, m Rendered) error {
	from, err := mail.ParseAddress(s.From)
	if err != nil {
		return Permanent{fmt.Errorf("from address: %w", err)}
	}
	to, err := mail.ParseAddress(m.To)
	if err != nil {
		return Permanent{fmt.Errorf("recipient: %w", err)}
	}
	msg, err := buildMail(from, to, m.Subject, m.Body, time.Now())
	if err != nil {
		return Permanent{err}
	}
	host, _, err := net.SplitHostPort(s.Addr)
	if err != nil {
		return Permanent{fmt.Errorf("SMTP address: %w", err)}
	}
	d := net.Dialer{Timeout: 15 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", s.Addr)
	if err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	} else {
		conn.SetDeadline(time.Now().Add(time.Minute))
	}
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return err
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok {
		cfg := s.TLSConfig
		if cfg == nil {
			cfg = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
		}
		if err := c.StartTLS(cfg); err != nil {
			return fmt.Errorf("starttls: %w", err)
		}
	}
	if s.User != "" {
		if err := c.Auth(smtp.PlainAuth("", s.User, s.Password, host)); err != nil {
			return fmt.Errorf("smtp auth: %w", err)
		}
	}
	if err := c.Mail(from.Address); err != nil {
		return err
	}
	if err := c.Rcpt(to.Address); err != nil {
		if strings.HasPrefix(err.Error(), "5") {
			return Permanent{err}
		}
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

func buildMail(from, to *mail.Address, subject, body string, now time.Time) ([]byte, error) {
	id := make([]byte, 12)
	rand.Read(id)
	_, domain, _ := strings.Cut(from.Address, "@")
	var b bytes.Buffer
	hdr := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	hdr("From", from.String())
	hdr("To", to.String())
	hdr("Subject", mime.QEncoding.Encode("utf-8", subject))
	hdr("Date", now.Format(time.RFC1123Z))
	hdr("Message-ID", "<"+hex.EncodeToString(id)+"@"+domain+">")
	hdr("MIME-Version", "1.0")
	hdr("Content-Type", "text/plain; charset=utf-8")
	hdr("Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	if _, err := qp.Write([]byte(strings.ReplaceAll(body, "\n", "\r\n"))); err != nil {
		return nil, err
	}
	if err := qp.Close(); err != nil {
		return nil, err
	}
	b.WriteString("\r\n")
	return b.Bytes(), nil
}
