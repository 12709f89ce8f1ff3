package eventstreamtest

import (
	"encoding/json"
	"fmt"
	"sync"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
	_ "google.golang.org/protobuf/types/known/durationpb"  // registers duration.proto
	_ "google.golang.org/protobuf/types/known/timestamppb" // registers timestamp.proto
	_ "google.golang.org/protobuf/types/known/wrapperspb"  // registers wrappers.proto
)

// eventProto is the original's components/sup/protocols/event.proto
// (habitat-sh/habitat 78b87ed46) as a descriptor: the same package,
// messages, field names, numbers and types, and enums.
const eventProto = `
name: "event.proto"
package: "chef.habitat.supervisor.event"
dependency: ["google/protobuf/duration.proto", "google/protobuf/timestamp.proto", "google/protobuf/wrappers.proto"]
syntax: "proto3"
message_type {
  name: "EventMetadata"
  field { name: "supervisor_id" number: 1 type: TYPE_STRING label: LABEL_OPTIONAL json_name: "supervisor_id" }
  field { name: "ip_address" number: 2 type: TYPE_STRING label: LABEL_OPTIONAL json_name: "ip_address" }
  field { name: "occurred_at" number: 3 type: TYPE_MESSAGE type_name: ".google.protobuf.Timestamp" label: LABEL_OPTIONAL json_name: "occurred_at" }
  field { name: "application" number: 4 type: TYPE_STRING label: LABEL_OPTIONAL json_name: "application" }
  field { name: "environment" number: 5 type: TYPE_STRING label: LABEL_OPTIONAL json_name: "environment" }
  field { name: "meta" number: 6 type: TYPE_MESSAGE type_name: ".chef.habitat.supervisor.event.EventMetadata.MetaEntry" label: LABEL_REPEATED json_name: "meta" }
  field { name: "fqdn" number: 7 type: TYPE_STRING label: LABEL_OPTIONAL json_name: "fqdn" }
  field { name: "site" number: 8 type: TYPE_STRING label: LABEL_OPTIONAL json_name: "site" }
  nested_type {
    name: "MetaEntry"
    field { name: "key" number: 1 type: TYPE_STRING label: LABEL_OPTIONAL json_name: "key" }
    field { name: "value" number: 2 type: TYPE_STRING label: LABEL_OPTIONAL json_name: "value" }
    options { map_entry: true }
  }
}
message_type {
  name: "ServiceMetadata"
  field { name: "package_ident" number: 1 type: TYPE_STRING label: LABEL_OPTIONAL json_name: "package_ident" }
  field { name: "spec_ident" number: 2 type: TYPE_STRING label: LABEL_OPTIONAL json_name: "spec_ident" }
  field { name: "service_group" number: 3 type: TYPE_STRING label: LABEL_OPTIONAL json_name: "service_group" }
  field { name: "update_config" number: 4 type: TYPE_MESSAGE type_name: ".chef.habitat.supervisor.event.UpdateConfig" label: LABEL_OPTIONAL json_name: "update_config" }
}
enum_type { name: "UpdateStrategy" value { name: "AtOnce" number: 0 } value { name: "Rolling" number: 1 } }
message_type {
  name: "UpdateConfig"
  field { name: "strategy" number: 1 type: TYPE_ENUM type_name: ".chef.habitat.supervisor.event.UpdateStrategy" label: LABEL_OPTIONAL json_name: "strategy" }
  field { name: "channel" number: 2 type: TYPE_STRING label: LABEL_OPTIONAL json_name: "channel" }
}
enum_type { name: "HealthCheckResult" value { name: "Ok" number: 0 } value { name: "Warning" number: 1 } value { name: "Critical" number: 2 } value { name: "Unknown" number: 3 } }
message_type {
  name: "ServiceStartedEvent"
  field { name: "event_metadata" number: 1 type: TYPE_MESSAGE type_name: ".chef.habitat.supervisor.event.EventMetadata" label: LABEL_OPTIONAL json_name: "event_metadata" }
  field { name: "service_metadata" number: 2 type: TYPE_MESSAGE type_name: ".chef.habitat.supervisor.event.ServiceMetadata" label: LABEL_OPTIONAL json_name: "service_metadata" }
}
message_type {
  name: "ServiceStoppedEvent"
  field { name: "event_metadata" number: 1 type: TYPE_MESSAGE type_name: ".chef.habitat.supervisor.event.EventMetadata" label: LABEL_OPTIONAL json_name: "event_metadata" }
  field { name: "service_metadata" number: 2 type: TYPE_MESSAGE type_name: ".chef.habitat.supervisor.event.ServiceMetadata" label: LABEL_OPTIONAL json_name: "service_metadata" }
}
message_type {
  name: "ServiceUpdateStartedEvent"
  field { name: "event_metadata" number: 1 type: TYPE_MESSAGE type_name: ".chef.habitat.supervisor.event.EventMetadata" label: LABEL_OPTIONAL json_name: "event_metadata" }
  field { name: "service_metadata" number: 2 type: TYPE_MESSAGE type_name: ".chef.habitat.supervisor.event.ServiceMetadata" label: LABEL_OPTIONAL json_name: "service_metadata" }
  field { name: "update_package_ident" number: 3 type: TYPE_STRING label: LABEL_OPTIONAL json_name: "update_package_ident" }
}
message_type {
  name: "HealthCheckEvent"
  field { name: "event_metadata" number: 1 type: TYPE_MESSAGE type_name: ".chef.habitat.supervisor.event.EventMetadata" label: LABEL_OPTIONAL json_name: "event_metadata" }
  field { name: "service_metadata" number: 2 type: TYPE_MESSAGE type_name: ".chef.habitat.supervisor.event.ServiceMetadata" label: LABEL_OPTIONAL json_name: "service_metadata" }
  field { name: "result" number: 3 type: TYPE_ENUM type_name: ".chef.habitat.supervisor.event.HealthCheckResult" label: LABEL_OPTIONAL json_name: "result" }
  field { name: "execution" number: 4 type: TYPE_MESSAGE type_name: ".google.protobuf.Duration" label: LABEL_OPTIONAL json_name: "execution" }
  field { name: "exit_status" number: 5 type: TYPE_MESSAGE type_name: ".google.protobuf.Int32Value" label: LABEL_OPTIONAL json_name: "exit_status" }
  field { name: "stdout" number: 6 type: TYPE_MESSAGE type_name: ".google.protobuf.StringValue" label: LABEL_OPTIONAL json_name: "stdout" }
  field { name: "stderr" number: 7 type: TYPE_MESSAGE type_name: ".google.protobuf.StringValue" label: LABEL_OPTIONAL json_name: "stderr" }
  field { name: "interval" number: 8 type: TYPE_MESSAGE type_name: ".google.protobuf.Duration" label: LABEL_OPTIONAL json_name: "interval" }
}
`

// messageFor is the message each subject carries (the original's
// event.rs).
var messageFor = map[string]protoreflect.Name{
	"habitat.event.service_started":        "ServiceStartedEvent",
	"habitat.event.service_stopped":        "ServiceStoppedEvent",
	"habitat.event.service_update_started": "ServiceUpdateStartedEvent",
	"habitat.event.healthcheck":            "HealthCheckEvent",
}

var (
	fileOnce sync.Once
	file     protoreflect.FileDescriptor
	fileErr  error
)

func eventFile() (protoreflect.FileDescriptor, error) {
	fileOnce.Do(func() {
		var fdp descriptorpb.FileDescriptorProto
		if fileErr = prototext.Unmarshal([]byte(eventProto), &fdp); fileErr != nil {
			return
		}
		file, fileErr = protodesc.NewFile(&fdp, protoregistry.GlobalFiles)
	})
	return file, fileErr
}

// Decode reads the payload of subject as its message. Fields it does
// not know (a wrong number or wire type) are an error, as are trailing
// or malformed bytes.
func Decode(subject string, payload []byte) (map[string]any, error) {
	fd, err := eventFile()
	if err != nil {
		return nil, fmt.Errorf("event.proto descriptor: %w", err)
	}
	name, ok := messageFor[subject]
	if !ok {
		return nil, fmt.Errorf("no event is sent on subject %q", subject)
	}
	md := fd.Messages().ByName(name)
	m := dynamicpb.NewMessage(md)
	if err := proto.Unmarshal(payload, m); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if err := noUnknown(m, string(name)); err != nil {
		return nil, err
	}
	b, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("%s as JSON: %w", name, err)
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	return v, nil
}

// noUnknown fails on a message or nested message holding fields the
// descriptor does not know.
func noUnknown(m protoreflect.Message, path string) error {
	if u := m.GetUnknown(); len(u) > 0 {
		return fmt.Errorf("%s: %d bytes of fields event.proto does not have", path, len(u))
	}
	var err error
	m.Range(func(f protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case f.IsMap():
		case f.IsList() && f.Message() != nil:
			l := v.List()
			for i := 0; i < l.Len() && err == nil; i++ {
				err = noUnknown(l.Get(i).Message(), fmt.Sprintf("%s.%s[%d]", path, f.Name(), i))
			}
		case f.Message() != nil && !f.IsList():
			err = noUnknown(v.Message(), path+"."+string(f.Name()))
		}
		return err == nil
	})
	return err
}
