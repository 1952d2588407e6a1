package i18n

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestCoreCatalogIsComplete(t *testing.T) {
	if err := Check(Core()); err != nil {
		t.Fatal(err)
	}
}

func TestCheckFindsProblems(t *testing.T) {
	err := Check(fstest.MapFS{
		"en.json":  {Data: []byte(`{"a":"A {n}","b":"B","c":"C","e":"E"}`)},
		"lus.json": {Data: []byte(`{"a":"A","b":"","d":"D","e":"E"}`)},
	})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{`"a" has placeholders`, `"b" is empty`, `"c" missing in lus`, `"d" missing in en`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %s: %v", want, err)
		}
	}
	if strings.Contains(err.Error(), `"e"`) {
		t.Error("a good key was reported")
	}
}

func TestTranslateAndNegotiate(t *testing.T) {
	c, err := New(fstest.MapFS{"en.json": {Data: []byte(`{"hi":"Hello {name}, {n} new"}`)}, "lus.json": {Data: []byte(`{"hi":"Chibai {name}, {n} thar"}`)}})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.T(LUS, "hi", "name", "Mawii", "n", 3); got != "Chibai Mawii, 3 thar" {
		t.Fatal(got)
	}
	if got := c.T("fr", "hi", "name", "A", "n", 1); got != "Hello A, 1 new" {
		t.Fatal(got)
	}
	if c.T(EN, "missing.key") != "missing.key" {
		t.Fatal("missing key not visible")
	}
	if err := c.Add(fstest.MapFS{"en.json": {Data: []byte(`{"hi":"x"}`)}, "lus.json": {Data: []byte(`{"hi":"x"}`)}}); err == nil {
		t.Fatal("duplicate key accepted")
	}
	for in, want := range map[[2]string]string{
		{"", "lus"}: "lus", {"", "lus-IN, en;q=0.8"}: "lus", {"", "en-IN,lus;q=0.9"}: "en", {"", "en;q=0.2, lus;q=0.9"}: "lus",
		{"en", "lus"}: "en", {"xx", "fr"}: "en", {"", ""}: "en",
	} {
		if got := Negotiate(in[0], in[1]); got != want {
			t.Errorf("Negotiate(%q, %q) = %q, want %q", in[0], in[1], got, want)
		}
	}
}
