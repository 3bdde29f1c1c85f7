// The program tools/offsets-gen builds with each Go toolchain: it uses every type
// agent/go_fields.def names (server, client, header reading, maps, database/sql), so
// that their layouts are in its DWARF.
package main

import (
	"bufio"
	"database/sql"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"strings"
)

func main() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, r.Method, r.URL.Path, r.Header.Get("Traceparent"))
	}))
	defer srv.Close()
	// The HTTP/2 server's types (net/http's bundle, or net/http/internal/http2).
	h2 := httptest.NewUnstartedServer(srv.Config.Handler)
	h2.EnableHTTP2 = true
	h2.StartTLS()
	if r, err := h2.Client().Get(h2.URL + "/h2"); err == nil {
		fmt.Println(r.Proto)
		r.Body.Close()
	}
	h2.Close()
	resp, err := http.Get(srv.URL + "/probe?q=1")
	if err == nil {
		fmt.Println(resp.StatusCode, resp.Request.URL.RawQuery)
		resp.Body.Close()
	}
	tp := textproto.NewReader(bufio.NewReader(strings.NewReader("A: b\r\n\r\n")))
	h, _ := tp.ReadMIMEHeader()
	m := map[string]int{"a": len(h)}
	fmt.Println(len(m))
	// database/sql's statements (no driver is registered: Open fails, the types stay).
	if db, err := sql.Open("offsets-gen", ""); err == nil {
		if st, err := db.Prepare("SELECT 1"); err == nil {
			st.Exec()
			st.Close()
		}
		db.Close()
	}
}
