package grievance

import (
	"embed"
	"net/http"
)

//go:embed static/citizen.js static/citizen.css
var citizenStatic embed.FS

// citizenJS serves the filing form's small enhancement ("use my location",
// the description's character count). The form works without it.
func (s *Service) citizenJS(w http.ResponseWriter, r *http.Request) error {
	return serveCitizenStatic(w, "citizen.js", "text/javascript; charset=utf-8")
}

// citizenCSS is the citizen pages' few styles beyond the site's.
func (s *Service) citizenCSS(w http.ResponseWriter, r *http.Request) error {
	return serveCitizenStatic(w, "citizen.css", "text/css; charset=utf-8")
}

func serveCitizenStatic(w http.ResponseWriter, name, ctype string) error {
	b, err := citizenStatic.ReadFile("static/" + name)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, err = w.Write(b)
	return err
}
