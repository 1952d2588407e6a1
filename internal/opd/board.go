package opd

import (
	"errors"
	"net/http"
	"strconv"

	"mizogov/internal/db"
	"mizogov/internal/web"
)

// The display board of a waiting hall: for each of today's sessions, the
// token numbers being served now and those waiting next. It shows tokens
// only, never names. The hall's screen opens it with ?auto=1: it then
// reloads itself every BoardRefresh seconds with a meta refresh, so it runs
// on any screen's browser without JavaScript. Without ?auto a person's own
// phone gets the same board without a page that changes under them
// (WCAG 2.2.1), with a link to turn the refresh on and off.

// BoardRefresh is how often the board reloads, in seconds.
const BoardRefresh = 15

type boardPage struct {
	page
	Hospital   Hospital
	Department *Department
	Sessions   []SessionQueue
	Refresh    int // seconds between reloads; 0 for none
	Updated    string
	Self       string // this board's address without ?auto
}

func (s *Service) board(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id, err := pathID(r, "hospital")
	if err != nil {
		return err
	}
	h, err := s.Hospital(ctx, id)
	if errors.Is(err, db.ErrNotFound) || (err == nil && !h.Active) {
		return web.NotFound()
	}
	if err != nil {
		return err
	}
	now := s.now()
	data := &boardPage{Hospital: h, Updated: now.In(IST).Format("15:04"), Self: "/opd/board/" + strconv.FormatInt(h.ID, 10)}
	if r.URL.Query().Get("auto") == "1" {
		data.Refresh = BoardRefresh
	}
	f := SessionFilter{HospitalID: h.ID, From: Today(now), To: Today(now), OpenOnly: true}
	if raw := r.URL.Query().Get("department"); raw != "" {
		did, _ := strconv.ParseInt(raw, 10, 64)
		d, err := s.Department(ctx, did)
		if err != nil || d.HospitalID != h.ID {
			return web.NotFound()
		}
		data.Department = &d
		f.DepartmentID = d.ID
		data.Self += "?department=" + raw
	}
	sessions, err := s.Sessions(ctx, f)
	if err != nil {
		return err
	}
	for _, x := range sessions {
		sq, err := s.sessionQueue(ctx, x)
		if err != nil {
			return err
		}
		sq.Bookings = nil // the board never carries names
		if len(sq.Next) > 6 {
			sq.Next = sq.Next[:6]
		}
		if len(sq.Serving) > 3 {
			sq.Serving = sq.Serving[:3]
		}
		data.Sessions = append(data.Sessions, sq)
	}
	w.Header().Set("Cache-Control", "no-store")
	return s.Render.Page(w, r, http.StatusOK, "opd/board.html", data)
}
