package templating

import (
	"encoding/json"
	"fmt"
)

// RenderContext is what config templates and hooks see, with the original's
// field names and order: sys, pkg, cfg, svc and bind. The supervisor fills
// it; install hooks see only pkg and cfg (Sys and Svc nil, Bind empty).
// See shared/conformance/habitat/templates/render_context_schema.json.
type RenderContext struct {
	Sys  *SystemInfo          `json:"sys,omitempty"`
	Pkg  Package              `json:"pkg"`
	Cfg  *Object              `json:"cfg"`
	Svc  *Svc                 `json:"svc,omitempty"`
	Bind map[string]BindGroup `json:"bind,omitempty"`
}

// SystemInfo is the supervisor's own information ("sys").
type SystemInfo struct {
	Version         string `json:"version"`
	MemberID        string `json:"member_id"`
	IP              string `json:"ip"`
	Hostname        string `json:"hostname"`
	GossipIP        string `json:"gossip_ip"`
	GossipPort      uint16 `json:"gossip_port"`
	HTTPGatewayIP   string `json:"http_gateway_ip"`
	HTTPGatewayPort uint16 `json:"http_gateway_port"`
	CtlGatewayIP    string `json:"ctl_gateway_ip"`
	CtlGatewayPort  uint16 `json:"ctl_gateway_port"`
	Permanent       bool   `json:"permanent"`
}

// PackageIdent is an identifier split into its parts; version and release
// are null when unset.
type PackageIdent struct {
	Origin  string  `json:"origin"`
	Name    string  `json:"name"`
	Version *string `json:"version"`
	Release *string `json:"release"`
}

// Package is the running package ("pkg").
type Package struct {
	Ident                string            `json:"ident"`
	Origin               string            `json:"origin"`
	Name                 string            `json:"name"`
	Version              string            `json:"version"`
	Release              string            `json:"release"`
	Deps                 []PackageIdent    `json:"deps"`
	Env                  map[string]string `json:"env"`
	Exposes              []string          `json:"exposes"`
	Exports              map[string]string `json:"exports"`
	Path                 string            `json:"path"`
	SvcPath              string            `json:"svc_path"`
	SvcConfigPath        string            `json:"svc_config_path"`
	SvcConfigInstallPath string            `json:"svc_config_install_path"`
	SvcDataPath          string            `json:"svc_data_path"`
	SvcFilesPath         string            `json:"svc_files_path"`
	SvcStaticPath        string            `json:"svc_static_path"`
	SvcVarPath           string            `json:"svc_var_path"`
	SvcPidFile           string            `json:"svc_pid_file"`
	SvcRun               string            `json:"svc_run"`
	SvcUser              string            `json:"svc_user"`
	SvcGroup             string            `json:"svc_group"`
}

// Svc is the service group this service belongs to ("svc").
type Svc struct {
	Service                  string      `json:"service"`
	Group                    string      `json:"group"`
	Org                      *string     `json:"org"`
	ElectionIsRunning        bool        `json:"election_is_running"`
	ElectionIsNoQuorum       bool        `json:"election_is_no_quorum"`
	ElectionIsFinished       bool        `json:"election_is_finished"`
	UpdateElectionIsRunning  bool        `json:"update_election_is_running"`
	UpdateElectionIsNoQuorum bool        `json:"update_election_is_no_quorum"`
	UpdateElectionIsFinished bool        `json:"update_election_is_finished"`
	Me                       SvcMember   `json:"me"`
	Members                  []SvcMember `json:"members"`
	Leader                   *SvcMember  `json:"leader"`
	First                    SvcMember   `json:"first"`
	UpdateLeader             *SvcMember  `json:"update_leader"`
}

// BindGroup is a bound service group ("bind.NAME").
type BindGroup struct {
	First   *SvcMember  `json:"first"`
	Leader  *SvcMember  `json:"leader"`
	Members []SvcMember `json:"members"`
}

// MemberSys is a census member's system information.
type MemberSys struct {
	IP              string `json:"ip"`
	Hostname        string `json:"hostname"`
	GossipIP        string `json:"gossip_ip"`
	GossipPort      uint32 `json:"gossip_port"`
	HTTPGatewayIP   string `json:"http_gateway_ip"`
	HTTPGatewayPort uint32 `json:"http_gateway_port"`
	CtlGatewayIP    string `json:"ctl_gateway_ip"`
	CtlGatewayPort  uint32 `json:"ctl_gateway_port"`
}

// SvcMember is one member of a service group's census.
type SvcMember struct {
	MemberID                 string       `json:"member_id"`
	Pkg                      PackageIdent `json:"pkg"`
	PkgIncarnation           uint64       `json:"pkg_incarnation"`
	Package                  string       `json:"package"`
	Service                  string       `json:"service"`
	Group                    string       `json:"group"`
	Org                      *string      `json:"org"`
	Persistent               bool         `json:"persistent"`
	Leader                   bool         `json:"leader"`
	Follower                 bool         `json:"follower"`
	UpdateLeader             bool         `json:"update_leader"`
	UpdateFollower           bool         `json:"update_follower"`
	ElectionIsRunning        bool         `json:"election_is_running"`
	ElectionIsNoQuorum       bool         `json:"election_is_no_quorum"`
	ElectionIsFinished       bool         `json:"election_is_finished"`
	UpdateElectionIsRunning  bool         `json:"update_election_is_running"`
	UpdateElectionIsNoQuorum bool         `json:"update_election_is_no_quorum"`
	UpdateElectionIsFinished bool         `json:"update_election_is_finished"`
	Sys                      MemberSys    `json:"sys"`
	Alive                    bool         `json:"alive"`
	Suspect                  bool         `json:"suspect"`
	Confirmed                bool         `json:"confirmed"`
	Departed                 bool         `json:"departed"`
	Cfg                      *Object      `json:"cfg"`
}

// Value is the context as the engine sees it: an object with the fields
// above in order, maps sorted by key (the original keeps them in B-trees),
// cfg in its own order, and empty lists and maps as [] and {}.
func (c RenderContext) Value() (*Object, error) {
	cc := c
	if cc.Cfg == nil {
		cc.Cfg = NewObject()
	}
	if cc.Pkg.Deps == nil {
		cc.Pkg.Deps = []PackageIdent{}
	}
	if cc.Pkg.Env == nil {
		cc.Pkg.Env = map[string]string{}
	}
	if cc.Pkg.Exposes == nil {
		cc.Pkg.Exposes = []string{}
	}
	if cc.Pkg.Exports == nil {
		cc.Pkg.Exports = map[string]string{}
	}
	if cc.Svc != nil {
		svc := *cc.Svc
		if svc.Members == nil {
			svc.Members = []SvcMember{}
		}
		cc.Svc = &svc
	}
	b, err := json.Marshal(&cc)
	if err != nil {
		return nil, fmt.Errorf("render context: %w", err)
	}
	v, err := DecodeJSON(b)
	if err != nil {
		return nil, fmt.Errorf("render context: %w", err)
	}
	obj := v.(*Object)
	// Members' empty cfg tables and bind groups' member lists print as {}
	// and [] rather than null.
	fixNulls(obj)
	if c.Svc != nil {
		if _, ok := obj.Get("bind"); !ok {
			obj.Set("bind", NewObject())
		}
	}
	return obj, nil
}

// fixNulls turns null "cfg" and "members" fields of census members into
// {} and [].
func fixNulls(v any) {
	switch t := v.(type) {
	case *Object:
		for _, k := range t.keys {
			switch {
			case k == "cfg" && t.vals[k] == nil:
				t.vals[k] = NewObject()
			case k == "members" && t.vals[k] == nil:
				t.vals[k] = []any{}
			default:
				fixNulls(t.vals[k])
			}
		}
	case []any:
		for _, x := range t {
			fixNulls(x)
		}
	}
}

// MemberPkg gives a census member's "pkg" and "package" fields for an
// identifier's parts.
func MemberPkg(origin, name, version, release string) (PackageIdent, string) {
	id := PackageIdent{Origin: origin, Name: name}
	s := origin + "/" + name
	if version != "" {
		id.Version = &version
		s += "/" + version
		if release != "" {
			id.Release = &release
			s += "/" + release
		}
	}
	return id, s
}
