package grievance_test

import (
	"net/http"
	"net/url"
	"slices"
	"testing"

	"mizogov/internal/app/apptest"
)

type searchResult struct {
	Rows []row  `json:"grievances"`
	More bool   `json:"more"`
	Ref  string `json:"ref"`
}

func TestSearch(t *testing.T) {
	apptest.Each(t, apptest.Options{}, func(t *testing.T, e *apptest.Env) {
		o := newOffice(t, e)
		a := o.file(t, "pothole", "Deep pothole on the road near Chanmari junction, dangerous at night", aizawl, o.citizenID)
		b := o.file(t, "pothole", "Road washed away at Ṭuikual after the rain", aizawl, o.citizenID)
		c := o.file(t, "pothole", "Chanmari: another pothole, smaller", aizawl, o.citizen2ID)
		l := o.file(t, "pothole", "Pothole at Chanmari, Lunglei", lunglei, o.citizenID)
		w := o.file(t, "water", "Chanmari has no water", aizawl, o.citizen2ID)
		search := func(who, q string) searchResult {
			t.Helper()
			r := o.api[who].Get(t, "/api/v1/grievances/search?q="+url.QueryEscape(q))
			if r.Status != http.StatusOK {
				t.Fatalf("search %q: %d %s", q, r.Status, r.Body)
			}
			var s searchResult
			decode(t, r, &s)
			return s
		}
		got := refs(search("gro", "chanmari pothole").Rows)
		slices.Sort(got)
		want := []string{a.Ref, c.Ref}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("chanmari pothole: %v, want %v", got, want)
		}
		if got := refs(search("gro", "ṭuikual").Rows); !slices.Equal(got, []string{b.Ref}) {
			t.Errorf("Mizo letters: %v", got)
		}
		if got := refs(search("gro", "potho").Rows); len(got) != 2 {
			t.Errorf("prefix of the last word: %v", got)
		}
		if got := refs(search("hod", "chanmari").Rows); len(got) != 3 || slices.Contains(got, w.Ref) {
			t.Errorf("head of department: %v", got)
		}
		if got := refs(search("admin", "chanmari").Rows); len(got) != 4 || !slices.Contains(got, l.Ref) {
			t.Errorf("admin: %v", got)
		}
		// Hostile input is searched for as words, never a 500.
		for _, q := range []string{`"`, `""`, "AND OR", "*", "NEAR(a b)", "a OR", "-", "'", `chanmari" OR "`, "^", "ref:x", "(", "%00",
			"\x00", "a\\b", "🙂", "\u0301", "²", "ab:*", "a & b | !c", "x <-> y", "\u0301pothole", string(make([]byte, 500))} {
			r := o.api["gro"].Get(t, "/api/v1/grievances/search?q="+url.QueryEscape(q))
			if r.Status != http.StatusOK {
				t.Errorf("%q: %d %s", q, r.Status, r.Body)
			}
		}
		if got := refs(search("gro", `"chanmari`).Rows); len(got) != 2 {
			t.Errorf("quotes and operators are words: %v", got)
		}
		// A whole reference number finds the grievance, in any spelling.
		if s := search("gro", " "+a.Ref+" "); s.Ref != a.Ref || len(s.Rows) != 1 {
			t.Errorf("reference: %+v", s)
		}
		if s := search("gro2", a.Ref); s.Ref != "" || len(s.Rows) != 0 {
			t.Errorf("reference outside the jurisdiction: %+v", s)
		}
		// Pages.
		for _, p := range []string{"0", "-1", "x", "41"} {
			if r := o.api["gro"].Get(t, "/api/v1/grievances/search?q=road&page="+p); r.Status != http.StatusBadRequest {
				t.Errorf("page %s: %d", p, r.Status)
			}
		}
		for i := 0; i < 27; i++ {
			o.file(t, "pothole", "Broken culvert number "+itoa(int64(i)), aizawl, o.citizenID)
		}
		p1, p2 := search("gro", "culvert"), searchPage(t, o, "culvert", 2)
		if len(p1.Rows) != 25 || !p1.More || len(p2.Rows) != 2 || p2.More {
			t.Errorf("pages: %d %v / %d %v", len(p1.Rows), p1.More, len(p2.Rows), p2.More)
		}
		for _, r := range p2.Rows {
			if has(p1.Rows, r.Ref) {
				t.Errorf("%s on both pages", r.Ref)
			}
		}
		// The page: an exact reference jumps to the case.
		br := o.browser(t, "gro")
		if r := br.Get(t, "/grievances/search?q="+url.QueryEscape(a.Ref)); r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/grievances/office/"+a.Ref {
			t.Errorf("jump: %d %s", r.Status, r.Header.Get("Location"))
		}
		r := br.Get(t, "/grievances/search?q=culvert")
		if r.Status != http.StatusOK || !contains(r.Body, "page=2") {
			t.Errorf("search page: %d", r.Status)
		}
		if r := br.Get(t, "/grievances/search?q="+url.QueryEscape(`" AND OR *`)); r.Status != http.StatusOK {
			t.Errorf("hostile page: %d", r.Status)
		}
	})
}

func searchPage(t *testing.T, o *office, q string, page int) searchResult {
	t.Helper()
	r := o.api["gro"].Get(t, "/api/v1/grievances/search?q="+url.QueryEscape(q)+"&page="+itoa(int64(page)))
	var s searchResult
	decode(t, r, &s)
	return s
}
