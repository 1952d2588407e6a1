package notify

import (
	"bytes"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"text/template"

	"mizogov/internal/i18n"
)

// Templates holds message templates by key, channel and language. Files are
// named KEY.CHANNEL.LANG.txt (auth.otp.sms.lus.txt). An email template starts
// with a "Subject: …" line and a blank line.
type Templates struct {
	t      map[string]*template.Template // key.channel.lang
	dltIDs map[string]string             // key → DLT template id
}

// NewTemplates returns an empty set; dlt maps template keys to the DLT
// template ids the state registered with its SMS provider.
func NewTemplates(dlt map[string]string) *Templates {
	return &Templates{t: map[string]*template.Template{}, dltIDs: dlt}
}

// Add parses every *.txt in fsys. For each key and channel, every language must be present.
func (ts *Templates) Add(fsys fs.FS) error {
	files, err := fs.Glob(fsys, "*.txt")
	if err != nil {
		return err
	}
	seen := map[string]map[string]bool{}
	for _, f := range files {
		parts := strings.Split(strings.TrimSuffix(path.Base(f), ".txt"), ".")
		if len(parts) < 3 {
			return fmt.Errorf("notify template %s: want KEY.CHANNEL.LANG.txt", f)
		}
		lang, channel := parts[len(parts)-1], parts[len(parts)-2]
		key := strings.Join(parts[:len(parts)-2], ".")
		if !i18n.Supported(lang) || (channel != SMS && channel != Email) {
			return fmt.Errorf("notify template %s: unknown channel or language", f)
		}
		b, err := fs.ReadFile(fsys, f)
		if err != nil {
			return err
		}
		if channel == Email && !strings.HasPrefix(string(b), "Subject: ") {
			return fmt.Errorf("notify template %s: email templates start with a Subject: line", f)
		}
		t, err := template.New(f).Option("missingkey=error").Parse(string(b))
		if err != nil {
			return fmt.Errorf("notify template %s: %w", f, err)
		}
		id := key + "." + channel + "." + lang
		if _, dup := ts.t[id]; dup {
			return fmt.Errorf("notify template %s is defined twice", id)
		}
		ts.t[id] = t
		if seen[key+"."+channel] == nil {
			seen[key+"."+channel] = map[string]bool{}
		}
		seen[key+"."+channel][lang] = true
	}
	for kc, langs := range seen {
		for _, l := range i18n.Langs {
			if !langs[l] {
				return fmt.Errorf("notify template %s has no %s version", kc, l)
			}
		}
	}
	return nil
}

// Has reports whether a template exists.
func (ts *Templates) Has(key, channel, lang string) bool {
	_, ok := ts.t[key+"."+channel+"."+lang]
	return ok
}

// Render fills the template for m.
func (ts *Templates) Render(m Message) (Rendered, error) {
	t, ok := ts.t[m.Template+"."+m.Channel+"."+m.Lang]
	if !ok {
		return Rendered{}, fmt.Errorf("no template %s.%s.%s", m.Template, m.Channel, m.Lang)
	}
	var buf bytes.Buffer
	data := m.Data
	if data == nil {
		data = map[string]string{}
	}
	if err := t.Execute(&buf, data); err != nil {
		return Rendered{}, err
	}
	r := Rendered{Channel: m.Channel, To: m.To, Template: m.Template, Body: strings.TrimSpace(buf.String())}
	if m.Channel == Email {
		first, rest, _ := strings.Cut(r.Body, "\n")
		r.Subject = strings.TrimSpace(strings.TrimPrefix(first, "Subject: "))
		r.Body = strings.TrimSpace(rest)
	} else {
		r.TemplateID = ts.dltIDs[m.Template]
	}
	return r, nil
}

// ParseDLT reads "key=id,key=id" into a map.
func ParseDLT(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, pair := range strings.Split(s, ",") {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		k, v, ok := strings.Cut(pair, "=")
		if !ok || k == "" || v == "" {
			return nil, fmt.Errorf("SMS template ids: %q is not key=id", pair)
		}
		out[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return out, nil
}
