package server_test

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestMetrics: /metrics counts requests by route pattern and status, and
// uploads by result.
func TestMetrics(t *testing.T) {
	e := newEnv(t, "", 0)
	e.neurosis()
	f := builderPath(t, "neurosis-testapp-0.1.13-20190511004436-x86_64-linux.hart")
	e.want(e.upload("bobo", f, ""), 201, "upload")
	e.want(e.do("POST", "/v1/depot/pkgs/neurosis/testapp/0.1.3/20171205003213?checksum="+strings.Repeat("0", 64), "bobo", strings.NewReader("HART-1\nneurosis-20171205003147\nBLAKE2b\nAAAA\n\n")), 422, "refused upload")
	for range 3 {
		e.want(e.do("GET", "/v1/depot/pkgs/neurosis/testapp/latest", "", nil), 200, "latest")
	}
	e.want(e.do("GET", "/v1/nothing/here", "", nil), 404, "unmatched")
	m := e.want(e.do("GET", "/metrics", "", nil), 200, "metrics").String()
	for _, want := range []string{
		`depot_http_requests_total{code="200",method="GET",route="GET /v1/depot/pkgs/{o}/{n}/latest"} 3`,
		`depot_http_requests_total{code="201",method="POST",route="POST /v1/depot/pkgs/{o}/{n}/{v}/{r}"} 1`,
		`depot_http_requests_total{code="422",method="POST",route="POST /v1/depot/pkgs/{o}/{n}/{v}/{r}"} 1`,
		`depot_http_requests_total{code="404",method="GET",route="unmatched"} 1`,
		`depot_uploads_total{result="stored"} 1`,
		`depot_uploads_total{result="refused"} 1`,
		`depot_http_request_duration_seconds_count{route="GET /v1/depot/pkgs/{o}/{n}/latest"} 3`,
		`go_goroutines `,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	size, _ := os.Stat(f)
	var got float64
	for _, l := range strings.Split(m, "\n") {
		if v, ok := strings.CutPrefix(l, "depot_upload_received_bytes_total "); ok {
			got, _ = strconv.ParseFloat(v, 64)
		}
	}
	if got < float64(size.Size()) {
		t.Errorf("upload bytes received %v, want at least the %d of the stored package", got, size.Size())
	}
}
