// Package static embeds Backstop's CSS, JavaScript and icons, and names each
// file with a content hash so browsers can cache it for a year.
package static

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
)

//go:embed css js img
var FS embed.FS

var hashes = func() map[string]string {
	m := map[string]string{}
	fs.WalkDir(FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := FS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		m[p] = hex.EncodeToString(sum[:6])
		return nil
	})
	return m
}()

// URL is the cache-busting address of an embedded file, e.g.
// URL("css/app.css") = "/static/css/app.css?v=1a2b3c4d5e6f".
func URL(name string) string {
	return "/static/" + name + "?v=" + hashes[name]
}
