// null-webhook answers every AdmissionReview with "allowed" at once, echoing its uid:
// the least a mutating webhook can do. Benchmarks register it next to autotrace-webhook
// to measure what the API server's webhook machinery itself costs on this machine (the
// floor under any webhook's figures). Test infrastructure only.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
)

type review struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Request    *struct {
		UID string `json:"uid"`
	} `json:"request,omitempty"`
	Response *struct {
		UID     string `json:"uid"`
		Allowed bool   `json:"allowed"`
	} `json:"response,omitempty"`
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	cert := flag.String("cert", "", "TLS certificate (PEM)")
	key := flag.String("key", "", "TLS key (PEM)")
	portFile := flag.String("port-file", "", "where to write the port once listening")
	flag.Parse()

	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		var in review
		if err := json.NewDecoder(io.LimitReader(r.Body, 8<<20)).Decode(&in); err != nil || in.Request == nil {
			http.Error(w, "not an AdmissionReview", http.StatusBadRequest)
			return
		}
		out := review{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"}
		out.Response = &struct {
			UID     string `json:"uid"`
			Allowed bool   `json:"allowed"`
		}{in.Request.UID, true}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(&out)
	})

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if *portFile != "" {
		if err := os.WriteFile(*portFile, []byte(fmt.Sprintf("%d\n", port)), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	log.Printf("null-webhook: serving on port %d", port)
	log.Fatal(http.ServeTLS(ln, mux, *cert, *key))
}
