package i18n

import (
	"embed"
	"io/fs"
)

//go:embed messages/*.json
var messages embed.FS

// Core returns the platform's own messages (layout, sign-in, admin, errors).
func Core() fs.FS {
	sub, err := fs.Sub(messages, "messages")
	if err != nil {
		panic(err) // the embedded folder always exists
	}
	return sub
}
