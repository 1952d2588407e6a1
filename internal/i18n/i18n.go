// Package i18n holds the English and Mizo message catalogs. Every package
// that shows text to people ships an en.json and a lus.json with the same
// keys; Check proves they match, and the catalog refuses duplicates.
package i18n

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Languages the platform speaks. Mizo is "lus" (ISO 639-3).
const (
	EN  = "en"
	LUS = "lus"
)

// Langs lists the supported languages in display order.
var Langs = []string{EN, LUS}

// Supported reports whether lang is a language we speak.
func Supported(lang string) bool { return lang == EN || lang == LUS }

// Catalog maps language → key → message.
type Catalog struct {
	msgs map[string]map[string]string
}

// New builds a catalog from one or more folders holding en.json and lus.json.
func New(sources ...fs.FS) (*Catalog, error) {
	c := &Catalog{msgs: map[string]map[string]string{EN: {}, LUS: {}}}
	for _, src := range sources {
		if err := c.Add(src); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Add merges one folder's messages. A key defined twice is an error.
func (c *Catalog) Add(src fs.FS) error {
	if err := Check(src); err != nil {
		return err
	}
	for _, lang := range Langs {
		m, err := load(src, lang)
		if err != nil {
			return err
		}
		for k, v := range m {
			if _, dup := c.msgs[lang][k]; dup {
				return fmt.Errorf("i18n: key %q is defined twice", k)
			}
			c.msgs[lang][k] = v
		}
	}
	return nil
}

// Has reports whether key exists (in every language, as Check guarantees).
func (c *Catalog) Has(key string) bool {
	_, ok := c.msgs[EN][key]
	return ok
}

// Keys returns every key, sorted.
func (c *Catalog) Keys() []string {
	keys := make([]string, 0, len(c.msgs[EN]))
	for k := range c.msgs[EN] {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// T translates key into lang and fills {name} placeholders from args, given
// as name, value pairs. An unknown key comes back as itself so that a missing
// translation is visible rather than blank.
func (c *Catalog) T(lang, key string, args ...any) string {
	m, ok := c.msgs[lang]
	if !ok {
		m = c.msgs[EN]
	}
	msg, ok := m[key]
	if !ok {
		msg, ok = c.msgs[EN][key]
		if !ok {
			return key
		}
	}
	if len(args) == 0 || !strings.Contains(msg, "{") {
		return msg
	}
	pairs := make([]string, 0, len(args))
	for i := 0; i+1 < len(args); i += 2 {
		pairs = append(pairs, "{"+fmt.Sprint(args[i])+"}", format(args[i+1]))
	}
	return strings.NewReplacer(pairs...).Replace(msg)
}

func format(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	default:
		return fmt.Sprint(v)
	}
}

func load(src fs.FS, lang string) (map[string]string, error) {
	b, err := fs.ReadFile(src, lang+".json")
	if err != nil {
		return nil, fmt.Errorf("i18n: %w", err)
	}
	m := map[string]string{}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("i18n: %s.json: %w", lang, err)
	}
	return m, nil
}

var placeholder = regexp.MustCompile(`\{[a-z_]+\}`)

// Check reports every key missing from one language, every empty message and
// every message whose placeholders differ between languages.
func Check(src fs.FS) error {
	en, err := load(src, EN)
	if err != nil {
		return err
	}
	lus, err := load(src, LUS)
	if err != nil {
		return err
	}
	var problems []string
	for k, v := range en {
		lv, ok := lus[k]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("%q missing in lus", k))
		case strings.TrimSpace(v) == "" || strings.TrimSpace(lv) == "":
			problems = append(problems, fmt.Sprintf("%q is empty", k))
		default:
			a, b := placeholder.FindAllString(v, -1), placeholder.FindAllString(lv, -1)
			slices.Sort(a)
			slices.Sort(b)
			if !slices.Equal(slices.Compact(a), slices.Compact(b)) {
				problems = append(problems, fmt.Sprintf("%q has placeholders %v in en but %v in lus", k, a, b))
			}
		}
	}
	for k := range lus {
		if _, ok := en[k]; !ok {
			problems = append(problems, fmt.Sprintf("%q missing in en", k))
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return errors.New("i18n: " + strings.Join(problems, "; "))
	}
	return nil
}

// Negotiate picks the language: an explicit choice (query or cookie) first,
// then Accept-Language, then English.
func Negotiate(explicit, acceptLanguage string) string {
	if Supported(explicit) {
		return explicit
	}
	best, bestQ := EN, -1.0
	for _, part := range strings.Split(acceptLanguage, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		tag = strings.ToLower(strings.TrimSpace(tag))
		base, _, _ := strings.Cut(tag, "-")
		q := 1.0
		if p, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(p, 64); err == nil {
				q = f
			}
		}
		if Supported(base) && q > bestQ {
			best, bestQ = base, q
		}
	}
	return best
}
