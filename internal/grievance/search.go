package grievance

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode"

	"mizogov/internal/auth"
	"mizogov/internal/db"
	"mizogov/internal/refno"
	"mizogov/internal/web"
	"mizogov/internal/workflow"
)

// Search limits.
const (
	SearchPage     = 25
	MaxSearchPages = 40 // deeper than this, refine the words
	maxSearchTerms = 12
	maxSearchLen   = 200
)

// SearchResult is one page of an officer's search.
type SearchResult struct {
	Query string     `json:"query"`
	Rows  []InboxRow `json:"grievances"`
	Page  int        `json:"page"`
	More  bool       `json:"more" doc:"another page follows (?page=N+1)"`
	Jump  string     `json:"ref,omitempty" doc:"the query was a grievance's reference number"`
}

// searchTerms splits what an officer typed into plain words: letters and
// digits only, so that nothing they type is read as search syntax.
func searchTerms(q string) []string {
	if len(q) > maxSearchLen {
		q = q[:maxSearchLen]
	}
	words := strings.FieldsFunc(strings.ToLower(q), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.IsMark(r) })
	if len(words) > maxSearchTerms {
		words = words[:maxSearchTerms]
	}
	return words
}

// ftsQuery is safe FTS5 syntax for the words: each one a quoted string
// (every word must match), the last one also as a prefix.
func ftsQuery(words []string) string {
	parts := make([]string, len(words))
	for i, w := range words {
		parts[i] = `"` + strings.ReplaceAll(w, `"`, `""`) + `"`
		if i == len(words)-1 {
			parts[i] += "*"
		}
	}
	return strings.Join(parts, " ")
}

// Search finds grievances by their words (description, address,
// reference) where p works grievances, best matches first: FTS5 on
// SQLite, the 'simple' tsvector on PostgreSQL. A reference number typed
// whole is looked up directly (Jump), still within p's jurisdiction.
func (s *Service) Search(ctx context.Context, p *auth.Principal, q string, page int) (SearchResult, error) {
	res := SearchResult{Query: strings.TrimSpace(q), Page: page, Rows: []InboxRow{}}
	if page < 1 || page > MaxSearchPages {
		return res, web.BadRequest("grievance.search_bad_page", "max", MaxSearchPages)
	}
	if _, service, err := refno.Parse(res.Query); err == nil && service == RefService {
		g, c, err := s.officeCase(ctx, s.DB.R(), p, res.Query)
		if err == nil {
			res.Jump = g.Ref
			n, err := s.names(ctx, langOf(ctx))
			if err != nil {
				return res, err
			}
			res.Rows, err = s.rows(ctx, n, []workflow.Case{c})
			return res, err
		}
		if web.AsError(err).Status != http.StatusNotFound {
			return res, err
		}
		return res, nil
	}
	words := searchTerms(res.Query)
	if len(words) == 0 {
		return res, nil
	}
	args := []any{}
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	var text string
	var tsq string
	if s.DB.Dialect == db.Postgres {
		// Every word but the last as websearch words, the last also as a
		// prefix (it holds only letters and digits, so it is no operator).
		tsq = `(websearch_to_tsquery('simple', ` + arg(strings.Join(words[:len(words)-1], " ")) + `) && to_tsquery('simple', ` +
			arg(words[len(words)-1]+":*") + `))`
		text = `SELECT g.case_id FROM grv_grievances g JOIN wf_cases c ON c.id = g.case_id WHERE g.search @@ ` + tsq
	} else {
		text = `SELECT g.case_id FROM grv_fts JOIN grv_grievances g ON g.case_id = grv_fts.rowid JOIN wf_cases c ON c.id = g.case_id
			WHERE grv_fts MATCH ` + arg(ftsQuery(words))
	}
	scope, ok := scopeSQL(p, arg)
	if !ok {
		return res, nil
	}
	if scope != "" {
		text += ` AND ` + scope
	}
	if s.DB.Dialect == db.Postgres {
		text += ` ORDER BY ts_rank(g.search, ` + tsq + `) DESC, g.case_id DESC`
	} else {
		text += ` ORDER BY grv_fts.rank, g.case_id DESC`
	}
	text += ` LIMIT ` + strconv.Itoa(SearchPage+1) + ` OFFSET ` + strconv.Itoa((page-1)*SearchPage)
	rows, err := s.DB.R().QueryContext(ctx, text, args...)
	if err != nil {
		return res, err
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return res, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return res, err
	}
	if len(ids) > SearchPage {
		ids, res.More = ids[:SearchPage], page < MaxSearchPages
	}
	cases, err := s.Workflow.Cases(ctx, s.DB.R(), ids)
	if err != nil {
		return res, err
	}
	n, err := s.names(ctx, langOf(ctx))
	if err != nil {
		return res, err
	}
	res.Rows, err = s.rows(ctx, n, cases)
	return res, err
}

func searchPageNo(v string) (int, error) {
	if v == "" {
		return 1, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > MaxSearchPages {
		return 0, web.BadRequest("grievance.search_bad_page", "max", MaxSearchPages)
	}
	return n, nil
}

type searchData struct {
	SearchResult
	NextURL  string
	Searched bool
}

func (s *Service) searchPage(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	page, err := searchPageNo(q.Get("page"))
	if err != nil {
		return err
	}
	d := searchData{SearchResult: SearchResult{Query: q.Get("q"), Page: 1}}
	if strings.TrimSpace(d.Query) != "" {
		d.Searched = true
		if d.SearchResult, err = s.Search(r.Context(), me(r), d.Query, page); err != nil {
			return err
		}
		if d.Jump != "" {
			http.Redirect(w, r, "/grievances/office/"+url.PathEscape(d.Jump), http.StatusSeeOther)
			return nil
		}
		if d.More {
			d.NextURL = "/grievances/search?" + url.Values{"q": {d.Query}, "page": {strconv.Itoa(page + 1)}}.Encode()
		}
	}
	return s.Render.Page(w, r, http.StatusOK, "grievance/officer_search.html", d)
}
