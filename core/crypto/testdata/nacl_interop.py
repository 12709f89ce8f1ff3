#!/usr/bin/env python3
"""An independent implementation of Habitat's key and message formats on
libsodium (PyNaCl), used by interop_test.go to check the Go code both ways.

usage: nacl_interop.py OP KEYFILE [KEYFILE]   (input on stdin, output on stdout)

  box-encrypt SENDER.box.key RECEIVER.pub    plaintext -> BOX-1 message
  box-decrypt RECEIVER.box.key SENDER.pub    BOX-1 message -> plaintext
  anon-encrypt RECEIVER.pub                  plaintext -> ANONYMOUS-BOX-1 message
  anon-decrypt RECEIVER.box.key              ANONYMOUS-BOX-1 message -> plaintext
  ring-encrypt RING.sym.key                  plaintext -> base64 nonce, newline, base64 ciphertext
  ring-decrypt RING.sym.key                  that -> plaintext
  sign ORIGIN.sig.key                        message -> base64 combined signed message
  verify ORIGIN.pub                          base64 signed message -> message
"""
import base64
import sys

import nacl.bindings as sodium
import nacl.utils


def read_key(path, version):
    with open(path) as f:
        lines = f.read().split("\n")
    if lines[0] != version:
        sys.exit("%s: expected %s, found %r" % (path, version, lines[0]))
    if lines[2] != "":
        sys.exit("%s: line 3 is not empty" % path)
    return lines[1], base64.b64decode(lines[3], validate=True)


def main():
    op, keys = sys.argv[1], sys.argv[2:]
    data = sys.stdin.buffer.read()
    out = sys.stdout.buffer
    if op == "box-encrypt":
        sname, skey = read_key(keys[0], "BOX-SEC-1")
        rname, rkey = read_key(keys[1], "BOX-PUB-1")
        nonce = nacl.utils.random(sodium.crypto_box_NONCEBYTES)
        ct = sodium.crypto_box(data, nonce, rkey, skey)
        msg = "\n".join(["BOX-1", sname, rname,
                         base64.b64encode(nonce).decode(), base64.b64encode(ct).decode()])
        out.write(msg.encode())
    elif op == "box-decrypt":
        rname, rkey = read_key(keys[0], "BOX-SEC-1")
        sname, skey = read_key(keys[1], "BOX-PUB-1")
        lines = data.decode().split("\n")
        if lines[0] != "BOX-1" or lines[1] != sname or lines[2] != rname:
            sys.exit("unexpected BOX-1 header %r" % lines[:3])
        nonce = base64.b64decode(lines[3], validate=True)
        ct = base64.b64decode(lines[4], validate=True)
        out.write(sodium.crypto_box_open(ct, nonce, skey, rkey))
    elif op == "anon-encrypt":
        rname, rkey = read_key(keys[0], "BOX-PUB-1")
        ct = sodium.crypto_box_seal(data, rkey)
        out.write("\n".join(["ANONYMOUS-BOX-1", rname, base64.b64encode(ct).decode()]).encode())
    elif op == "anon-decrypt":
        rname, rsec = read_key(keys[0], "BOX-SEC-1")
        lines = data.decode().split("\n")
        if lines[0] != "ANONYMOUS-BOX-1" or lines[1] != rname:
            sys.exit("unexpected ANONYMOUS-BOX-1 header %r" % lines[:2])
        rpub = sodium.crypto_scalarmult_base(rsec)
        out.write(sodium.crypto_box_seal_open(base64.b64decode(lines[2], validate=True), rpub, rsec))
    elif op == "ring-encrypt":
        _, key = read_key(keys[0], "SYM-SEC-1")
        nonce = nacl.utils.random(sodium.crypto_secretbox_NONCEBYTES)
        ct = sodium.crypto_secretbox(data, nonce, key)
        out.write(base64.b64encode(nonce) + b"\n" + base64.b64encode(ct))
    elif op == "ring-decrypt":
        _, key = read_key(keys[0], "SYM-SEC-1")
        nonce, ct = (base64.b64decode(x, validate=True) for x in data.split(b"\n"))
        out.write(sodium.crypto_secretbox_open(ct, nonce, key))
    elif op == "sign":
        _, key = read_key(keys[0], "SIG-SEC-1")
        out.write(base64.b64encode(sodium.crypto_sign(data, key)))
    elif op == "verify":
        _, key = read_key(keys[0], "SIG-PUB-1")
        out.write(sodium.crypto_sign_open(base64.b64decode(data, validate=True), key))
    else:
        sys.exit("unknown operation %r" % op)


if __name__ == "__main__":
    main()
