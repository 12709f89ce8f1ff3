// Package eventstream is the supervisor's event stream to Chef
// Automate, as the original's: protobuf messages of its event.proto
// (service started, stopped, update started, health check), each with
// the supervisor's metadata, published on NATS subjects habitat.event.*.
package eventstream

import (
	"maps"
	"slices"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

// The NATS subjects of the original's events (components/sup/src/event.rs).
const (
	SubjectServiceStarted       = "habitat.event.service_started"
	SubjectServiceStopped       = "habitat.event.service_stopped"
	SubjectServiceUpdateStarted = "habitat.event.service_update_started"
	SubjectHealthCheck          = "habitat.event.healthcheck"
)

// Supervisor is what every event says of the supervisor that sends it
// (the original's EventMetadata without the time, which each event
// takes when it goes out).
type Supervisor struct {
	ID          string // the member id
	IPAddress   string // the gossip listener, IP:PORT
	FQDN        string
	Application string
	Environment string
	Site        string // optional
	Meta        map[string]string
}

// Service is what an event says of a service (the original's
// ServiceMetadata).
type Service struct {
	PackageIdent string // the release running, fully qualified
	SpecIdent    string // the ident it was loaded with (core/redis)
	ServiceGroup string
	// UpdateStrategy is the spec's: "at-once" and "rolling" send an
	// update configuration with Channel, anything else ("none") none.
	UpdateStrategy string
	Channel        string
}

// HealthCheck is one health check's outcome (the original's
// HealthCheckEvent without the metadata).
type HealthCheck struct {
	// Result is OK, WARNING, CRITICAL or UNKNOWN (anything else counts
	// as UNKNOWN).
	Result string
	// Execution is how long the health-check hook ran; nil without one.
	Execution *time.Duration
	// ExitStatus is the hook's exit code, nil when it did not exit by
	// itself (no hook, killed, failed to start).
	ExitStatus *int32
	// Stdout and Stderr are the hook's output when it ran.
	Stdout, Stderr *string
	// Interval is how long until the next health check.
	Interval time.Duration
}

// Field numbers, all from components/sup/protocols/event.proto of
// habitat-sh/habitat (78b87ed46, package chef.habitat.supervisor.event),
// and the well-known types it imports (google/protobuf/timestamp.proto,
// duration.proto, wrappers.proto).
const (
	// EventMetadata
	fMetaSupervisorID protowire.Number = 1
	fMetaIPAddress    protowire.Number = 2
	fMetaOccurredAt   protowire.Number = 3 // google.protobuf.Timestamp
	fMetaApplication  protowire.Number = 4
	fMetaEnvironment  protowire.Number = 5
	fMetaMeta         protowire.Number = 6 // map<string, string>: entries of key = 1, value = 2
	fMetaFQDN         protowire.Number = 7
	fMetaSite         protowire.Number = 8

	// ServiceMetadata
	fSvcPackageIdent protowire.Number = 1
	fSvcSpecIdent    protowire.Number = 2
	fSvcServiceGroup protowire.Number = 3
	fSvcUpdateConfig protowire.Number = 4

	// UpdateConfig
	fUpdStrategy protowire.Number = 1 // enum UpdateStrategy: AtOnce = 0, Rolling = 1
	fUpdChannel  protowire.Number = 2

	// ServiceStartedEvent, ServiceStoppedEvent, ServiceUpdateStartedEvent
	// and HealthCheckEvent begin alike.
	fEventMetadata   protowire.Number = 1
	fServiceMetadata protowire.Number = 2
	// ServiceUpdateStartedEvent
	fUpdatePackageIdent protowire.Number = 3
	// HealthCheckEvent
	fHealthResult     protowire.Number = 3 // enum HealthCheckResult: Ok = 0, Warning = 1, Critical = 2, Unknown = 3
	fHealthExecution  protowire.Number = 4 // google.protobuf.Duration
	fHealthExitStatus protowire.Number = 5 // google.protobuf.Int32Value
	fHealthStdout     protowire.Number = 6 // google.protobuf.StringValue
	fHealthStderr     protowire.Number = 7 // google.protobuf.StringValue
	fHealthInterval   protowire.Number = 8 // google.protobuf.Duration

	// google.protobuf.Timestamp and Duration: seconds = 1, nanos = 2;
	// the wrappers (Int32Value, StringValue) and map entries: value = 1
	// (an entry's key = 1, value = 2).
	fSeconds protowire.Number = 1
	fNanos   protowire.Number = 2
	fValue   protowire.Number = 1
	fKey     protowire.Number = 1
	fMapVal  protowire.Number = 2
)

// Values of the original's enums.
var (
	strategies = map[string]uint64{"at-once": 0, "rolling": 1}
	results    = map[string]uint64{"OK": 0, "WARNING": 1, "CRITICAL": 2, "UNKNOWN": 3}
)

// Proto3 leaves out scalars at their zero value, as prost does; a set
// message field is written even when empty.

func appendString(b []byte, n protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	b = protowire.AppendTag(b, n, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendVarint(b []byte, n protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, n, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func appendMessage(b []byte, n protowire.Number, m []byte) []byte {
	b = protowire.AppendTag(b, n, protowire.BytesType)
	return protowire.AppendBytes(b, m)
}

// seconds and nanos, as Timestamp and Duration hold them (int64,
// int32: negative values in ten bytes).
func secondsNanos(sec int64, nanos int32) []byte {
	b := appendVarint(nil, fSeconds, uint64(sec))
	return appendVarint(b, fNanos, uint64(int64(nanos)))
}

func timestamp(t time.Time) []byte { return secondsNanos(t.Unix(), int32(t.Nanosecond())) }

func duration(d time.Duration) []byte {
	return secondsNanos(int64(d/time.Second), int32(d%time.Second))
}

// eventMetadata encodes an EventMetadata; the meta entries go out in
// key order, so that the same event encodes the same.
func eventMetadata(s Supervisor, at time.Time) []byte {
	b := appendString(nil, fMetaSupervisorID, s.ID)
	b = appendString(b, fMetaIPAddress, s.IPAddress)
	b = appendMessage(b, fMetaOccurredAt, timestamp(at))
	b = appendString(b, fMetaApplication, s.Application)
	b = appendString(b, fMetaEnvironment, s.Environment)
	for _, k := range slices.Sorted(maps.Keys(s.Meta)) {
		entry := appendString(nil, fKey, k)
		entry = appendString(entry, fMapVal, s.Meta[k])
		b = appendMessage(b, fMetaMeta, entry)
	}
	b = appendString(b, fMetaFQDN, s.FQDN)
	return appendString(b, fMetaSite, s.Site)
}

// serviceMetadata encodes a ServiceMetadata: an UpdateConfig only for a
// service with an update strategy, as the original's.
func serviceMetadata(s Service) []byte {
	b := appendString(nil, fSvcPackageIdent, s.PackageIdent)
	b = appendString(b, fSvcSpecIdent, s.SpecIdent)
	b = appendString(b, fSvcServiceGroup, s.ServiceGroup)
	if v, ok := strategies[s.UpdateStrategy]; ok {
		u := appendVarint(nil, fUpdStrategy, v)
		u = appendString(u, fUpdChannel, s.Channel)
		b = appendMessage(b, fSvcUpdateConfig, u)
	}
	return b
}

// serviceEvent encodes ServiceStartedEvent and ServiceStoppedEvent
// (the same fields), and begins the others.
func serviceEvent(sup Supervisor, at time.Time, svc Service) []byte {
	b := appendMessage(nil, fEventMetadata, eventMetadata(sup, at))
	return appendMessage(b, fServiceMetadata, serviceMetadata(svc))
}

func serviceUpdateStarted(sup Supervisor, at time.Time, svc Service, to string) []byte {
	return appendString(serviceEvent(sup, at, svc), fUpdatePackageIdent, to)
}

func healthCheck(sup Supervisor, at time.Time, svc Service, h HealthCheck) []byte {
	b := serviceEvent(sup, at, svc)
	r, ok := results[h.Result]
	if !ok {
		r = results["UNKNOWN"]
	}
	b = appendVarint(b, fHealthResult, r)
	if h.Execution != nil {
		b = appendMessage(b, fHealthExecution, duration(*h.Execution))
	}
	if h.ExitStatus != nil {
		b = appendMessage(b, fHealthExitStatus, appendVarint(nil, fValue, uint64(int64(*h.ExitStatus))))
	}
	if h.Stdout != nil {
		b = appendMessage(b, fHealthStdout, appendString(nil, fValue, *h.Stdout))
	}
	if h.Stderr != nil {
		b = appendMessage(b, fHealthStderr, appendString(nil, fValue, *h.Stderr))
	}
	return appendMessage(b, fHealthInterval, duration(h.Interval))
}
