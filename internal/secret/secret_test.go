package secret

import (
	"strings"
	"testing"
)

func TestBoxRoundTrip(t *testing.T) {
	t.Parallel()
	b, err := NewBox("a passphrase of some length")
	if err != nil {
		t.Fatal(err)
	}
	sealed := b.Seal("virtuous-api-key")
	if strings.Contains(string(sealed), "virtuous-api-key") {
		t.Fatal("sealed value contains the plaintext")
	}
	if again := b.Seal("virtuous-api-key"); string(again) == string(sealed) {
		t.Error("two seals of one value are equal: the nonce is not fresh")
	}
	got, err := b.Open(sealed)
	if err != nil || got != "virtuous-api-key" {
		t.Errorf("Open = %q, %v; want the plaintext", got, err)
	}
	other, _ := NewBox("another passphrase entirely")
	if _, err := other.Open(sealed); err == nil {
		t.Error("a different key opened the value")
	}
	sealed[len(sealed)-1] ^= 1
	if _, err := b.Open(sealed); err == nil {
		t.Error("a tampered value opened")
	}
	if _, err := NewBox("short"); err == nil {
		t.Error("a 5-character key was accepted")
	}
}

func TestTokens(t *testing.T) {
	t.Parallel()
	a, b := NewToken("bsi_"), NewToken("bsi_")
	if a == b || !strings.HasPrefix(a, "bsi_") || len(a) != 4+32 {
		t.Errorf("tokens %q %q: want distinct, prefixed, 160 bits", a, b)
	}
	ha, again := HashToken(a), HashToken(a)
	if string(ha) == string(HashToken(b)) || string(ha) != string(again) {
		t.Error("token hashes are not a function of the token")
	}
	if !Equal(a, a) || Equal(a, b) {
		t.Error("Equal is wrong")
	}
}
