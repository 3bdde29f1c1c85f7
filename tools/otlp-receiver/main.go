// otlp-receiver is the OTLP/HTTP trace receiver the tests and benchmarks export to.
// It decodes /v1/traces requests (protobuf or JSON, optionally gzip) with the
// OpenTelemetry Collector's pdata module, so a request it accepts is one the Collector
// accepts, and appends every span as one JSON line to the output file.
//
// Tests steer it through an admin endpoint:
//
//	POST /admin/behavior {"status":429,"count":2,"retry_after":"1","delay_ms":0,"reject_spans":0}
//	    the next `count` export requests (-1: all of them) are answered with `status`
//	    (and Retry-After when given) instead of being accepted; every request is
//	    delayed by delay_ms; an accepted request reports reject_spans rejected spans
//	    as a partial success. {} restores the defaults.
//	GET  /admin/stats -> {"requests":N,"accepted_requests":N,"failed_requests":N,"spans":N}
//
// With -tls-cert and -tls-key it serves HTTPS; with -client-ca too, it requires a client
// certificate signed by that CA (mutual TLS). With -grpc-listen it also takes OTLP/gRPC
// exports (the Kubernetes components' tracing speaks only that) into the same file.
//
// It listens on 127.0.0.1 unless -host says otherwise (0.0.0.0 in a cluster, behind a
// Service), and prints "otlp-receiver listening on HOST:PORT" once it accepts
// connections.
package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
)

const maxBody = 64 << 20

type behavior struct {
	Status      int    `json:"status"`
	Count       int    `json:"count"`
	RetryAfter  string `json:"retry_after"`
	DelayMs     int    `json:"delay_ms"`
	RejectSpans int64  `json:"reject_spans"`
}

type stats struct {
	Requests         int64 `json:"requests"`
	AcceptedRequests int64 `json:"accepted_requests"`
	FailedRequests   int64 `json:"failed_requests"`
	Spans            int64 `json:"spans"`
}

type receiver struct {
	mu    sync.Mutex
	beh   behavior
	st    stats
	out   *os.File
	quiet bool
}

// spanLine is one received span as the tests read it.
type spanLine struct {
	TraceID        string         `json:"trace_id"`
	SpanID         string         `json:"span_id"`
	ParentSpanID   string         `json:"parent_span_id"`
	Name           string         `json:"name"`
	Kind           int32          `json:"kind"`
	Start          uint64         `json:"start"`
	End            uint64         `json:"end"`
	Flags          uint32         `json:"flags"`
	StatusCode     int32          `json:"status_code"`
	StatusMessage  string         `json:"status_message"`
	Attributes     map[string]any `json:"attributes"`
	DroppedAttrs   uint32         `json:"dropped_attributes_count"`
	Resource       map[string]any `json:"resource"`
	ScopeName      string         `json:"scope_name"`
	ScopeVersion   string         `json:"scope_version"`
	Encoding       string         `json:"encoding"`
	ContentEncoded string         `json:"content_encoding"`
}

func hexOrEmpty(empty bool, s string) string {
	if empty {
		return ""
	}
	return s
}

// attrs renders attribute values as JSON can hold them: NaN and infinities, which JSON
// numbers cannot express, become the strings "NaN", "+Inf" and "-Inf".
func attrs(m pcommon.Map) map[string]any {
	out := make(map[string]any, m.Len())
	m.Range(func(k string, v pcommon.Value) bool {
		if v.Type() == pcommon.ValueTypeDouble {
			d := v.Double()
			if math.IsNaN(d) || math.IsInf(d, 0) {
				out[k] = strconv.FormatFloat(d, 'g', -1, 64)
				return true
			}
		}
		out[k] = v.AsRaw()
		return true
	})
	return out
}

func (r *receiver) takeBehavior() (behavior, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.beh
	fail := b.Status != 0 && b.Count != 0
	if fail && r.beh.Count > 0 {
		r.beh.Count--
	}
	return b, fail
}

// store appends every span of ereq to the output file, one JSON line each.
func (r *receiver) store(ereq ptraceotlp.ExportRequest, encoding, contentEncoding string) error {
	var lines bytes.Buffer
	enc := json.NewEncoder(&lines)
	n := int64(0)
	rss := ereq.Traces().ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		res := attrs(rs.Resource().Attributes())
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			ss := sss.At(j)
			spans := ss.Spans()
			for k := 0; k < spans.Len(); k++ {
				s := spans.At(k)
				line := spanLine{
					TraceID:        s.TraceID().String(),
					SpanID:         s.SpanID().String(),
					ParentSpanID:   hexOrEmpty(s.ParentSpanID().IsEmpty(), s.ParentSpanID().String()),
					Name:           s.Name(),
					Kind:           int32(s.Kind()),
					Start:          uint64(s.StartTimestamp()),
					End:            uint64(s.EndTimestamp()),
					Flags:          s.Flags(),
					StatusCode:     int32(s.Status().Code()),
					StatusMessage:  s.Status().Message(),
					Attributes:     attrs(s.Attributes()),
					DroppedAttrs:   s.DroppedAttributesCount(),
					Resource:       res,
					ScopeName:      ss.Scope().Name(),
					ScopeVersion:   ss.Scope().Version(),
					Encoding:       encoding,
					ContentEncoded: contentEncoding,
				}
				if err := enc.Encode(&line); err != nil {
					return fmt.Errorf("encode: %w", err)
				}
				n++
			}
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, err := r.out.Write(lines.Bytes()); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	r.st.AcceptedRequests++
	r.st.Spans += n
	return nil
}

// grpcTraces takes OTLP/gRPC exports (what the Kubernetes components send) into the
// same file; the admin behaviors apply to OTLP/HTTP only.
type grpcTraces struct {
	ptraceotlp.UnimplementedGRPCServer
	r *receiver
}

func (g *grpcTraces) Export(_ context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	g.r.mu.Lock()
	g.r.st.Requests++
	g.r.mu.Unlock()
	if err := g.r.store(req, "grpc", ""); err != nil {
		return ptraceotlp.NewExportResponse(), err
	}
	return ptraceotlp.NewExportResponse(), nil
}

func (r *receiver) traces(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	b, fail := r.takeBehavior()
	r.mu.Lock()
	r.st.Requests++
	r.mu.Unlock()
	if b.DelayMs > 0 {
		time.Sleep(time.Duration(b.DelayMs) * time.Millisecond)
	}
	if fail {
		r.mu.Lock()
		r.st.FailedRequests++
		r.mu.Unlock()
		if b.RetryAfter != "" {
			w.Header().Set("Retry-After", b.RetryAfter)
		}
		http.Error(w, "configured failure", b.Status)
		return
	}

	var body io.Reader = http.MaxBytesReader(w, req.Body, maxBody)
	contentEncoding := req.Header.Get("Content-Encoding")
	if contentEncoding == "gzip" {
		zr, err := gzip.NewReader(body)
		if err != nil {
			http.Error(w, "bad gzip: "+err.Error(), http.StatusBadRequest)
			return
		}
		defer zr.Close()
		body = io.LimitReader(zr, maxBody)
	}
	data, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, "read: "+err.Error(), http.StatusBadRequest)
		return
	}

	ereq := ptraceotlp.NewExportRequest()
	encoding := ""
	switch ct := req.Header.Get("Content-Type"); ct {
	case "application/x-protobuf":
		encoding = "protobuf"
		err = ereq.UnmarshalProto(data)
	case "application/json":
		encoding = "json"
		err = ereq.UnmarshalJSON(data)
	default:
		http.Error(w, "unsupported content type "+strconv.Quote(ct), http.StatusUnsupportedMediaType)
		return
	}
	if err != nil {
		http.Error(w, "decode: "+err.Error(), http.StatusBadRequest)
		return
	}

	if err := r.store(ereq, encoding, contentEncoding); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}

	resp := ptraceotlp.NewExportResponse()
	if b.RejectSpans > 0 {
		resp.PartialSuccess().SetRejectedSpans(b.RejectSpans)
		resp.PartialSuccess().SetErrorMessage("configured rejection")
	}
	var out []byte
	if encoding == "json" {
		out, err = resp.MarshalJSON()
	} else {
		out, err = resp.MarshalProto()
	}
	if err != nil {
		http.Error(w, "marshal: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", req.Header.Get("Content-Type"))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
}

func (r *receiver) admin(w http.ResponseWriter, req *http.Request) {
	switch {
	case req.URL.Path == "/admin/behavior" && req.Method == http.MethodPost:
		var b behavior
		dec := json.NewDecoder(io.LimitReader(req.Body, 1<<16))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&b); err != nil {
			http.Error(w, "behavior: "+err.Error(), http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		r.beh = b
		r.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	case req.URL.Path == "/admin/stats" && req.Method == http.MethodGet:
		r.mu.Lock()
		st := r.st
		r.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(&st)
	default:
		http.NotFound(w, req)
	}
}

// writePortFile writes port to path through a rename, so a reader never sees half.
func writePortFile(path string, port int) {
	if err := os.WriteFile(path+".tmp", []byte(strconv.Itoa(port)+"\n"), 0o644); err != nil {
		log.Fatalf("otlp-receiver: %v", err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		log.Fatalf("otlp-receiver: %v", err)
	}
}

func main() {
	host := flag.String("host", "127.0.0.1", "address to listen on (0.0.0.0: every interface)")
	port := flag.Int("port", 0, "TCP port on -host (0: any free port)")
	outPath := flag.String("out", "", "file the received spans are appended to, one JSON line each (required)")
	portFile := flag.String("port-file", "", "also write the port to this file once listening")
	tlsCert := flag.String("tls-cert", "", "serve HTTPS with this PEM certificate (needs -tls-key)")
	tlsKey := flag.String("tls-key", "", "PEM private key of -tls-cert")
	clientCA := flag.String("client-ca", "", "with TLS, require client certificates signed by this PEM CA")
	grpcAddr := flag.String("grpc-listen", "", "also take OTLP/gRPC exports on this HOST:PORT (plain text)")
	grpcPortFile := flag.String("grpc-port-file", "", "write the gRPC port to this file once listening")
	flag.Parse()
	if *outPath == "" {
		fmt.Fprintln(os.Stderr, "otlp-receiver: -out is required")
		os.Exit(2)
	}
	out, err := os.OpenFile(*outPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		log.Fatalf("otlp-receiver: %v", err)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(*host, strconv.Itoa(*port)))
	if err != nil {
		log.Fatalf("otlp-receiver: %v", err)
	}
	if *tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(*tlsCert, *tlsKey)
		if err != nil {
			log.Fatalf("otlp-receiver: %v", err)
		}
		cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		if *clientCA != "" {
			pem, err := os.ReadFile(*clientCA)
			if err != nil {
				log.Fatalf("otlp-receiver: %v", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				log.Fatalf("otlp-receiver: no certificate in %s", *clientCA)
			}
			// Verified by hand so that any extended key usage passes: the tests issue
			// client certificates with the same helper as serving ones.
			cfg.ClientAuth = tls.RequireAnyClientCert
			cfg.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
				certs := make([]*x509.Certificate, 0, len(raw))
				for _, b := range raw {
					c, err := x509.ParseCertificate(b)
					if err != nil {
						return err
					}
					certs = append(certs, c)
				}
				inter := x509.NewCertPool()
				for _, c := range certs[1:] {
					inter.AddCert(c)
				}
				_, err := certs[0].Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter,
					KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
				return err
			}
		}
		ln = tls.NewListener(ln, cfg)
	}
	r := &receiver{out: out}
	if *grpcAddr != "" {
		gln, err := net.Listen("tcp", *grpcAddr)
		if err != nil {
			log.Fatalf("otlp-receiver: %v", err)
		}
		if *grpcPortFile != "" {
			writePortFile(*grpcPortFile, gln.Addr().(*net.TCPAddr).Port)
		}
		gs := grpc.NewServer()
		ptraceotlp.RegisterGRPCServer(gs, &grpcTraces{r: r})
		go func() { log.Fatal(gs.Serve(gln)) }()
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/traces", r.traces)
	mux.HandleFunc("/admin/", r.admin)
	actual := ln.Addr().(*net.TCPAddr).Port
	if *portFile != "" {
		writePortFile(*portFile, actual)
	}
	fmt.Printf("otlp-receiver listening on %s\n", net.JoinHostPort(*host, strconv.Itoa(actual)))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.Serve(ln))
}
