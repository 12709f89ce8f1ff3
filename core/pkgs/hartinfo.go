package pkgs

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/habgo/hab/core/hart"
	"github.com/habgo/hab/core/pkgmeta"
)

// ArchiveInfo is what `hab pkg info` tells about a hart. The JSON keys and
// their order are the original's (PackageArchiveInfo), followed by exports,
// binds, binds_optional and size, which the original does not show.
type ArchiveInfo struct {
	FormatVersion string   `json:"format_version"`
	KeyName       string   `json:"key_name"`
	HashType      string   `json:"hash_type"`
	SignatureRaw  string   `json:"signature_raw"`
	Ident         string   `json:"ident"`
	Origin        string   `json:"origin"`
	Name          string   `json:"name"`
	Version       string   `json:"version"`
	Release       string   `json:"release"`
	Checksum      string   `json:"checksum"`
	Target        string   `json:"target"`
	IsAService    bool     `json:"is_a_service"`
	Deps          []string `json:"deps"`
	TDeps         []string `json:"tdeps"`
	BuildDeps     []string `json:"build_deps"`
	BuildTDeps    []string `json:"build_tdeps"`
	Exposes       []uint16 `json:"exposes"`
	Manifest      string   `json:"manifest"`
	Config        *string  `json:"config"`
	SvcUser       *string  `json:"svc_user"`
	SvcGroup      *string  `json:"svc_group"`
	LDRunPath     *string  `json:"ld_run_path"`
	LDFlags       *string  `json:"ldflags"`
	CFlags        *string  `json:"cflags"`

	Exports       map[string]string `json:"exports"`
	Binds         []pkgmeta.Bind    `json:"binds"`
	BindsOptional []pkgmeta.Bind    `json:"binds_optional"`
	Size          int64             `json:"size"`

	// Metadata is the parsed metadata, for callers that want more.
	Metadata *pkgmeta.Metadata `json:"-"`
}

// ReadArchiveInfo reads the header, checksum and metadata of the hart at
// path, without checking its signature (as the original's info does), in
// one pass over the file. A truncated or corrupt hart is an error.
func ReadArchiveInfo(ctx context.Context, path string) (*ArchiveInfo, error) {
	hi, err := hart.Inspect(ctx, path, hart.ReadOptions{XZ: hart.XZGo, Keep: pkgmeta.Known, Files: []string{pkgmeta.FileDefaultConfig}})
	if err != nil {
		return nil, fmt.Errorf("info: %w", err)
	}
	h, files := hi.Header, hi.Metadata.Files
	cfg, hasCfg := files[pkgmeta.FileDefaultConfig]
	delete(files, pkgmeta.FileDefaultConfig)
	m, err := pkgmeta.Parse(hi.Metadata.Ident, files)
	if err != nil {
		return nil, fmt.Errorf("info %s: %w", path, err)
	}
	info := &ArchiveInfo{
		FormatVersion: h.Format,
		KeyName:       h.KeyName,
		HashType:      h.HashType,
		SignatureRaw:  h.EncodedSignature(),
		Ident:         m.Ident.String(),
		Origin:        m.Ident.Origin,
		Name:          m.Ident.Name,
		Version:       m.Ident.Version,
		Release:       m.Ident.Release,
		Checksum:      hi.Checksum,
		Target:        string(m.Target),
		IsAService:    m.IsService(),
		Deps:          strs(m.Deps),
		TDeps:         strs(m.TDeps),
		BuildDeps:     strs(m.BuildDeps),
		BuildTDeps:    strs(m.BuildTDeps),
		Exposes:       []uint16{},
		Manifest:      m.Manifest,
		Exports:       m.Exports,
		Binds:         m.Binds,
		BindsOptional: m.BindsOptional,
		Size:          hi.Size,
		Metadata:      m,
	}
	if info.Exports == nil {
		info.Exports = map[string]string{}
	}
	if info.Binds == nil {
		info.Binds = []pkgmeta.Bind{}
	}
	if info.BindsOptional == nil {
		info.BindsOptional = []pkgmeta.Bind{}
	}
	for _, p := range m.Exposes {
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil {
			return nil, fmt.Errorf("info %s: %w: %s: %s: invalid port %q", path, pkgmeta.ErrMalformed, m.Ident, pkgmeta.FileExposes, p)
		}
		info.Exposes = append(info.Exposes, uint16(n))
	}
	opt := func(name, v string) *string {
		if _, ok := files[name]; !ok {
			return nil
		}
		return &v
	}
	info.SvcUser = opt(pkgmeta.FileSvcUser, m.SvcUser)
	info.SvcGroup = opt(pkgmeta.FileSvcGroup, m.SvcGroup)
	info.LDRunPath = opt(pkgmeta.FileLDRunPath, m.LDRunPath)
	info.LDFlags = opt(pkgmeta.FileLDFlags, m.LDFlags)
	info.CFlags = opt(pkgmeta.FileCFlags, m.CFlags)
	if hasCfg {
		s := strings.TrimSpace(string(cfg))
		info.Config = &s
	}
	return info, nil
}

func strs[T fmt.Stringer](xs []T) []string {
	out := []string{}
	for _, x := range xs {
		out = append(out, x.String())
	}
	return out
}
