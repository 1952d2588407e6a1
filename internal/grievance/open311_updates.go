package grievance

import (
	"database/sql"
	"encoding/xml"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"mizogov/internal/db"
	"mizogov/internal/refno"
	"mizogov/internal/web"
	"mizogov/internal/workflow"
)

// The mySociety (FixMyStreet) extension servicerequestupdates: GET lists
// the public steps of grievances (what officers did, and that the person
// who filed added something, without their words); POST lets the client
// that filed a grievance add the reporter's words to it.

type o311Update struct {
	UpdateID           string `xml:"update_id" json:"update_id"`
	ServiceRequestID   string `xml:"service_request_id" json:"service_request_id"`
	Status             string `xml:"status" json:"status"`
	UpdatedDatetime    string `xml:"updated_datetime" json:"updated_datetime"`
	Description        string `xml:"description" json:"description"`
	MediaURL           string `xml:"media_url" json:"media_url"`
	ExternalStatusCode string `xml:"external_status_code" json:"external_status_code"`
}

type o311Updates struct {
	XMLName xml.Name     `xml:"service_request_updates"`
	Updates []o311Update `xml:"request_update"`
}

type o311Posted struct {
	UpdateID string `xml:"update_id" json:"update_id"`
}

type o311PostedList struct {
	XMLName xml.Name     `xml:"service_request_updates"`
	Updates []o311Posted `xml:"request_update"`
}

// o311ListUpdates answers GET /open311/v2/servicerequestupdates.{xml,json}.
// The window is start_date … end_date or updated_after … updated_before
// (aliases; at most 90 days; the last 90 days by default), optionally for
// some requests (service_request_id, comma-separated), oldest first, with
// page and page_size (at most 1,000).
func (s *Service) o311ListUpdates(w http.ResponseWriter, r *http.Request) error {
	_, format := o311Format(r.URL.Path)
	if err := o311Jurisdiction(r); err != nil {
		return err
	}
	q := r.URL.Query()
	ts, err := o311Times(q, "start_date", "end_date", "updated_after", "updated_before")
	if err != nil {
		return err
	}
	start, end := ts["start_date"], ts["end_date"]
	if start.IsZero() {
		start = ts["updated_after"]
	}
	if end.IsZero() {
		end = ts["updated_before"]
	}
	switch {
	case start.IsZero() && end.IsZero():
		end = s.now()
		start = end.Add(-o311Window)
	case end.IsZero():
		end = start.Add(o311Window)
	case start.IsZero():
		start = end.Add(-o311Window)
	}
	if end.Before(start) {
		return o311Refuse("grievance.o311_range_order")
	}
	if end.Sub(start) > o311Window {
		return o311Refuse("grievance.o311_range_long", "days", int(o311Window.Hours()/24))
	}
	page, size := 1, o311MaxResults
	for name, dst := range map[string]*int{"page": &page, "page_size": &size} {
		if v := o311Arg(q, name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || (name == "page_size" && n > o311MaxResults) || (name == "page" && n > 1_000_000) {
				return o311Refuse("grievance.o311_paging", "max", o311MaxResults)
			}
			*dst = n
		}
	}
	var args []any
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	where := []string{"h.public", "h.action <> 'create'", "h.at >= " + arg(db.Time(start)), "h.at <= " + arg(db.Time(end))}
	if v := o311Arg(q, "service_request_id"); v != "" {
		ids := o311List(v)
		if len(ids) > o311MaxIDs {
			return o311Refuse("grievance.o311_too_many_ids", "max", o311MaxIDs)
		}
		var marks []string
		for _, id := range ids {
			if ref, svc, err := refno.Parse(id); err == nil && svc == RefService {
				marks = append(marks, arg(ref))
			}
		}
		if len(marks) == 0 {
			return o311Write(w, r, format, http.StatusOK, o311Updates{}, []o311Update{})
		}
		where = append(where, "g.ref IN ("+strings.Join(marks, ", ")+")")
	}
	rows, err := s.DB.R().QueryContext(r.Context(), `SELECT h.id, g.ref, h.at, h.action, h.role, h.to_state, h.comment
		FROM wf_history h JOIN grv_grievances g ON g.case_id = h.case_id
		WHERE `+strings.Join(where, " AND ")+` ORDER BY h.at, h.id LIMIT `+arg(size)+` OFFSET `+arg((page-1)*size), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	final := map[string]bool{}
	for _, st := range Workflow().States {
		final[st.Name] = st.Final
	}
	lang := web.LangOf(r)
	list := []o311Update{}
	for rows.Next() {
		var id int64
		var at time.Time
		var u o311Update
		var action, role, to, comment string
		if err := rows.Scan(&id, &u.ServiceRequestID, &at, &action, &role, &to, &comment); err != nil {
			return err
		}
		u.UpdateID, u.UpdatedDatetime, u.Status, u.ExternalStatusCode = strconv.FormatInt(id, 10), o311Time(at), o311StatusOf(!final[to]), to
		u.Description = comment
		if role == workflow.Owner {
			u.Description = s.Render.Cat.T(lang, "grievance.o311_step_"+action)
		}
		list = append(list, u)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return o311Write(w, r, format, http.StatusOK, o311Updates{Updates: list}, list)
}

// o311PostUpdate answers POST /open311/v2/servicerequestupdates.{xml,json}.
// A client may post, for a grievance it filed itself (with the same key)
// and that has a reporter (filed with a phone or email), the reporter's
// words: status OPEN (or none) adds a note, or, when the officer asked for
// information, the answer that returns the grievance to them; status
// REOPEN reopens a resolved grievance. Officers' steps (closing, fixing …)
// are never taken from a client: any other status is refused. Each
// update_id is recorded, so a retried POST returns the first answer.
func (s *Service) o311PostUpdate(w http.ResponseWriter, r *http.Request) error {
	format, client, err := s.o311PostStart(r)
	if err != nil {
		return err
	}
	f := r.PostForm
	get := func(k string) string { return strings.TrimSpace(f.Get(k)) }
	for _, k := range []string{"service_request_id", "update_id", "description"} {
		if get(k) == "" {
			return o311Refuse("grievance.o311_required", "field", k)
		}
	}
	updateID := get("update_id")
	if len(updateID) > 100 {
		return o311Refuse("grievance.o311_update_id")
	}
	if v := get("updated_datetime"); v != "" {
		if _, ok := o311ParseTime(v); !ok {
			return o311Refuse("grievance.o311_datetime", "field", "updated_datetime")
		}
	}
	if n := len([]rune(get("description"))); n > workflow.MaxComment {
		return o311Refuse("grievance.o311_description_long", "max", workflow.MaxComment, "n", n)
	}
	status := strings.ToUpper(get("status"))
	if status != "" && status != "OPEN" && status != "REOPEN" {
		return o311Refuse("grievance.o311_update_status")
	}
	ctx := r.Context()
	g, err := s.GetByRef(ctx, s.DB.R(), get("service_request_id"))
	if errors.Is(err, db.ErrNotFound) {
		return o311NoRequest()
	}
	if err != nil {
		return err
	}
	var owner string
	err = s.DB.R().QueryRowContext(ctx, `SELECT api_client FROM grv_open311 WHERE case_id = $1`, g.CaseID).Scan(&owner)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && owner != client) {
		e := web.Forbidden()
		e.Key = "grievance.o311_not_yours"
		return e
	}
	if err != nil {
		return err
	}
	if g.CitizenID == 0 {
		return o311Refuse("grievance.o311_no_reporter")
	}
	var historyID int64
	err = s.DB.Tx(ctx, func(tx *db.Tx) error {
		var seen int64
		err := tx.QueryRowContext(ctx, `SELECT history_id FROM grv_open311_updates WHERE api_client = $1 AND update_id = $2`, client, updateID).Scan(&seen)
		if err == nil {
			historyID = seen
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		c, err := s.Workflow.Get(ctx, tx, g.CaseID)
		if err != nil {
			return err
		}
		action := "note"
		switch {
		case status == "REOPEN":
			action = "reopen"
			if c.State == StResolved && s.now().Sub(c.StateSince) > ReopenDays*24*time.Hour {
				return o311Refuse("grievance.o311_reopen_late", "days", ReopenDays)
			}
		case c.State == StInfo:
			action = "add_info"
		}
		step, err := s.Workflow.Act(ctx, tx, workflow.Act{CaseID: c.ID, Action: action, Version: c.Version, Comment: get("description"),
			Actor: workflow.Actor{ID: g.CitizenID, Label: "apikey:" + client}})
		if err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `SELECT id FROM wf_history WHERE case_id = $1 AND seq = $2`, c.ID, step.Case.Version).
			Scan(&historyID); err != nil {
			return err
		}
		reopened := 0
		if action == "reopen" {
			reopened = 1
		}
		if _, err := tx.ExecContext(ctx, `UPDATE grv_grievances SET reopened = reopened + $2, updated_at = $3 WHERE case_id = $1`,
			c.ID, reopened, db.Time(s.now())); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO grv_open311_updates (api_client, update_id, case_id, history_id, created_at)
			VALUES ($1, $2, $3, $4, $5)`, client, updateID, c.ID, historyID, db.Time(s.now()))
		return err
	})
	if err != nil {
		return err
	}
	list := []o311Posted{{UpdateID: strconv.FormatInt(historyID, 10)}}
	w.Header().Set("Cache-Control", "no-store")
	return o311Write(w, r, format, http.StatusOK, o311PostedList{Updates: list}, list)
}
