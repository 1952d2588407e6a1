package geo

import _ "embed"

// Sample is a small demo set of villages: real place names, made-up codes
// (DEMO-…). Production data comes from the LGD directory via `mizogov geo import`.
//
//go:embed sample.csv
var Sample []byte
