#!/usr/bin/env python3
"""An independent implementation of the Habitat .hart format, for tests.

It shares no code with the Go implementation: signatures come from
libsodium (through PyNaCl, Debian's python3-nacl), digests from hashlib's
BLAKE2b, archives from the GNU tar and xz programs.

    refhart.py sign SECRET_KEY_FILE FS_ROOT ORIGIN/NAME/VERSION/RELEASE OUT.hart
    refhart.py verify KEY_CACHE_DIR FILE.hart
    refhart.py extract KEY_CACHE_DIR FILE.hart DEST_DIR

The format: "HART-1\\n<key NAME-REV>\\nBLAKE2b\\n<base64 signature>\\n\\n"
followed by the xz-compressed tar; the signature is libsodium crypto_sign
(combined mode) of the lowercase hex BLAKE2b-256 digest of the payload.
"""

import base64
import hashlib
import os
import subprocess
import sys
import tempfile

import nacl.exceptions
import nacl.signing


def read_key(path, kind):
    with open(path, "rb") as f:
        lines = f.read().decode().splitlines()
    if len(lines) < 4 or lines[0].strip() != kind or lines[2].strip() != "":
        raise SystemExit(f"{path}: not a {kind} key file")
    return lines[1].strip(), base64.b64decode(lines[3].strip(), validate=True)


def blake2b_hex(f):
    h = hashlib.blake2b(digest_size=32)
    for chunk in iter(lambda: f.read(1 << 20), b""):
        h.update(chunk)
    return h.hexdigest()


def sign(secret_key_file, fs_root, ident, out):
    name_rev, secret = read_key(secret_key_file, "SIG-SEC-1")
    signing_key = nacl.signing.SigningKey(secret[:32])  # libsodium sk = seed || pk
    if bytes(signing_key.verify_key) != secret[32:]:
        raise SystemExit(f"{secret_key_file}: public half does not match the seed")
    prefix = "hab/pkgs/" + ident
    with tempfile.TemporaryFile() as payload:
        tar = subprocess.Popen(
            ["tar", "--sort=name", "--owner=0", "--group=0", "--numeric-owner",
             "--format=gnu", "-C", fs_root, "-cf", "-", prefix],
            stdout=subprocess.PIPE)
        xz = subprocess.Popen(["xz", "-6", "-c"], stdin=tar.stdout, stdout=payload)
        tar.stdout.close()
        if xz.wait() != 0 or tar.wait() != 0:
            raise SystemExit("tar | xz failed")
        payload.seek(0)
        digest = blake2b_hex(payload)
        signed = signing_key.sign(digest.encode())  # signature || message
        payload.seek(0)
        with open(out, "wb") as f:
            f.write(b"HART-1\n" + name_rev.encode() + b"\nBLAKE2b\n" +
                    base64.b64encode(bytes(signed)) + b"\n\n")
            for chunk in iter(lambda: payload.read(1 << 20), b""):
                f.write(chunk)


def open_hart(cache, path):
    """Verify path; return (key name, digest, payload offset)."""
    with open(path, "rb") as f:
        lines = [f.readline() for _ in range(5)]
        if any(not line.endswith(b"\n") for line in lines):
            raise SystemExit(f"{path}: truncated header")
        fmt, name_rev, hash_type, sig, empty = (line.strip().decode() for line in lines)
        if fmt != "HART-1" or hash_type != "BLAKE2b" or empty != "":
            raise SystemExit(f"{path}: bad header {fmt!r} {hash_type!r} {empty!r}")
        offset = f.tell()
        digest = blake2b_hex(f)
    key_name, public = read_key(os.path.join(cache, name_rev + ".pub"), "SIG-PUB-1")
    if key_name != name_rev:
        raise SystemExit(f"key file names {key_name}, header {name_rev}")
    try:
        signed_digest = nacl.signing.VerifyKey(public).verify(base64.b64decode(sig, validate=True))
    except nacl.exceptions.BadSignatureError:
        raise SystemExit(f"{path}: bad signature by {name_rev}")
    if signed_digest.decode() != digest:
        raise SystemExit(f"{path}: payload digest {digest} != signed {signed_digest.decode()}")
    return name_rev, digest, offset


def main(argv):
    if len(argv) == 6 and argv[1] == "sign":
        sign(*argv[2:])
    elif len(argv) == 4 and argv[1] == "verify":
        name_rev, digest, _ = open_hart(argv[2], argv[3])
        print(f"verified {argv[3]} {digest} {name_rev}")
    elif len(argv) == 5 and argv[1] == "extract":
        _, _, offset = open_hart(argv[2], argv[3])
        with open(argv[3], "rb") as f:
            f.seek(offset)
            xz = subprocess.Popen(["xz", "-dc"], stdin=f, stdout=subprocess.PIPE)
            tar = subprocess.Popen(["tar", "-x", "-p", "-C", argv[4], "-f", "-"], stdin=xz.stdout)
            xz.stdout.close()
            if tar.wait() != 0 or xz.wait() != 0:
                raise SystemExit("xz | tar failed")
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
