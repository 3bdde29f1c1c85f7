// The program tools/offsets-gen builds against each golang.org/x/net version it
// records: an h2c server (golang.org/x/net/http2's own server) and a request to it, so
// that the server's response writer types are in its DWARF.
package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/h2c"
)

func main() {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
	})
	srv := httptest.NewServer(h2c.NewHandler(h, &http2.Server{}))
	defer srv.Close()
	if resp, err := http.Get(srv.URL); err == nil {
		fmt.Println(resp.StatusCode)
		resp.Body.Close()
	}
}
