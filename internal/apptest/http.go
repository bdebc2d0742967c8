package apptest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// PostCutShort POSTs body to rawURL over a connection of its own, declaring
// all of it in Content-Length but sending only its first n bytes before
// closing the connection for writing — a client that died mid-request —
// and returns the answer with its body read.
func PostCutShort(tb testing.TB, rawURL string, header http.Header, body []byte, n int) (*http.Response, string) {
	tb.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		tb.Fatal(err)
	}
	conn, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	w := bufio.NewWriter(conn)
	fmt.Fprintf(w, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n", u.RequestURI(), u.Host, len(body))
	header.Write(w)
	w.WriteString("\r\n")
	w.Write(body[:n])
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	conn.(*net.TCPConn).CloseWrite()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		tb.Fatalf("POST %s cut short at %d of %d bytes: no answer: %v", u.Path, n, len(body), err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}
