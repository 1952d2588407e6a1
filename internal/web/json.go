package web

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
)

// DecodeJSON reads one JSON object into v. Unknown fields, trailing data,
// a wrong content type and malformed JSON are all client errors.
func DecodeJSON(r *http.Request, v any) error {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "application/json" && !strings.HasSuffix(ct, "+json") {
		return NewError(http.StatusUnsupportedMediaType, "unsupported_media_type", "error.json_content_type")
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return AsError(err)
		}
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) {
			e := BadRequest("error.json_type", "field", ute.Field)
			e.Code = "invalid_json"
			e.Err = err
			return e
		}
		if field, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			e := BadRequest("error.json_unknown_field", "field", strings.Trim(field, `"`))
			e.Code = "unknown_field"
			e.Err = err
			return e
		}
		e := BadRequest("error.json_malformed")
		e.Code = "invalid_json"
		e.Err = err
		return e
	}
	if _, err := dec.Token(); err != io.EOF {
		e := BadRequest("error.json_malformed")
		e.Code = "invalid_json"
		return e
	}
	return nil
}
