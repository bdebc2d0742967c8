// Package secret seals the secrets Backstop must keep (Virtuous API keys,
// webhook secrets and path tokens) with AES-256-GCM under BACKSTOP_SECRET_KEY,
// and makes and hashes the high-entropy tokens it hands out.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Box seals and opens values under one key.
type Box struct {
	aead cipher.AEAD
}

// NewBox derives an AES-256 key from passphrase. The passphrase is whatever
// the operator put in BACKSTOP_SECRET_KEY; SHA-256 gives it a fixed size.
func NewBox(passphrase string) (*Box, error) {
	if len(passphrase) < 16 {
		return nil, errors.New("BACKSTOP_SECRET_KEY must be at least 16 characters")
	}
	key := sha256.Sum256([]byte("backstop secret box v1\x00" + passphrase))
	block, err := aes.NewCipher(key[:])
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Box{aead: aead}, nil
}

// Seal encrypts plaintext with a fresh random nonce.
func (b *Box) Seal(plaintext string) []byte {
	nonce := make([]byte, b.aead.NonceSize(), b.aead.NonceSize()+len(plaintext)+b.aead.Overhead())
	if _, err := io.ReadFull(rand.Reader, nonce); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return b.aead.Seal(nonce, nonce, []byte(plaintext), nil)
}

// Open decrypts what Seal produced.
func (b *Box) Open(sealed []byte) (string, error) {
	n := b.aead.NonceSize()
	if len(sealed) < n {
		return "", errors.New("sealed value is too short")
	}
	pt, err := b.aead.Open(nil, sealed[:n], sealed[n:], nil)
	if err != nil {
		return "", fmt.Errorf("open sealed value (wrong BACKSTOP_SECRET_KEY?): %w", err)
	}
	return string(pt), nil
}

var enc = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewToken returns prefix followed by 160 random bits, in lower-case base32.
func NewToken(prefix string) string {
	b := make([]byte, 20)
	if _, err := io.ReadFull(rand.Reader, b); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return prefix + strings.ToLower(enc.EncodeToString(b))
}

// HashToken is the stored form of a token. Tokens carry 160 random bits, so a
// plain SHA-256 is enough; a slow password hash would add nothing.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// Equal compares two secrets in constant time.
func Equal(a, b string) bool {
	return hmac.Equal([]byte(a), []byte(b))
}
