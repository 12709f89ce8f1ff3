package manager

import (
	"context"
	"net"
	"strconv"

	"github.com/habgo/hab/sup/eventstream"
	"github.com/habgo/hab/sup/service"
)

// Events receives what happens to the supervisor's services, as the
// original sends it to Chef Automate (sup/eventstream's Stream).
type Events interface {
	ServiceStarted(eventstream.Service)
	ServiceStopped(eventstream.Service)
	ServiceUpdateStarted(svc eventstream.Service, to string)
	HealthChecked(eventstream.Service, eventstream.HealthCheck)
	// Close sends what is still queued and ends the stream.
	Close() error
}

// OpenEvents opens the supervisor's Events once it knows who it is
// (member id, gossip address, FQDN); Config.OpenEvents.
type OpenEvents func(ctx context.Context, who eventstream.Supervisor) (Events, error)

// openEvents opens the event stream (Config.OpenEvents) before any
// service starts, as the original does; an error (the server not
// reached within --event-stream-connect-timeout) stops the start.
func (m *Manager) openEvents(ctx context.Context) error {
	if m.cfg.OpenEvents == nil {
		return nil
	}
	fqdn := eventstream.FQDN(ctx, m.sys.Hostname)
	m.say("Event FQDN %s", fqdn)
	who := eventstream.Supervisor{
		ID:        m.sys.MemberID,
		IPAddress: net.JoinHostPort(m.sys.GossipIP, strconv.Itoa(int(m.sys.GossipPort))),
		FQDN:      fqdn,
	}
	ev, err := m.cfg.OpenEvents(ctx, who)
	if err != nil {
		return err
	}
	m.events = ev
	return nil
}

func (m *Manager) closeEvents() {
	if m.events != nil {
		if err := m.events.Close(); err != nil {
			m.cfg.Log.Warn("event stream: close", "err", err)
		}
	}
}

// eventService is what an event says of a service.
func eventService(svc *service.Service) eventstream.Service {
	sp := svc.Spec()
	return eventstream.Service{
		PackageIdent: svc.Ident(), SpecIdent: sp.Ident, ServiceGroup: svc.ServiceGroup(),
		UpdateStrategy: sp.UpdateStrategy, Channel: sp.Channel,
	}
}

func (m *Manager) serviceStarted(svc *service.Service) {
	if m.events != nil {
		m.events.ServiceStarted(eventService(svc))
	}
}

// serviceStopped sends the stop of a service whose Run has ended,
// unless it handed its process over to the next supervisor.
func (m *Manager) serviceStopped(svc *service.Service) {
	if m.events != nil && !svc.KeptRunning() {
		m.events.ServiceStopped(eventService(svc))
	}
}

// serviceUpdateStarted sends the start of a service's update to release
// to, before it is restarted.
func (m *Manager) serviceUpdateStarted(name, to string) {
	if m.events == nil {
		return
	}
	m.mu.Lock()
	r, ok := m.services[name]
	m.mu.Unlock()
	if ok {
		m.events.ServiceUpdateStarted(eventService(r.svc), to)
	}
}

// healthCheckedHook is the services' Options.HealthChecked: nil
// without an event stream.
func (m *Manager) healthCheckedHook() func(*service.Service, service.HealthCheck) {
	if m.events == nil {
		return nil
	}
	return m.healthChecked
}

func (m *Manager) healthChecked(svc *service.Service, h service.HealthCheck) {
	ev := eventstream.HealthCheck{Result: h.Result, Interval: h.Interval}
	if h.Hook {
		d := h.Duration
		ev.Execution = &d
	}
	if h.Exited {
		code, out, errOut := int32(h.ExitCode), h.Stdout, h.Stderr
		ev.ExitStatus, ev.Stdout, ev.Stderr = &code, &out, &errOut
	}
	m.events.HealthChecked(eventService(svc), ev)
}
