package httpgw

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/habgo/hab/core/templating"
	"github.com/habgo/hab/sup/census"
	"github.com/habgo/hab/sup/service"
	"github.com/habgo/hab/sup/spec"
)

// ringSource is a supervisor with no service: a real ring and specs
// directory.
type ringSource struct {
	ring *census.Ring
	dir  string
}

func (r ringSource) Statuses() []service.Status { return nil }
func (r ringSource) Ring() *census.Ring         { return r.ring }
func (r ringSource) Sys() templating.SystemInfo {
	return templating.SystemInfo{MemberID: r.ring.LocalID}
}
func (r ringSource) SupRoot() string    { return r.dir }
func (r ringSource) SpecsDir() spec.Dir { return spec.Dir(r.dir + "/specs") }

func serve(t *testing.T, o Options) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	src := ringSource{ring: census.NewRing(census.Member{ID: "abc"}), dir: t.TempDir()}
	src.ring.Configs.Insert(census.ServiceConfig{ServiceGroup: "web.default", Incarnation: 4, Config: "port = 80\n"})
	go func() { done <- Serve(ctx, ln, src, o) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return "http://" + ln.Addr().String()
}

func get(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestGateway(t *testing.T) {
	base := serve(t, Options{})
	for _, tt := range []struct {
		path string
		code int
		want string
	}{
		{"/services", 200, "[]"},
		{"/census", 200, `"service_config":{"incarnation":4,"value":{"port":80}}`},
		{"/butterfly", 200, `"service_config":{"list":{"web.default":`},
		{"/services/web/default", 404, ""},
		{"/services/web/default/health", 404, ""},
		{"/services/web/bad.group", 400, "invalid service group"},
		{"/metrics", 200, "go_goroutines"},
	} {
		code, body := get(t, base+tt.path, "")
		if code != tt.code || !strings.Contains(body, tt.want) {
			t.Errorf("GET %s: %d %s", tt.path, code, body)
		}
	}
	var c map[string]any
	_, body := get(t, base+"/census", "")
	if err := json.Unmarshal([]byte(body), &c); err != nil || c["local_member_id"] != "abc" {
		t.Errorf("census: %v %v", err, c)
	}
}

func TestGatewayAuthAndRedaction(t *testing.T) {
	base := serve(t, Options{AuthToken: "tok", Redact: true})
	for _, tt := range []struct {
		path, token string
		code        int
	}{
		{"/services", "", 401},
		{"/services", "wrong", 401},
		{"/services", "tok", 200},
		{"/census", "tok", 404},
		{"/butterfly", "tok", 404},
		{"/metrics", "", 401},
	} {
		if code, _ := get(t, base+tt.path, tt.token); code != tt.code {
			t.Errorf("GET %s with %q: %d, want %d", tt.path, tt.token, code, tt.code)
		}
	}
}
