package sqlstore

import "strings"

// migrations are applied in order, each once, in one transaction with the
// row in schema_migrations that records it. The SQL is common to SQLite and
// PostgreSQL; the few types that differ are written as tokens that
// dialect.expand replaces.
//
// Dates are naive UTC text in the original's format
// (2006-01-02T15:04:05.000000), which sorts as time; booleans are integers.
var migrations = []string{
	`
CREATE TABLE accounts (
	id {{ID}},
	name {{KEYTEXT}} NOT NULL UNIQUE,
	email TEXT NOT NULL DEFAULT '',
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL
);
CREATE TABLE account_tokens (
	id {{ID}},
	account_id BIGINT NOT NULL UNIQUE REFERENCES accounts(id) ON DELETE CASCADE,
	token_hash TEXT NOT NULL UNIQUE,
	created_at TEXT NOT NULL
);
CREATE TABLE origins (
	id {{ID}},
	name {{KEYTEXT}} NOT NULL UNIQUE,
	owner_id BIGINT NOT NULL REFERENCES accounts(id),
	default_package_visibility TEXT NOT NULL,
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL
);
CREATE TABLE origin_members (
	origin_id BIGINT NOT NULL REFERENCES origins(id) ON DELETE CASCADE,
	account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	role TEXT NOT NULL DEFAULT 'readonly_member',
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL,
	PRIMARY KEY (origin_id, account_id)
);
CREATE TABLE origin_invitations (
	id {{ID}},
	origin_id BIGINT NOT NULL REFERENCES origins(id) ON DELETE CASCADE,
	account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	owner_id BIGINT NOT NULL,
	ignored INTEGER NOT NULL DEFAULT 0,
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL,
	UNIQUE (origin_id, account_id)
);
CREATE TABLE origin_public_keys (
	id {{ID}},
	origin_id BIGINT NOT NULL REFERENCES origins(id) ON DELETE CASCADE,
	revision TEXT NOT NULL,
	body TEXT NOT NULL,
	owner_id BIGINT NOT NULL,
	created_at TEXT NOT NULL,
	UNIQUE (origin_id, revision)
);
CREATE TABLE origin_secret_keys (
	id {{ID}},
	origin_id BIGINT NOT NULL REFERENCES origins(id) ON DELETE CASCADE,
	revision TEXT NOT NULL,
	body TEXT NOT NULL,
	owner_id BIGINT NOT NULL,
	created_at TEXT NOT NULL,
	UNIQUE (origin_id, revision)
);
CREATE TABLE origin_encryption_keys (
	id {{ID}},
	origin_id BIGINT NOT NULL UNIQUE REFERENCES origins(id) ON DELETE CASCADE,
	revision TEXT NOT NULL,
	public_body TEXT NOT NULL,
	secret_body TEXT NOT NULL,
	created_at TEXT NOT NULL
);
CREATE TABLE origin_secrets (
	id {{ID}},
	origin_id BIGINT NOT NULL REFERENCES origins(id) ON DELETE CASCADE,
	name TEXT NOT NULL,
	value TEXT NOT NULL,
	owner_id BIGINT NOT NULL,
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL,
	UNIQUE (origin_id, name)
);
CREATE TABLE origin_integrations (
	id {{ID}},
	origin_id BIGINT NOT NULL REFERENCES origins(id) ON DELETE CASCADE,
	integration TEXT NOT NULL,
	name TEXT NOT NULL,
	body TEXT NOT NULL,
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL,
	UNIQUE (origin_id, integration, name)
);
CREATE TABLE package_settings (
	id {{ID}},
	origin_id BIGINT NOT NULL REFERENCES origins(id) ON DELETE CASCADE,
	name {{KEYTEXT}} NOT NULL,
	visibility TEXT NOT NULL,
	owner_id BIGINT NOT NULL,
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL,
	UNIQUE (origin_id, name)
);
CREATE TABLE channels (
	id {{ID}},
	origin_id BIGINT NOT NULL REFERENCES origins(id) ON DELETE CASCADE,
	name {{KEYTEXT}} NOT NULL,
	owner_id BIGINT NOT NULL,
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL,
	UNIQUE (origin_id, name)
);
CREATE TABLE packages (
	id {{ID}},
	origin_id BIGINT NOT NULL REFERENCES origins(id),
	owner_id BIGINT NOT NULL,
	origin {{KEYTEXT}} NOT NULL,
	name {{KEYTEXT}} NOT NULL,
	version {{KEYTEXT}} NOT NULL,
	release {{KEYTEXT}} NOT NULL,
	ident {{KEYTEXT}} NOT NULL,
	target TEXT NOT NULL,
	checksum TEXT NOT NULL,
	size BIGINT NOT NULL,
	manifest TEXT NOT NULL,
	config TEXT NOT NULL,
	deps TEXT NOT NULL,
	tdeps TEXT NOT NULL,
	build_deps TEXT NOT NULL,
	build_tdeps TEXT NOT NULL,
	exposes TEXT NOT NULL,
	is_service INTEGER NOT NULL,
	visibility TEXT NOT NULL,
	package_type TEXT NOT NULL,
	version_key {{KEYTEXT}} NOT NULL,
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL,
	UNIQUE (ident, target)
);
CREATE INDEX packages_latest ON packages (origin, name, target, version_key, release);
CREATE TABLE package_tdeps (
	package_id BIGINT NOT NULL REFERENCES packages(id) ON DELETE CASCADE,
	origin TEXT NOT NULL,
	name TEXT NOT NULL,
	PRIMARY KEY (package_id, origin, name)
);
CREATE INDEX package_tdeps_dep ON package_tdeps (origin, name);
CREATE TABLE channel_packages (
	channel_id BIGINT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
	package_id BIGINT NOT NULL REFERENCES packages(id) ON DELETE CASCADE,
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL,
	PRIMARY KEY (channel_id, package_id)
);
CREATE INDEX channel_packages_package ON channel_packages (package_id);
`,
	// "Latest in a channel" as one index seek: each membership carries
	// the sort key of its release, so the newest release of a name and
	// target in a channel is the last entry of channel_packages_latest,
	// however few of the package's releases the channel holds.
	`
ALTER TABLE channel_packages ADD COLUMN name {{KEYTEXT}} NOT NULL DEFAULT '';
ALTER TABLE channel_packages ADD COLUMN target TEXT NOT NULL DEFAULT '';
ALTER TABLE channel_packages ADD COLUMN version_key {{KEYTEXT}} NOT NULL DEFAULT '';
ALTER TABLE channel_packages ADD COLUMN release {{KEYTEXT}} NOT NULL DEFAULT '';
UPDATE channel_packages SET
	name = (SELECT p.name FROM packages p WHERE p.id = channel_packages.package_id),
	target = (SELECT p.target FROM packages p WHERE p.id = channel_packages.package_id),
	version_key = (SELECT p.version_key FROM packages p WHERE p.id = channel_packages.package_id),
	release = (SELECT p.release FROM packages p WHERE p.id = channel_packages.package_id);
CREATE INDEX channel_packages_latest ON channel_packages (channel_id, name, target, version_key, release);
`,
}

// dialect holds what differs between the SQL databases.
type dialect struct {
	name   string
	tokens map[string]string
}

var (
	sqliteDialect = dialect{name: "sqlite", tokens: map[string]string{
		"{{ID}}":      "INTEGER PRIMARY KEY",
		"{{KEYTEXT}}": "TEXT", // SQLite compares text byte-wise (BINARY)
	}}
	postgresDialect = dialect{name: "postgres", tokens: map[string]string{
		"{{ID}}":      "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
		"{{KEYTEXT}}": `TEXT COLLATE "C"`, // byte-wise, whatever the database's locale
	}}
)

func (d dialect) expand(sql string) string {
	for k, v := range d.tokens {
		sql = strings.ReplaceAll(sql, k, v)
	}
	return sql
}
