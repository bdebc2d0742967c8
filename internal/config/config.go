// Package config reads Backstop's process configuration from the environment.
// Every variable has a default that works for `make run`; per-tenant settings
// live in the database, not here.
package config

import (
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// Config is the process configuration.
type Config struct {
	// DatabaseURL is a lib/pq URL; empty means a private cluster under DataDir.
	DatabaseURL string
	// Addr is where the web server listens.
	Addr string
	// SecretKey seals stored API keys and webhook secrets and keys sessions.
	SecretKey string
	// SecretKeyFromFile is true when SecretKey was generated into DataDir.
	SecretKeyFromFile bool
	// BaseURL is how the outside world reaches Backstop (webhook URLs, links).
	BaseURL string
	// AlertWebhookURL receives engineering escalations as JSON POSTs.
	AlertWebhookURL string
	// DataDir holds the private cluster and the generated secret key.
	DataDir string
	// LogFormat is text or json.
	LogFormat string
	// TrustProxy makes the web server take client addresses from
	// X-Forwarded-For (only behind a proxy you run).
	TrustProxy bool
}

// Vars documents every variable, for --help and the README.
var Vars = []struct{ Name, Default, Help string }{
	{"DATABASE_URL", "(private cluster)", "PostgreSQL URL; unset starts a private cluster under BACKSTOP_DATA_DIR/postgres"},
	{"BACKSTOP_ADDR", "127.0.0.1:8080", "web server listen address"},
	{"BACKSTOP_SECRET_KEY", "(generated)", "seals stored secrets and keys sessions; unset generates one into BACKSTOP_DATA_DIR/secret.key"},
	{"BACKSTOP_BASE_URL", "http://BACKSTOP_ADDR", "public URL of Backstop, used in webhook URLs"},
	{"BACKSTOP_ALERT_WEBHOOK_URL", "(none)", "engineering escalations are POSTed here as JSON"},
	{"BACKSTOP_DATA_DIR", ".data", "where the private cluster and generated key live"},
	{"BACKSTOP_LOG_FORMAT", "text", "text or json"},
	{"BACKSTOP_TRUST_PROXY", "false", "take client addresses from X-Forwarded-For (only behind your own proxy)"},
}

// FromEnv reads the configuration. It does not create anything; call
// EnsureSecretKey before a command that needs the key.
func FromEnv(getenv func(string) string) (Config, error) {
	c := Config{
		DatabaseURL:     getenv("DATABASE_URL"),
		Addr:            cmp.Or(getenv("BACKSTOP_ADDR"), "127.0.0.1:8080"),
		SecretKey:       getenv("BACKSTOP_SECRET_KEY"),
		BaseURL:         getenv("BACKSTOP_BASE_URL"),
		AlertWebhookURL: getenv("BACKSTOP_ALERT_WEBHOOK_URL"),
		DataDir:         cmp.Or(getenv("BACKSTOP_DATA_DIR"), ".data"),
		LogFormat:       cmp.Or(getenv("BACKSTOP_LOG_FORMAT"), "text"),
	}
	switch strings.ToLower(getenv("BACKSTOP_TRUST_PROXY")) {
	case "", "0", "false", "no":
	case "1", "true", "yes":
		c.TrustProxy = true
	default:
		return c, fmt.Errorf("BACKSTOP_TRUST_PROXY: %q is not a boolean", getenv("BACKSTOP_TRUST_PROXY"))
	}
	if c.BaseURL == "" {
		c.BaseURL = "http://" + c.Addr
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	if u, err := url.Parse(c.BaseURL); err != nil || u.Host == "" {
		return c, fmt.Errorf("BACKSTOP_BASE_URL: %q is not an absolute URL", c.BaseURL)
	}
	if c.AlertWebhookURL != "" {
		if u, err := url.Parse(c.AlertWebhookURL); err != nil || u.Host == "" {
			return c, fmt.Errorf("BACKSTOP_ALERT_WEBHOOK_URL: %q is not an absolute URL", c.AlertWebhookURL)
		}
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return c, fmt.Errorf("BACKSTOP_LOG_FORMAT: %q is neither text nor json", c.LogFormat)
	}
	return c, nil
}

// EnsureSecretKey fills SecretKey from DataDir/secret.key, creating that file
// with a random key the first time, so `make run` needs no setup and keeps
// reading its own sealed secrets across restarts.
func (c *Config) EnsureSecretKey() error {
	if c.SecretKey != "" {
		return nil
	}
	path := filepath.Join(c.DataDir, "secret.key")
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		raw := make([]byte, 32)
		if _, err := rand.Read(raw); err != nil {
			return err
		}
		b = []byte(hex.EncodeToString(raw))
		if err := os.MkdirAll(c.DataDir, 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return fmt.Errorf("write generated secret key: %w", err)
		}
	} else if err != nil {
		return fmt.Errorf("read secret key: %w", err)
	}
	c.SecretKey = strings.TrimSpace(string(b))
	c.SecretKeyFromFile = true
	return nil
}
