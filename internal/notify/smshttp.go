package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// HTTPSMS sends SMS through a provider's HTTP API. The URL (and, for POST,
// the body) are templates with these placeholders:
//
//	{to}           the number in E.164 form, +919862012345
//	{to_digits}    the same without "+", 919862012345
//	{message}      the text
//	{sender}       the DLT header (sender id), e.g. MZGOVT
//	{template_id}  the DLT template id registered for the message's template
//
// Placeholders are URL-encoded in the URL, JSON-encoded in a body that starts
// with "{", and form-encoded in any other body. Any status other than 2xx is
// a failure and is retried (4xx other than 408 and 429 are not).
type HTTPSMS struct {
	URL        string
	Method     string // GET (default) or POST
	Body       string
	Sender     string
	AuthHeader string // optional Authorization header
	Client     *http.Client
}

// Send delivers one SMS.
func (h HTTPSMS) Send(ctx context.Context, m Rendered) error {
	vals := map[string]string{
		"{to}": m.To, "{to_digits}": strings.TrimPrefix(m.To, "+"), "{message}": m.Body,
		"{sender}": h.Sender, "{template_id}": m.TemplateID,
	}
	fill := func(tmpl string, esc func(string) string) string {
		pairs := make([]string, 0, len(vals)*2)
		for k, v := range vals {
			pairs = append(pairs, k, esc(v))
		}
		return strings.NewReplacer(pairs...).Replace(tmpl)
	}
	u := fill(h.URL, url.QueryEscape)
	method := strings.ToUpper(h.Method)
	if method == "" {
		method = http.MethodGet
	}
	var body io.Reader
	contentType := ""
	if method == http.MethodPost && h.Body != "" {
		if strings.HasPrefix(strings.TrimSpace(h.Body), "{") {
			body = strings.NewReader(fill(h.Body, jsonEscape))
			contentType = "application/json"
		} else {
			body = strings.NewReader(fill(h.Body, url.QueryEscape))
			contentType = "application/x-www-form-urlencoded"
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return Permanent{fmt.Errorf("SMS gateway URL: %w", err)}
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if h.AuthHeader != "" {
		req.Header.Set("Authorization", h.AuthHeader)
	}
	client := h.Client
	if client == nil {
		client = &http.Client{Timeout: 20 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		// A *url.Error repeats the URL, which holds the message (a one-time
		// code, perhaps); keep only the cause, since errors are logged and stored.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("SMS gateway %s %s: %w", method, req.URL.Host, err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
	if resp.StatusCode/100 == 2 {
		return nil
	}
	err = fmt.Errorf("SMS gateway answered %d: %s", resp.StatusCode, strings.TrimSpace(string(snippet)))
	if resp.StatusCode/100 == 4 && resp.StatusCode != 408 && resp.StatusCode != 429 {
		return Permanent{err}
	}
	return err
}

func jsonEscape(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}
