package container_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/habgo/hab/exporters/internal/exptest"
)

// TestImageRunsUnderRunc unpacks the exported image with umoci and runs
// it with runc (umoci's spec, without its rlimits, in the host's network
// namespace so that the test reaches the gateway): /init.sh hands the
// options to `hab sup run IDENT`, the image's supervisor starts, its HTTP
// gateway reports the service up, which ran its init hook, and the service
// (built in a studio, so its paths are the image's /hab/...) answers on
// its port with the message of the user.toml the test put in the image.
func TestImageRunsUnderRunc(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("runc needs root")
	}
	runc := exptest.Tool(t, "runc")
	e := exptest.New(t)
	svc := e.BuildInStudio("service")
	r := request(e, svc.Ident.String())
	r.OCILayout = filepath.Join(e.Work, "oci")
	export(t, r)
	bundle := filepath.Join(e.Work, "bundle")
	exptest.Run(t, "umoci", "unpack", "--image", r.OCILayout+":latest", bundle)

	port := exptest.FreePort(t)
	const message = "answered from the image"
	exptest.ServiceUserTOML(t, filepath.Join(bundle, "rootfs"), port, message)

	var spec map[string]any
	data, err := os.ReadFile(filepath.Join(bundle, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &spec); err != nil {
		t.Fatal(err)
	}
	http, gossip, ctl := exptest.FreePort(t), exptest.FreePort(t), exptest.FreePort(t)
	proc := spec["process"].(map[string]any)
	delete(proc, "rlimits")
	proc["terminal"] = false
	if args := proc["args"].([]any); len(args) != 3 || args[0] != "/init.sh" || args[1] != "run" {
		t.Errorf("the image runs %v, want /init.sh run IDENT", args)
	}
	// As `docker run IMAGE --listen-http ...`: options go to hab sup run.
	proc["args"] = []string{"/init.sh", "--listen-http", fmt.Sprintf("127.0.0.1:%d", http),
		"--listen-gossip", fmt.Sprintf("127.0.0.1:%d", gossip), "--listen-ctl", fmt.Sprintf("127.0.0.1:%d", ctl)}
	linux := spec["linux"].(map[string]any)
	var ns []any
	for _, n := range linux["namespaces"].([]any) {
		if n.(map[string]any)["type"] != "network" {
			ns = append(ns, n)
		}
	}
	linux["namespaces"] = ns
	data, _ = json.Marshal(spec)
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	id := fmt.Sprintf("hab-export-test-%d", os.Getpid())
	cmd := exec.Command(runc, "run", id)
	cmd.Dir = bundle
	t.Cleanup(func() { exec.Command(runc, "delete", "-f", id).Run() }) // after the stop below
	p := exptest.Start(t, cmd, func() { exec.Command(runc, "kill", id, "KILL").Run() })
	url := fmt.Sprintf("http://127.0.0.1:%d/services", http)
	deadline := time.Now().Add(90 * time.Second)
	exptest.WaitHTTP(t, url, p.Done, p.Output, `"`+svc.Ident.String()+`"`, `"desired_state":"Up"`)
	// The supervisor ran the service's init hook inside the image.
	for time.Now().Before(deadline) && !strings.Contains(p.Output(), "initialized service") {
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(p.Output(), "initialized service") {
		t.Errorf("the init hook did not run:\n%s", p.Output())
	}
	// The service (a busybox httpd: the image has no perl) answers.
	if body := exptest.WaitHTTP(t, fmt.Sprintf("http://127.0.0.1:%d/", port), p.Done, p.Output, message); body != message+"\n" {
		t.Errorf("the service answered %q, want %q", body, message+"\n")
	}
}
