package pkgs

import (
	"archive/tar"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	rxz "github.com/therootcompany/xz"

	"github.com/habgo/hab/core/hart"
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
	Binds         []Bind            `json:"binds"`
	BindsOptional []Bind            `json:"binds_optional"`
	Size          int64             `json:"size"`

	// Metadata is the parsed metadata, for callers that want more.
	Metadata *Metadata `json:"-"`
}

// ReadArchiveInfo reads the header, checksum and metadata of the hart at
// path, without checking its signature (as the original's info does).
func ReadArchiveInfo(ctx context.Context, path string) (*ArchiveInfo, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("info: %w", err)
	}
	h, err := hart.ReadHeaderFile(path)
	if err != nil {
		return nil, fmt.Errorf("info %s: %w", path, err)
	}
	sum, err := hart.Hash(path)
	if err != nil {
		return nil, fmt.Errorf("info %s: %w", path, err)
	}
	hm, err := hart.ReadMetadata(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("info: %w", err)
	}
	m, err := ParseMetadata(hm.Ident, hm.Files)
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
		Checksum:      sum,
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
		Size:          fi.Size(),
		Metadata:      m,
	}
	if info.Exports == nil {
		info.Exports = map[string]string{}
	}
	if info.Binds == nil {
		info.Binds = []Bind{}
	}
	if info.BindsOptional == nil {
		info.BindsOptional = []Bind{}
	}
	for _, p := range m.Exposes {
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil {
			return nil, fmt.Errorf("info %s: %w: %s: %s: invalid port %q", path, ErrMalformed, m.Ident, FileExposes, p)
		}
		info.Exposes = append(info.Exposes, uint16(n))
	}
	opt := func(name, v string) *string {
		if _, ok := hm.Files[name]; !ok {
			return nil
		}
		return &v
	}
	info.SvcUser = opt(FileSvcUser, m.SvcUser)
	info.SvcGroup = opt(FileSvcGroup, m.SvcGroup)
	info.LDRunPath = opt(FileLDRunPath, m.LDRunPath)
	info.LDFlags = opt(FileLDFlags, m.LDFlags)
	info.CFlags = opt(FileCFlags, m.CFlags)
	cfg, err := readHartFile(ctx, path, InstallPrefix(m.Ident)[1:]+"/"+FileDefaultConfig)
	if err != nil {
		return nil, fmt.Errorf("info %s: %w", path, err)
	}
	if cfg != nil {
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

// readHartFile returns the content of the regular file entry name in the
// hart's payload, or nil when there is none. It stops at the entry.
func readHartFile(ctx context.Context, path, name string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 256<<10)
	if _, err := hart.ReadHeader(br); err != nil {
		return nil, err
	}
	zr, err := rxz.NewReader(br, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: payload: %v", hart.ErrFormat, err)
	}
	tr := tar.NewReader(zr)
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%w: payload: %v", hart.ErrFormat, err)
		}
		if strings.TrimPrefix(hdr.Name, "./") != name || hdr.Typeflag != tar.TypeReg {
			continue
		}
		if hdr.Size > 64<<20 {
			return nil, fmt.Errorf("%w: %s is %d bytes", hart.ErrFormat, name, hdr.Size)
		}
		return io.ReadAll(tr)
	}
}
