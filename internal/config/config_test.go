package config

import (
	"flag"
	"io"
	"testing"
	"time"
)

func TestLoadPrecedence(t *testing.T) {
	env := map[string]string{"MIZOGOV_ADDR": "0.0.0.0:9000", "MIZOGOV_DATA": "/srv/mz", "MIZOGOV_DEMO": "true", "MIZOGOV_SESSION_IDLE": "15m"}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	c, err := Load(fs, []string{"--addr", "127.0.0.1:7000"}, func(k string) (string, bool) { v, ok := env[k]; return v, ok }, RegisterServe)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:7000" || c.DataDir != "/srv/mz" || !c.Demo || c.SessionIdle != 15*time.Minute {
		t.Fatalf("%+v", c)
	}
	if c.SQLitePath() != "/srv/mz/mizogov.db" || c.IsPostgres() {
		t.Fatal("sqlite path")
	}
}

func TestLoadRejectsBadValues(t *testing.T) {
	for _, env := range []map[string]string{
		{"MIZOGOV_DEMO": "perhaps"}, {"MIZOGOV_SESSION_MAX": "-1h"}, {"MIZOGOV_DB": "mysql://x"},
		{"MIZOGOV_SMS": "http"}, {"MIZOGOV_EMAIL": "pigeon"},
	} {
		fs := flag.NewFlagSet("x", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		if _, err := Load(fs, nil, func(k string) (string, bool) { v, ok := env[k]; return v, ok }, RegisterServe); err == nil {
			t.Errorf("%v accepted", env)
		}
	}
}
