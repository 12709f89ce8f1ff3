// Package httpgw is the supervisor's HTTP gateway: /services, /census,
// /butterfly, /services/NAME/GROUP[/ORG] with /config and /health, and
// /metrics, with the original's JSON shapes, bearer authentication and
// optional TLS.
package httpgw

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/habgo/hab/core/svcgroup"
	"github.com/habgo/hab/core/templating"
	"github.com/habgo/hab/sup/census"
	"github.com/habgo/hab/sup/service"
	"github.com/habgo/hab/sup/spec"
)

// Source is what the gateway shows: the supervisor.
type Source interface {
	Statuses() []service.Status
	Ring() *census.Ring
	Sys() templating.SystemInfo
	SupRoot() string
	SpecsDir() spec.Dir
}

// Options are the gateway's authentication and TLS.
type Options struct {
	AuthToken string // HAB_SUP_GATEWAY_AUTH_TOKEN
	CertFile  string // --certs
	KeyFile   string // --key
	CAFile    string // --ca-certs: client certificates required
	Redact    bool   // HAB_FEAT_REDACT_HTTP
}

// Handler returns the gateway's routes.
func Handler(src Source, o Options) http.Handler {
	reg := prometheus.NewRegistry()
	reqs := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hab_sup_http_gateway_requests_total", Help: "Total number of HTTP gateway requests"}, []string{"path"})
	dur := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "hab_sup_http_gateway_request_duration_seconds", Help: "The latency for HTTP gateway requests"}, []string{"path"})
	svcs := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "hab_sup_services", Help: "Services loaded on this supervisor"}, func() float64 { return float64(len(src.Statuses())) })
	reg.MustRegister(reqs, dur, svcs, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<html><body><h1>Habitat supervisor</h1><ul><li>/services</li><li>/services/NAME/GROUP[/ORG]</li><li>/census</li><li>/butterfly</li><li>/metrics</li></ul></body></html>")
	})
	mux.HandleFunc("GET /services", func(w http.ResponseWriter, r *http.Request) {
		out := []any{}
		for _, st := range src.Statuses() {
			out = append(out, serviceJSON(src, st, o.Redact))
		}
		writeJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("GET /census", func(w http.ResponseWriter, r *http.Request) {
		if o.Redact {
			http.NotFound(w, r)
			return
		}
		writeJSON(w, http.StatusOK, src.Ring().Census())
	})
	mux.HandleFunc("GET /butterfly", func(w http.ResponseWriter, r *http.Request) {
		if o.Redact {
			http.NotFound(w, r)
			return
		}
		writeJSON(w, http.StatusOK, src.Ring().Butterfly())
	})
	one := func(suffix string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			sgText := r.PathValue("svc") + "." + r.PathValue("group")
			if org := r.PathValue("org"); org != "" {
				sgText += "@" + org
			}
			sg, err := svcgroup.Parse(sgText)
			if err != nil {
				writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
				return
			}
			for _, st := range src.Statuses() {
				if st.Spec.ServiceGroup().String() != sg.String() && !(sg.Organization != "" && st.Spec.Name() == sg.Service && st.Spec.Group == sg.Group) {
					continue
				}
				switch suffix {
				case "":
					writeJSON(w, http.StatusOK, serviceJSON(src, st, o.Redact))
				case "config":
					cfg := st.Cfg
					if cfg == nil {
						cfg = templating.NewObject()
					}
					writeJSON(w, http.StatusOK, cfg)
				case "health":
					code := map[string]int{service.HealthOK: 200, service.HealthWarning: 200, service.HealthCritical: 503}[st.Health]
					if code == 0 {
						code = 500
					}
					writeJSON(w, code, map[string]string{"status": st.Health, "stdout": st.HealthStdout, "stderr": st.HealthStderr})
				}
				return
			}
			http.NotFound(w, r)
		}
	}
	for _, base := range []string{"/services/{svc}/{group}", "/services/{svc}/{group}/{org}"} {
		mux.HandleFunc("GET "+base, one(""))
		mux.HandleFunc("GET "+base+"/config", one("config"))
		mux.HandleFunc("GET "+base+"/health", one("health"))
	}
	var h http.Handler = mux
	inner := h
	h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		if o.AuthToken != "" {
			got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(o.AuthToken)) != 1 {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
		}
		inner.ServeHTTP(w, r)
		path := r.URL.Path
		if strings.HasPrefix(path, "/services/") {
			path = "/services/*"
		}
		reqs.WithLabelValues(path).Inc()
		dur.WithLabelValues(path).Observe(time.Since(start).Seconds())
	})
	return h
}

// Serve serves the gateway on ln until ctx ends.
func Serve(ctx context.Context, ln net.Listener, src Source, o Options) error {
	srv := &http.Server{Handler: Handler(src, o), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	var err error
	if o.CertFile != "" {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12}
		if o.CAFile != "" {
			pem, rerr := os.ReadFile(o.CAFile)
			if rerr != nil {
				return fmt.Errorf("HTTP gateway: read --ca-certs: %w", rerr)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return fmt.Errorf("HTTP gateway: no certificate in %s", o.CAFile)
			}
			cfg.ClientCAs, cfg.ClientAuth = pool, tls.RequireAndVerifyClientCert
		}
		srv.TLSConfig = cfg
		err = srv.ServeTLS(ln, o.CertFile, o.KeyFile)
	} else {
		err = srv.Serve(ln)
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	_ = enc.Encode(v)
}

type duration struct {
	Secs  uint64 `json:"secs"`
	Nanos uint32 `json:"nanos"`
}

func dur(d time.Duration) duration {
	return duration{Secs: uint64(d / time.Second), Nanos: uint32(d % time.Second)}
}

// serviceJSON is a service as the original's /services shows it.
func serviceJSON(src Source, st service.Status, redact bool) map[string]any {
	sp := st.Spec
	sup := src.SupRoot()
	hooks := map[string]any{}
	for _, h := range []string{"file_updated", "health_check", "init", "post_run", "post_stop", "reconfigure", "reload", "run", "suitability"} {
		hooks[h] = nil
	}
	svcRoot := st.Pkg.SvcPath
	for _, h := range st.Hooks {
		hooks[strings.ReplaceAll(h, "-", "_")] = map[string]string{
			"render_pair":     filepath.Join(svcRoot, "hooks", h),
			"stdout_log_path": filepath.Join(svcRoot, "logs", h+".stdout.log"),
			"stderr_log_path": filepath.Join(svcRoot, "logs", h+".stderr.log"),
		}
	}
	process := map[string]any{"pid": nil, "state": "down", "state_entered": st.StateEntered.Unix()}
	if st.Up {
		process["pid"], process["state"] = st.PID, "up"
	}
	var last any
	if st.LastExitPID != 0 {
		last = map[string]any{"pid": st.LastExitPID, "termination_reason": st.LastExit, "terminated_at": st.LastExitAt.Unix()}
	}
	var next any
	if !st.NextRestartAt.IsZero() {
		next = st.NextRestartAt.Unix()
	}
	binds := []string{}
	binds = append(binds, sp.Binds...)
	allBinds := []map[string]any{}
	idParts := strings.Split(sp.Ident, "/")
	for len(idParts) < 4 {
		idParts = append(idParts, "")
	}
	nullable := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	var cfgFrom any
	if sp.ConfigFrom != "" {
		cfgFrom = sp.ConfigFrom
	}
	pkg := map[string]any{}
	b, _ := json.Marshal(st.Pkg)
	_ = json.Unmarshal(b, &pkg)
	delete(pkg, "svc_config_install_path")
	sys := src.Sys()
	out := map[string]any{
		"all_pkg_binds":        allBinds,
		"binding_mode":         sp.BindingMode,
		"binds":                binds,
		"bldr_url":             sp.BldrURL,
		"channel":              sp.Channel,
		"config_from":          cfgFrom,
		"desired_state":        map[string]string{spec.StateUp: "Up", spec.StateDown: "Down"}[sp.DesiredState],
		"health_check":         healthName(st.Health),
		"hooks":                hooks,
		"initialized":          st.Initialized,
		"last_election_status": "None",
		"manager_fs_cfg": map[string]string{
			"data_path": filepath.Join(sup, "data"), "member_id_file": filepath.Join(sup, "MEMBER_ID"),
			"proc_lock_file": filepath.Join(sup, "LOCK"), "specs_path": string(src.SpecsDir()), "sup_root": sup,
		},
		"pkg":                    pkg,
		"process":                process,
		"last_process_state":     last,
		"next_restart_at":        next,
		"restart_count":          st.RestartCount,
		"restart_config":         map[string]any{"min_backoff_period": dur(0), "max_backoff_period": dur(0), "cooldown_period": dur(300 * time.Second)},
		"service_group":          sp.ServiceGroup().String(),
		"spec_file":              src.SpecsDir().Path(sp.Name()),
		"spec_ident":             map[string]any{"origin": idParts[0], "name": idParts[1], "version": nullable(idParts[2]), "release": nullable(idParts[3])},
		"spec_identifier":        sp.Ident,
		"svc_encrypted_password": nil,
		"health_check_interval":  duration{Secs: sp.HealthCheckInterval.Secs, Nanos: sp.HealthCheckInterval.Nanos},
		"sys":                    sys,
		"topology":               sp.Topology,
		"update_strategy":        sp.UpdateStrategy,
		"update_condition":       sp.UpdateCondition,
		"user_config_updated":    false,
	}
	if !redact {
		cfg := st.Cfg
		if cfg == nil {
			cfg = templating.NewObject()
		}
		out["cfg"] = cfg
	}
	return out
}

func healthName(h string) string {
	switch h {
	case service.HealthOK:
		return "Ok"
	case service.HealthWarning:
		return "Warning"
	case service.HealthCritical:
		return "Critical"
	}
	return "Unknown"
}
