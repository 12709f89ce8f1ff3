package pkgs

import (
	"github.com/habgo/hab/core/ident"
	"github.com/habgo/hab/core/pkgmeta"
)

// These names moved to core/pkgmeta; they stay here only until the
// planner and the hart information reader import pkgmeta themselves.
type (
	// Deprecated: use pkgmeta.Metadata.
	Metadata = pkgmeta.Metadata
	// Deprecated: use pkgmeta.Bind.
	Bind = pkgmeta.Bind
	// Deprecated: use pkgmeta.BindMapping.
	BindMapping = pkgmeta.BindMapping
)

// Deprecated: use the pkgmeta names.
const (
	FileDefaultConfig                  = pkgmeta.FileDefaultConfig
	FileExposes                        = pkgmeta.FileExposes
	FileFiles                          = pkgmeta.FileFiles
	FileManifest                       = pkgmeta.FileManifest
	FileServices                       = pkgmeta.FileServices
	FileBuildtimeEnvironmentProvenance = pkgmeta.FileBuildtimeEnvironmentProvenance
	FileRuntimeEnvironmentProvenance   = pkgmeta.FileRuntimeEnvironmentProvenance
	FileSvcUser                        = pkgmeta.FileSvcUser
	FileSvcGroup                       = pkgmeta.FileSvcGroup
	FileLDRunPath                      = pkgmeta.FileLDRunPath
	FileLDFlags                        = pkgmeta.FileLDFlags
	FileCFlags                         = pkgmeta.FileCFlags
	FileExports                        = pkgmeta.FileExports
	FileBinds                          = pkgmeta.FileBinds
	FileBindsOptional                  = pkgmeta.FileBindsOptional
)

// Deprecated: use pkgmeta.ErrMalformed.
var ErrMalformed = pkgmeta.ErrMalformed

// Deprecated: use pkgmeta.Parse.
func ParseMetadata(id ident.Ident, files map[string][]byte) (*Metadata, error) {
	return pkgmeta.Parse(id, files)
}

// Deprecated: use pkgmeta.InstallPrefix.
func InstallPrefix(id ident.Ident) string { return pkgmeta.InstallPrefix(id) }

// Deprecated: use pkgmeta.ReadDir.
func ReadMetadataFiles(dir string) (map[string][]byte, error) { return pkgmeta.ReadDir(dir) }
