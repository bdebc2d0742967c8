package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestFromEnvDefaults(t *testing.T) {
	t.Parallel()
	c, err := FromEnv(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:8080" || c.BaseURL != "http://127.0.0.1:8080" || c.DataDir != ".data" || c.LogFormat != "text" || c.TrustProxy {
		t.Errorf("got %+v", c)
	}
}

func TestFromEnvErrors(t *testing.T) {
	t.Parallel()
	for name, m := range map[string]map[string]string{
		"BACKSTOP_BASE_URL":          {"BACKSTOP_BASE_URL": "not a url"},
		"BACKSTOP_ALERT_WEBHOOK_URL": {"BACKSTOP_ALERT_WEBHOOK_URL": "/relative"},
		"BACKSTOP_LOG_FORMAT":        {"BACKSTOP_LOG_FORMAT": "xml"},
		"BACKSTOP_TRUST_PROXY":       {"BACKSTOP_TRUST_PROXY": "maybe"},
	} {
		if _, err := FromEnv(env(m)); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: got %v, want an error naming it", name, err)
		}
	}
}

// The generated key is created once and read back on the next start, so a
// restart can open what the last run sealed.
func TestEnsureSecretKeyPersists(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a := Config{DataDir: dir}
	if err := a.EnsureSecretKey(); err != nil {
		t.Fatal(err)
	}
	b := Config{DataDir: dir}
	b.EnsureSecretKey()
	if a.SecretKey == "" || a.SecretKey != b.SecretKey || !a.SecretKeyFromFile {
		t.Errorf("got %q then %q", a.SecretKey, b.SecretKey)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "secret.key")); fi.Mode().Perm() != 0o600 {
		t.Errorf("secret.key mode %v, want 0600", fi.Mode().Perm())
	}
	c := Config{DataDir: dir, SecretKey: "from the environment"}
	c.EnsureSecretKey()
	if c.SecretKey != "from the environment" {
		t.Error("the environment's key was replaced")
	}
}
