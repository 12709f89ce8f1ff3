package sqlstore

import (
	"encoding/hex"

	"github.com/habgo/hab/core/ident"
)

// VersionKey encodes a version as text whose byte order is the order
// core/ident.CompareVersions gives, so that the database can answer
// "latest" with an index (ORDER BY version_key DESC, release DESC).
//
// Layout before hex encoding (hex keeps the order and makes the key plain
// ASCII): a version without digits is 0x00 followed by the version, so it
// sorts below every numeric one and lexically among its kind. A numeric
// version is 0x01, then each number as 0x02, a two-byte length and its
// digits (a longer number is greater; a shorter list of numbers that is a
// prefix of a longer one is older, because the 0x01 that ends the list
// sorts below 0x02), then 0x01, then 0x03 for no extension (newer) or 0x02,
// the extension and 0x00 — then the whole version, the tie-break
// CompareVersions uses.
func VersionKey(v string) string {
	sv := ident.SplitVersion(v)
	var b []byte
	if !sv.Numeric {
		b = append(append(b, 0x00), v...)
		return hex.EncodeToString(b)
	}
	b = append(b, 0x01)
	for _, n := range sv.Numbers {
		l := min(len(n), 0xffff)
		b = append(b, 0x02, byte(l>>8), byte(l))
		b = append(b, n[:l]...)
	}
	b = append(b, 0x01)
	if sv.HasExt {
		b = append(b, 0x02)
		b = append(b, sv.Extension...)
		b = append(b, 0x00)
	} else {
		b = append(b, 0x03)
	}
	b = append(b, v...)
	return hex.EncodeToString(b)
}
