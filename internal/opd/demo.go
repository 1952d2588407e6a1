package opd

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"mizogov/internal/audit"
	"mizogov/internal/db"
	"mizogov/internal/refno"
)

// SeedDemo gives Aizawl Civil Hospital doctors, weekly templates, a week of
// sessions (and two past days) and bookings in every state, some of them
// for the demo citizen's family. It expects the core demo data (the HFW
// department and the demo citizen).
func (s *Service) SeedDemo(ctx context.Context) error {
	now := s.now()
	actor := audit.System("demo")
	var hfw, citizen int64
	if err := s.DB.R().QueryRowContext(ctx, `SELECT id FROM departments WHERE code = 'HFW'`).Scan(&hfw); err != nil {
		return fmt.Errorf("demo needs the HFW department: %w", err)
	}
	if err := s.DB.R().QueryRowContext(ctx, `SELECT id FROM people WHERE phone = '+919862000001'`).Scan(&citizen); err != nil {
		return fmt.Errorf("demo needs the demo citizen: %w", err)
	}
	depts := map[string]int64{}
	rows, err := s.DB.R().QueryContext(ctx, `SELECT code, id FROM opd_departments WHERE hospital_id = 1`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var c string
		var id int64
		if err := rows.Scan(&c, &id); err != nil {
			rows.Close()
			return err
		}
		depts[c] = id
	}
	rows.Close()
	doctors := []struct{ Dept, Name, Qual string }{
		{"MED", "Dr. Lalrinfela", "MD (Medicine)"}, {"MED", "Dr. Zorinsangi", "MD (Medicine)"},
		{"SURG", "Dr. Vanlalruata", "MS (Surgery)"}, {"OBG", "Dr. Lalhmangaihi", "MS (Obs & Gynae)"},
		{"PAED", "Dr. Rohmingliana", "MD (Paediatrics)"}, {"ORTH", "Dr. C. Lalthangliana", "MS (Ortho)"},
		{"OPHT", "Dr. Lalmuanpuii", "MS (Ophthalmology)"}, {"ENT", "Dr. H. Zothanpuia", "MS (ENT)"},
	}
	err = s.DB.Tx(ctx, func(tx *db.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE opd_hospitals SET department_id = $1 WHERE id = 1`, hfw); err != nil {
			return err
		}
		docIDs := map[string]int64{}
		for _, d := range doctors {
			var id int64
			if err := tx.QueryRowContext(ctx, `INSERT INTO opd_doctors (department_id, name, qualification) VALUES ($1, $2, $3) RETURNING id`,
				depts[d.Dept], d.Name, d.Qual).Scan(&id); err != nil {
				return err
			}
			if _, ok := docIDs[d.Dept]; !ok {
				docIDs[d.Dept] = id
			}
		}
		// Weekdays 09:00–13:00 (Saturday 09:00–12:00), as Mizoram's OPDs keep.
		for code, dept := range depts {
			for wd := 1; wd <= 6; wd++ {
				end, online, counter := 13*60, 60, 30
				if wd == 6 {
					end, online, counter = 12*60, 30, 20
				}
				if code == "MED" {
					online, counter = 120, 60
				}
				var doctor any
				if id, ok := docIDs[code]; ok {
					doctor = id
				}
				if _, err := tx.ExecContext(ctx, `INSERT INTO opd_templates (department_id, doctor_id, weekday, start_minute, end_minute,
					online_capacity, counter_quota, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
					dept, doctor, wd, 9*60, end, online, counter, db.Time(now)); err != nil {
					return err
				}
			}
		}
		_, err := s.Audit.Append(ctx, tx, audit.Event{Action: "opd.demo", ObjectType: "opd_hospital", ObjectID: "1", Actor: actor,
			Summary: "demo doctors and weekly templates"})
		return err
	})
	if err != nil {
		return err
	}
	if _, err := s.Plan(ctx, actor); err != nil {
		return err
	}
	h, err := s.Hospital(ctx, 1)
	if err != nil {
		return err
	}
	today, _ := ParseDay(Today(now))
	// Today's session in Medicine whatever the weekday, and two past days.
	med := depts["MED"]
	return s.DB.Tx(ctx, func(tx *db.Tx) error {
		todayID, err := s.demoSession(ctx, tx, h, med, today)
		if err != nil {
			return err
		}
		family := []struct {
			Rel, Name, Sex string
			Born           int
		}{{"self", "Lalremsiami", "female", 1988}, {"child", "Lalhruaitluangi", "female", 2015}, {"parent", "Thangzuala", "male", 1956}}
		var famIDs []int64
		for _, f := range family {
			var id int64
			if err := tx.QueryRowContext(ctx, `INSERT INTO opd_patients (account_id, relation, name, sex, birth_year, phone, created_at)
				VALUES ($1, $2, $3, $4, $5, '', $6) RETURNING id`, citizen, f.Rel, f.Name, f.Sex, f.Born, db.Time(now)).Scan(&id); err != nil {
				return err
			}
			famIDs = append(famIDs, id)
		}
		names := []string{"Lalnunmawii", "Zothanmawia", "Vanlalhruaii", "Lalbiakzuala", "Malsawmdawngi", "Ramdinthara", "Lalramliana",
			"Zodinpuii", "Lalchhanhima", "Biakthansangi", "Lalmalsawma", "Rosangpuii", "Laldinpuia", "Vanlalremruati", "Lalhriatpuia",
			"Zonunsangi", "Lalrinmawia", "Chawngthanpuii"}
		statuses := []string{StatusDone, StatusDone, StatusDone, StatusNoShow, StatusInConsultation, StatusCheckedIn, StatusCheckedIn,
			StatusCheckedIn, StatusBooked, StatusBooked, StatusBooked, StatusCancelled, StatusBooked, StatusCheckedIn, StatusBooked,
			StatusBooked, StatusBooked, StatusBooked}
		for i, n := range names {
			var pid int64
			if err := tx.QueryRowContext(ctx, `INSERT INTO opd_patients (account_id, relation, name, sex, birth_year, phone, created_at)
				VALUES (NULL, 'walkin', $1, $2, $3, '', $4) RETURNING id`, n, []string{"female", "male"}[i%2], 1950+i*3, db.Time(now)).Scan(&pid); err != nil {
				return err
			}
			channel := ChannelCounter
			if i%3 == 0 {
				channel = ChannelOnline
			}
			if _, err := s.demoBooking(ctx, tx, todayID, pid, 0, channel, statuses[i], now); err != nil {
				return err
			}
		}
		// The citizen's family: today checked in, later this week booked, one cancelled, two past visits.
		if _, err := s.demoBooking(ctx, tx, todayID, famIDs[0], citizen, ChannelOnline, StatusCheckedIn, now); err != nil {
			return err
		}
		for i, dayOff := range []int{2, 3} {
			var sid int64
			err := tx.QueryRowContext(ctx, `SELECT id FROM opd_sessions WHERE department_id = $1 AND day >= $2 ORDER BY day LIMIT 1 OFFSET $3`,
				depts[[]string{"PAED", "OPHT"}[i]], today.AddDate(0, 0, 1).Format(DayLayout), dayOff-2).Scan(&sid)
			if err != nil {
				return err
			}
			status := StatusBooked
			if i == 1 {
				status = StatusCancelled
			}
			if _, err := s.demoBooking(ctx, tx, sid, famIDs[i+1], citizen, ChannelOnline, status, now); err != nil {
				return err
			}
		}
		for back := 1; back <= 2; back++ {
			day := today.AddDate(0, 0, -back)
			sid, err := s.demoSession(ctx, tx, h, med, day)
			if err != nil {
				return err
			}
			for i := range 6 {
				var pid int64
				if err := tx.QueryRowContext(ctx, `INSERT INTO opd_patients (account_id, relation, name, sex, birth_year, phone, created_at)
					VALUES (NULL, 'walkin', $1, 'male', $2, '', $3) RETURNING id`, names[(i+back*5)%len(names)], 1960+i, db.Time(now)).Scan(&pid); err != nil {
					return err
				}
				status := StatusDone
				if i == 4 {
					status = StatusNoShow
				}
				if _, err := s.demoBooking(ctx, tx, sid, pid, 0, ChannelCounter, status, now); err != nil {
					return err
				}
			}
			if back == 1 {
				if _, err := s.demoBooking(ctx, tx, sid, famIDs[2], citizen, ChannelOnline, StatusDone, now); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// demoSession finds or makes the Medicine session of a day.
func (s *Service) demoSession(ctx context.Context, tx *db.Tx, h Hospital, dept int64, day time.Time) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `SELECT id FROM opd_sessions WHERE department_id = $1 AND day = $2 ORDER BY id LIMIT 1`, dept, day.Format(DayLayout)).Scan(&id)
	if err == nil {
		return id, nil
	}
	return s.AddSession(ctx, tx, h, dept, 0, day, 9*60, 13*60, 120, 60)
}

// demoBooking books without the booking window (the demo fills past and
// running sessions) but through the same counters and constraints.
func (s *Service) demoBooking(ctx context.Context, tx *db.Tx, sessionID, patientID, accountID int64, channel, status string, now time.Time) (int64, error) {
	col := "online_booked"
	if channel == ChannelCounter {
		col = "counter_booked"
	}
	var token, hospital, dept int64
	var day string
	if err := tx.QueryRowContext(ctx, `UPDATE opd_sessions SET `+col+` = `+col+` + 1, last_token = last_token + 1 WHERE id = $1
		RETURNING last_token, hospital_id, department_id, day`, sessionID).Scan(&token, &hospital, &dept, &day); err != nil {
		return 0, err
	}
	if _, err := s.uhid(ctx, tx, patientID, hospital, now); err != nil {
		return 0, err
	}
	ref, err := refno.Next(ctx, tx, RefService, now)
	if err != nil {
		return 0, err
	}
	var booker any
	if accountID != 0 {
		booker = accountID
	}
	t := db.Time(now)
	var in, called, done any
	switch status {
	case StatusCheckedIn:
		in = t
	case StatusInConsultation:
		in, called = t, t
	case StatusDone:
		in, called, done = t, t, t
	}
	var id int64
	err = tx.QueryRowContext(ctx, `INSERT INTO opd_bookings (refno, session_id, department_id, day, patient_id, booked_by, channel, token, status,
		created_at, checked_in_at, called_at, done_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id`,
		ref, sessionID, dept, day, patientID, booker, channel, token, status, t, in, called, done).Scan(&id)
	if err != nil {
		return 0, err
	}
	if status == StatusCancelled {
		if _, err := tx.ExecContext(ctx, `UPDATE opd_bookings SET cancelled_at = $2, cancel_reason = 'patient' WHERE id = $1`, id, t); err != nil {
			return 0, err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE opd_sessions SET `+col+` = `+col+` - 1 WHERE id = $1`, sessionID); err != nil {
			return 0, err
		}
	}
	_, err = s.Audit.Append(ctx, tx, audit.Event{Action: "opd.book", ObjectType: "opd_booking", ObjectID: strconv.FormatInt(id, 10),
		SubjectID: accountID, Actor: audit.System("demo"), Summary: map[string]any{"refno": ref, "token": token, "status": status}})
	return id, err
}
