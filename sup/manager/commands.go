package manager

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/core/pkgs"
	"github.com/habgo/hab/core/svcgroup"
	"github.com/habgo/hab/core/templating"
	"github.com/habgo/hab/sup/census"
	"github.com/habgo/hab/sup/ctl"
	"github.com/habgo/hab/sup/service"
	"github.com/habgo/hab/sup/spec"
)

// The control commands.
const (
	CmdLoad        = "svc.load"
	CmdUnload      = "svc.unload"
	CmdStart       = "svc.start"
	CmdStop        = "svc.stop"
	CmdStatus      = "svc.status"
	CmdConfigApply = "config.apply"
	CmdValidate    = "config.validate"
	CmdFileUpload  = "file.upload"
	CmdUpdate      = "svc.update"
	CmdDefaultCfg  = "svc.default_cfg"
	CmdSupRestart  = "sup.restart"
	CmdSupDepart   = "sup.depart"
)

// UpdateArgs changes options of a loaded service (hab svc update): only
// the fields that are set.
type UpdateArgs struct {
	Ident               string    `json:"ident"`
	Group               *string   `json:"group,omitempty"`
	Topology            *string   `json:"topology,omitempty"`
	Strategy            *string   `json:"strategy,omitempty"`
	UpdateCondition     *string   `json:"update_condition,omitempty"`
	Channel             *string   `json:"channel,omitempty"`
	URL                 *string   `json:"url,omitempty"`
	Binds               *[]string `json:"binds,omitempty"`
	BindingMode         *string   `json:"binding_mode,omitempty"`
	HealthCheckInterval *uint64   `json:"health_check_interval,omitempty"`
	ShutdownTimeout     *uint32   `json:"shutdown_timeout,omitempty"`
}

// LoadArgs loads a service (or a composite's services).
type LoadArgs struct {
	Spec  spec.Spec `json:"spec"`
	Force bool      `json:"force"`
}

// IdentArgs names a loaded service; ShutdownTimeout (seconds) overrides
// the spec's for unload and stop.
type IdentArgs struct {
	Ident           string  `json:"ident"`
	ShutdownTimeout *uint32 `json:"shutdown_timeout,omitempty"`
}

// ConfigArgs applies configuration to a service group.
type ConfigArgs struct {
	ServiceGroup string `json:"service_group"`
	Version      uint64 `json:"version"`
	Config       string `json:"config"`
	// Encrypted: Config is a BOX-1 message for the group's service key
	// (hab config apply --user); the validate request carries it clear.
	Encrypted bool `json:"is_encrypted,omitempty"`
}

// FileArgs uploads a file to a service group.
type FileArgs struct {
	ServiceGroup string `json:"service_group"`
	Version      uint64 `json:"version"`
	Filename     string `json:"filename"`
	Body         []byte `json:"body"`
	// Encrypted: Body is a BOX-1 message for the group's service key
	// (hab file upload --user).
	Encrypted bool `json:"is_encrypted,omitempty"`
}

// DepartArgs names the member to depart from the ring (hab sup depart).
type DepartArgs struct {
	MemberID string `json:"member_id"`
}

// MaxPayload is the largest config or file accepted, as the original's.
const MaxPayload = 64 << 10

// Handle implements ctl.Handler.
func (m *Manager) Handle(ctx context.Context, cmd string, raw json.RawMessage, out func(string)) error {
	decode := func(v any) error {
		if err := json.Unmarshal(raw, v); err != nil {
			return ctl.Errorf(ctl.CodeInvalid, "malformed %s request: %v", cmd, err)
		}
		return nil
	}
	switch cmd {
	case CmdLoad:
		var a LoadArgs
		if err := decode(&a); err != nil {
			return err
		}
		if err := m.load(ctx, a.Spec, a.Force, out); err != nil {
			return err
		}
		// Start it now rather than at the next look at the specs.
		m.reconcile(ctx)
		return nil
	case CmdUnload, CmdStart, CmdStop, CmdStatus:
		var a IdentArgs
		if err := decode(&a); err != nil {
			return err
		}
		switch cmd {
		case CmdUnload:
			return m.unload(ctx, a, out)
		case CmdStatus:
			return m.status(a.Ident, out)
		}
		state := spec.StateUp
		if cmd == CmdStop {
			state = spec.StateDown
		}
		if err := m.setState(a, state, out); err != nil {
			return err
		}
		m.reconcile(ctx)
		return nil
	case CmdConfigApply, CmdValidate:
		var a ConfigArgs
		if err := decode(&a); err != nil {
			return err
		}
		return m.applyConfig(a, cmd == CmdValidate, out)
	case CmdFileUpload:
		var a FileArgs
		if err := decode(&a); err != nil {
			return err
		}
		return m.uploadFile(a, out)
	case CmdUpdate:
		var a UpdateArgs
		if err := decode(&a); err != nil {
			return err
		}
		if err := m.update(a, out); err != nil {
			return err
		}
		m.reconcile(ctx)
		return nil
	case CmdSupRestart:
		if m.cfg.Restart == nil {
			return ctl.Errorf(ctl.CodeInvalid, "this Supervisor cannot be restarted through its control gateway")
		}
		out("Restarting the Supervisor")
		// After this request is answered: the restart ends the gateway.
		go m.cfg.Restart()
		return nil
	case CmdSupDepart:
		var a DepartArgs
		if err := decode(&a); err != nil {
			return err
		}
		return m.depart(a.MemberID, out)
	case CmdDefaultCfg:
		var a IdentArgs
		if err := decode(&a); err != nil {
			return err
		}
		return m.defaultCfg(a.Ident, out)
	}
	return ctl.Errorf(ctl.CodeInvalid, "unknown control command %q", cmd)
}

func badIdent(s string, err error) error {
	return ctl.Errorf(ctl.CodeInvalid, "invalid package identifier %q: %v", s, err)
}

// load writes the spec of a service, or of each service of a composite,
// after checking the package is installed and the binds are right.
func (m *Manager) load(ctx context.Context, sp spec.Spec, force bool, out func(string)) error {
	if out == nil {
		out = func(string) {}
	}
	id, err := ident.Parse(sp.Ident)
	if err != nil || id.Origin == "" || id.Name == "" {
		if err == nil {
			err = errors.New("expected ORIGIN/NAME[/VERSION[/RELEASE]]")
		}
		return badIdent(sp.Ident, err)
	}
	if sp.Binds == nil {
		sp.Binds = []string{}
	}
	if err := sp.Validate(); err != nil {
		return ctl.Errorf(ctl.CodeInvalid, "load %s: %v", sp.Ident, err)
	}
	p, err := m.resolveOrInstall(ctx, id)
	if err != nil {
		return err
	}
	meta, err := p.Metadata()
	if err != nil {
		return ctl.Errorf(ctl.CodeInternal, "load %s: %v", sp.Ident, err)
	}
	if meta.Type == "composite" || meta.PackageType == "composite" {
		return m.loadComposite(ctx, sp, p, force, out)
	}
	return m.loadOne(sp, p, force, out)
}

func (m *Manager) resolveOrInstall(ctx context.Context, id ident.Ident) (*pkgs.Package, error) {
	p, err := m.cfg.Store.Resolve(ctx, id)
	if err == nil {
		return p, nil
	}
	if errors.Is(err, pkgs.ErrNotInstalled) && m.cfg.InstallMissing != nil {
		p, err := m.cfg.InstallMissing(ctx, id)
		if err != nil {
			return nil, ctl.Errorf(ctl.CodeNotFound, "%v", err)
		}
		return p, nil
	}
	if errors.Is(err, pkgs.ErrNotInstalled) {
		return nil, ctl.Errorf(ctl.CodeNotFound, "package %s is not installed (install it with hab pkg install, or give a .hart)", id)
	}
	return nil, ctl.Errorf(ctl.CodeInternal, "resolve %s: %v", id, err)
}

func (m *Manager) loadOne(sp spec.Spec, p *pkgs.Package, force bool, out func(string)) error {
	meta, err := p.Metadata()
	if err != nil {
		return ctl.Errorf(ctl.CodeInternal, "load %s: %v", sp.Ident, err)
	}
	if err := service.CheckBinds(meta, sp.Binds); err != nil {
		return ctl.Errorf(ctl.CodeInvalid, "load %s: %v", sp.Ident, err)
	}
	name := meta.Ident.Name
	if old, err := m.specs.Read(name); err == nil && !force {
		return ctl.Errorf(ctl.CodeConflict, "Service already loaded. Unload '%s' and try again, or load with the --force flag to reload and restart the service.", old.Ident)
	}
	if err := m.specs.Write(sp); err != nil {
		return ctl.Errorf(ctl.CodeInternal, "%v", err)
	}
	if force {
		m.forget(name)
	}
	out(fmt.Sprintf("The %s service was successfully loaded", sp.Ident))
	return nil
}

// forget stops a running service and drops it, so that the next
// reconcile starts it again from its spec (a forced load restarts).
func (m *Manager) forget(name string) {
	m.reconcileMu.Lock()
	defer m.reconcileMu.Unlock()
	m.mu.Lock()
	r := m.services[name]
	delete(m.services, name)
	m.mu.Unlock()
	if r != nil {
		m.stop([]*running{r})
	}
}

// loadComposite loads every service of a composite with the composite's
// bind map: a mapped bind NAME:SERVICE becomes NAME:SERVICE.GROUP, and a
// three-part --bind SERVICE:NAME:GROUP goes to that service.
func (m *Manager) loadComposite(ctx context.Context, sp spec.Spec, p *pkgs.Package, force bool, out func(string)) error {
	meta, err := p.Metadata()
	if err != nil {
		return ctl.Errorf(ctl.CodeInternal, "load %s: %v", sp.Ident, err)
	}
	services := meta.ResolvedServices
	if len(services) == 0 {
		services = meta.Services
	}
	userBinds := map[string][]string{}
	for _, raw := range sp.Binds {
		b, err := spec.ParseBind(raw)
		if err != nil || b.Service == "" {
			return ctl.Errorf(ctl.CodeInvalid, "load composite %s: bind %q must name the service: SERVICE:NAME:SERVICE.GROUP", sp.Ident, raw)
		}
		userBinds[b.Service] = append(userBinds[b.Service], b.Name+":"+b.Group.String())
	}
	type item struct {
		sp spec.Spec
		p  *pkgs.Package
	}
	var items []item
	for _, sid := range services {
		sp2 := sp
		sp2.Ident = sid.String()
		sp2.Composite = meta.Ident.Origin + "/" + meta.Ident.Name
		sp2.Binds = append([]string{}, userBinds[sid.Name]...)
		for key, maps := range meta.BindMap {
			if key.Origin != sid.Origin || key.Name != sid.Name {
				continue
			}
			for _, bm := range maps {
				sp2.Binds = append(sp2.Binds, bm.BindName+":"+bm.SatisfyingService.Name+"."+sp.Group)
			}
		}
		sort.Strings(sp2.Binds)
		sp2.Binds = dedupe(sp2.Binds)
		cp, err := m.resolveOrInstall(ctx, sid)
		if err != nil {
			return err
		}
		items = append(items, item{sp2, cp})
	}
	// Check every service before writing any spec.
	for _, it := range items {
		cm, err := it.p.Metadata()
		if err != nil {
			return ctl.Errorf(ctl.CodeInternal, "load %s: %v", it.sp.Ident, err)
		}
		if err := service.CheckBinds(cm, it.sp.Binds); err != nil {
			return ctl.Errorf(ctl.CodeInvalid, "load composite %s: %s: %v", sp.Ident, it.sp.Ident, err)
		}
		if old, err := m.specs.Read(cm.Ident.Name); err == nil && !force {
			return ctl.Errorf(ctl.CodeConflict, "Service already loaded. Unload '%s' and try again, or load with the --force flag to reload and restart the service.", old.Ident)
		}
	}
	for _, it := range items {
		if err := m.specs.Write(it.sp); err != nil {
			return ctl.Errorf(ctl.CodeInternal, "%v", err)
		}
		if force {
			m.forget(it.sp.Name())
		}
		out(fmt.Sprintf("The %s service was successfully loaded", it.sp.Ident))
	}
	return nil
}

func dedupe(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// specsFor finds the loaded specs an ident names: one service, or every
// service of a composite.
func (m *Manager) specsFor(raw string) ([]spec.Spec, error) {
	return m.specsIn(nil, raw)
}

// specsIn is specsFor over all, the specs as read already (nil: read
// them now).
func (m *Manager) specsIn(all map[string]spec.Spec, raw string) ([]spec.Spec, error) {
	id, err := ident.Parse(raw)
	if err != nil || id.Name == "" {
		if err == nil {
			err = errors.New("expected ORIGIN/NAME")
		}
		return nil, badIdent(raw, err)
	}
	if all == nil {
		if all, _, err = m.specs.ReadAll(); err != nil {
			return nil, ctl.Errorf(ctl.CodeInternal, "%v", err)
		}
	}
	var out []spec.Spec
	if sp, ok := all[id.Name]; ok {
		sid, _ := ident.Parse(sp.Ident)
		if sid.Origin == id.Origin {
			out = append(out, sp)
		}
	}
	if len(out) == 0 {
		want := id.Origin + "/" + id.Name
		for _, sp := range all {
			if sp.Composite == want {
				out = append(out, sp)
			}
		}
	}
	if len(out) == 0 {
		return nil, ctl.Errorf(ctl.CodeNotFound, "Service not loaded, %s", raw)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Ident < out[j].Ident })
	return out, nil
}

func (m *Manager) unload(ctx context.Context, a IdentArgs, out func(string)) error {
	sps, err := m.specsFor(a.Ident)
	if err != nil {
		return err
	}
	var waits []<-chan struct{}
	for _, sp := range sps {
		out(fmt.Sprintf("Unloading %s", sp.Ident))
		m.mu.Lock()
		r := m.services[sp.Name()]
		m.mu.Unlock()
		if r != nil {
			if a.ShutdownTimeout != nil {
				r.svc.SetStopTimeout(time.Duration(*a.ShutdownTimeout) * time.Second)
			}
			waits = append(waits, r.done)
		}
		if err := m.specs.Remove(sp.Name()); err != nil {
			return ctl.Errorf(ctl.CodeInternal, "%v", err)
		}
	}
	m.reconcile(ctx)
	for _, w := range waits {
		select {
		case <-w:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func (m *Manager) setState(a IdentArgs, state string, out func(string)) error {
	sps, err := m.specsFor(a.Ident)
	if err != nil {
		return err
	}
	for _, sp := range sps {
		if sp.DesiredState == state {
			out(fmt.Sprintf("Service %s is already %s", sp.Ident, map[string]string{spec.StateUp: "started", spec.StateDown: "stopped"}[state]))
			continue
		}
		if state == spec.StateDown && a.ShutdownTimeout != nil {
			m.mu.Lock()
			if r := m.services[sp.Name()]; r != nil {
				r.svc.SetStopTimeout(time.Duration(*a.ShutdownTimeout) * time.Second)
			}
			m.mu.Unlock()
		}
		sp.DesiredState = state
		if err := m.specs.Write(sp); err != nil {
			return ctl.Errorf(ctl.CodeInternal, "%v", err)
		}
		verb := map[string]string{spec.StateUp: "Starting", spec.StateDown: "Stopping"}[state]
		out(fmt.Sprintf("%s %s", verb, sp.Ident))
	}
	return nil
}

// StatusHeader is the header line of hab svc status.
const StatusHeader = "package\ttype\tdesired\tstate\telapsed (s)\tpid\tgroup"

func (m *Manager) status(raw string, out func(string)) error {
	all, _, err := m.specs.ReadAll()
	var only map[string]bool
	if raw != "" {
		if err != nil {
			return ctl.Errorf(ctl.CodeInternal, "%v", err)
		}
		sps, err := m.specsIn(all, raw)
		if err != nil {
			return err
		}
		only = map[string]bool{}
		for _, sp := range sps {
			only[sp.Name()] = true
		}
	}
	sts := m.Statuses()
	if len(all) == 0 && raw == "" {
		out("No services loaded.")
		return nil
	}
	out(StatusHeader)
	seen := map[string]bool{}
	for _, st := range sts {
		name := st.Spec.Name()
		if only != nil && !only[name] {
			continue
		}
		seen[name] = true
		state, pid := "down", "<none>"
		if st.Up {
			state, pid = "up", strconv.Itoa(st.PID)
		}
		elapsed := int64(0)
		if !st.StateEntered.IsZero() {
			elapsed = int64(time.Since(st.StateEntered).Seconds())
		}
		out(fmt.Sprintf("%s\tstandalone\t%s\t%s\t%d\t%s\t%s", st.Ident, st.Spec.DesiredState, state, elapsed, pid, st.Spec.ServiceGroup()))
	}
	// Specs that have no running service (not installed, bad binds).
	names := make([]string, 0, len(all))
	for n := range all {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if seen[n] || (only != nil && !only[n]) {
			continue
		}
		sp := all[n]
		out(fmt.Sprintf("%s\tstandalone\t%s\tdown\t0\t<none>\t%s", sp.Ident, sp.DesiredState, sp.ServiceGroup()))
	}
	return nil
}

// applyConfig checks and stores configuration for a service group: valid
// TOML, at most 64 KiB, and a version greater than the one applied; the
// group's services (and any started later) render with it.
func (m *Manager) applyConfig(a ConfigArgs, validateOnly bool, out func(string)) error {
	sg, err := svcgroup.Parse(a.ServiceGroup)
	if err != nil {
		return ctl.Errorf(ctl.CodeInvalid, "%v", err)
	}
	if len(a.Config) > maxPayload(a.Encrypted) {
		return ctl.Errorf(ctl.CodeBadPayload, "Configuration too large: %d bytes, at most %d", len(a.Config), maxPayload(a.Encrypted))
	}
	// An encrypted configuration was checked in the clear by the validate
	// request before it.
	if !a.Encrypted {
		if _, err := templating.ParseTOML("configuration for "+sg.String(), []byte(a.Config)); err != nil {
			return ctl.Errorf(ctl.CodeBadPayload, "invalid configuration for %s: %v", sg, err)
		}
	}
	if validateOnly {
		return nil
	}
	if old, ok := m.ring.Configs.Get(sg.String(), "service_config"); ok && a.Version <= old.Incarnation {
		return ctl.Errorf(ctl.CodeConflict, "configuration version %d for %s is not newer than the applied version %d: not applied (use a greater version)", a.Version, sg, old.Incarnation)
	}
	m.publishConfig(census.ServiceConfig{FromID: m.ring.LocalID, ServiceGroup: sg.String(), Incarnation: a.Version, Config: a.Config, Encrypted: a.Encrypted})
	m.saveRumors()
	m.kickGroup(sg.String())
	out(fmt.Sprintf("Applied configuration version %d to %s", a.Version, sg))
	return nil
}

func (m *Manager) uploadFile(a FileArgs, out func(string)) error {
	sg, err := svcgroup.Parse(a.ServiceGroup)
	if err != nil {
		return ctl.Errorf(ctl.CodeInvalid, "%v", err)
	}
	if a.Filename == "" || a.Filename != filepath.Base(a.Filename) || a.Filename == "." || a.Filename == ".." || strings.ContainsAny(a.Filename, "/\x00") {
		return ctl.Errorf(ctl.CodeInvalid, "invalid file name %q: a plain file name is expected", a.Filename)
	}
	if len(a.Body) > maxPayload(a.Encrypted) {
		return ctl.Errorf(ctl.CodeBadPayload, "File too large: %d bytes, at most %d", len(a.Body), maxPayload(a.Encrypted))
	}
	if old, ok := m.ring.Files.Get(sg.String(), a.Filename); ok && a.Version <= old.Incarnation {
		return ctl.Errorf(ctl.CodeConflict, "file %s version %d for %s is not newer than the uploaded version %d: not applied (use a greater version)", a.Filename, a.Version, sg, old.Incarnation)
	}
	m.publishFile(census.ServiceFile{FromID: m.ring.LocalID, ServiceGroup: sg.String(), Incarnation: a.Version, Filename: a.Filename, Body: a.Body, Encrypted: a.Encrypted})
	m.saveRumors()
	m.kickGroup(sg.String())
	out(fmt.Sprintf("Uploaded file %s version %d to %s", a.Filename, a.Version, sg))
	return nil
}

// kickGroup wakes the services of group sg: its configuration or files
// changed (here or through the ring), taken into the opened stores first.
func (m *Manager) kickGroup(sg string) {
	m.opened.sync(time.Now())
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range m.services {
		if r.svc.ServiceGroup() == sg {
			r.svc.Kick()
		}
	}
}

// update changes the options of loaded services (one, or each of a
// composite) in their specs; the next reconcile restarts a running one
// with them, as a changed spec does.
func (m *Manager) update(a UpdateArgs, out func(string)) error {
	sps, err := m.specsFor(a.Ident)
	if err != nil {
		return err
	}
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	for i := range sps {
		sp := &sps[i]
		set(&sp.Group, a.Group)
		set(&sp.Topology, a.Topology)
		set(&sp.UpdateStrategy, a.Strategy)
		set(&sp.UpdateCondition, a.UpdateCondition)
		set(&sp.Channel, a.Channel)
		set(&sp.BldrURL, a.URL)
		set(&sp.BindingMode, a.BindingMode)
		if a.Binds != nil {
			sp.Binds = append([]string{}, *a.Binds...)
		}
		if a.HealthCheckInterval != nil {
			sp.HealthCheckInterval = spec.Duration{Secs: *a.HealthCheckInterval}
		}
		if a.ShutdownTimeout != nil {
			t := *a.ShutdownTimeout
			sp.ShutdownTimeout = &t
		}
		if err := sp.Validate(); err != nil {
			return ctl.Errorf(ctl.CodeInvalid, "update %s: %v", sp.Ident, err)
		}
	}
	for _, sp := range sps {
		if err := m.specs.Write(sp); err != nil {
			return ctl.Errorf(ctl.CodeInternal, "%v", err)
		}
		out(fmt.Sprintf("Updating %s", sp.Ident))
	}
	return nil
}

// defaultCfg answers the default configuration (default.toml) of the
// package of a loaded service, as it is.
func (m *Manager) defaultCfg(raw string, out func(string)) error {
	sps, err := m.specsFor(raw)
	if err != nil {
		return err
	}
	if len(sps) != 1 {
		return ctl.Errorf(ctl.CodeInvalid, "%s is a composite: name one of its services", raw)
	}
	m.mu.Lock()
	r := m.services[sps[0].Name()]
	m.mu.Unlock()
	if r == nil {
		return ctl.Errorf(ctl.CodeNotFound, "Service not running, %s", raw)
	}
	p := filepath.Join(r.svc.Status().Pkg.Path, "default.toml")
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return ctl.Errorf(ctl.CodeNotFound, "%s has no default configuration (no %s)", r.svc.Ident(), p)
	}
	if err != nil {
		return ctl.Errorf(ctl.CodeInternal, "read default configuration: %v", err)
	}
	out(strings.TrimRight(string(b), "\n"))
	return nil
}
