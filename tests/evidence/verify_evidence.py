#!/usr/bin/python3
"""An independent verifier of Temoin evidence packages (temoin-evidence/v1).

Written from docs/evidence-format.md alone: it shares no code with Temoin. It uses only
the Python standard library (hashlib, json, base64, struct), PyNaCl (Debian's
python3-nacl) for Ed25519, XChaCha20-Poly1305 and secretstream, and, for a disclosed
body, the `zstd` command (Debian's zstd package) to decompress the sealed testimony,
since neither hashlib nor PyNaCl decompress zstd.

    verify_evidence.py DIR [--org-key HEX] [--log-key VKEY] [--witness VKEY]...
                       [--min-witnesses K] [--json]

--log-key is optional: the organisation's server-key statement certifies the log key.

Prints one line per check (or one JSON object) and exits 0 only when every check passes.
"""

import argparse
import base64
import datetime
import hashlib
import json
import os
import struct
import subprocess
import sys

import nacl.bindings as sodium
import nacl.exceptions
import nacl.signing

FORMAT = "temoin-evidence/v1"
DICTIONARY_V1_SHA256 = "f1512bfaead8419969cd78c758e2b56dfca855bc388b08b277ead747ab96cabe"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
MAX_BODY = 1 << 20


class Bad(Exception):
    """A check failed; the message says why."""


# --- primitives (section 1) --------------------------------------------------------------

def sha256(data):
    return hashlib.sha256(data).digest()


def blake2b256(data):
    return hashlib.blake2b(data, digest_size=32).digest()


def hash256(context, data):
    return blake2b256(context.encode() + b"\x00" + data)


def u16(n):
    return struct.pack(">H", n)


def u32(n):
    return struct.pack(">I", n)


def u64(n):
    return struct.pack(">Q", n)


def i64(n):
    return struct.pack(">q", n)


def ed25519_ok(public_key, message, signature):
    if len(public_key) != 32 or len(signature) != 64:
        return False
    try:
        nacl.signing.VerifyKey(public_key).verify(message, signature)
        return True
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError, ValueError):
        return False


def signed_ok(public_key, context, message, signature):
    return ed25519_ok(public_key, context.encode() + b"\x00" + message, signature)


# --- protobuf wire format (section 6) ------------------------------------------------------

def varint(data, at):
    value = shift = 0
    while True:
        if at >= len(data) or shift > 63:
            raise Bad("truncated varint")
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value & 0xFFFFFFFFFFFFFFFF, at


def decode(data):
    """field number -> list of raw values (int for varint/fixed, bytes for length-delimited)."""
    fields = {}
    at = 0
    while at < len(data):
        key, at = varint(data, at)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise Bad("field number 0")
        if wire == 0:
            value, at = varint(data, at)
        elif wire == 1:
            if at + 8 > len(data):
                raise Bad("truncated fixed64")
            value = data[at:at + 8]
            at += 8
        elif wire == 2:
            length, at = varint(data, at)
            if at + length > len(data):
                raise Bad("truncated field")
            value = data[at:at + length]
            at += length
        elif wire == 5:
            if at + 4 > len(data):
                raise Bad("truncated fixed32")
            value = data[at:at + 4]
            at += 4
        else:
            raise Bad("unsupported wire type")
        fields.setdefault(number, []).append((wire, value))
    return fields


def one(fields, number, default):
    values = fields.get(number)
    if not values:
        return default
    return values[-1][1]


def b(fields, number):
    value = one(fields, number, b"")
    if not isinstance(value, bytes):
        raise Bad("expected bytes")
    return value


def n(fields, number):
    value = one(fields, number, 0)
    if not isinstance(value, int):
        raise Bad("expected an integer")
    return value


def signed64(value):
    return value - (1 << 64) if value >= 1 << 63 else value


def many(fields, number):
    return [value for _, value in fields.get(number, [])]


# --- the package -------------------------------------------------------------------------

class Package:
    def __init__(self, directory, org_key, log_key):
        self.dir = directory
        self.given_org_key = org_key
        self.given_log_key = log_key
        self.disclosed = self.exists("data-key.hex") or self.exists("testimony.pb")

    def path(self, name):
        return os.path.join(self.dir, name)

    def exists(self, name):
        return os.path.isfile(self.path(name))

    def read(self, name):
        try:
            with open(self.path(name), "rb") as f:
                return f.read()
        except OSError:
            raise Bad(name + " is missing")

    def hex(self, name, size):
        try:
            raw = bytes.fromhex(self.read(name).decode("ascii").strip())
        except (ValueError, UnicodeDecodeError):
            raise Bad(name + " is not hex")
        if len(raw) != size:
            raise Bad(name + " has the wrong length")
        return raw

    # Parsed parts; each raises Bad when missing or malformed.
    def envelope(self):
        e = decode(self.read("envelope.pb"))
        h = decode(b(e, 1))
        return e, h

    def certificate(self):
        c = decode(self.read("device-certificate.pb"))
        body = decode(b(c, 1))
        auth = decode(b(body, 4))
        auth_body = decode(b(auth, 1))
        return c, body, auth, auth_body

    def org_key(self):
        return self.hex("org-public-key.hex", 32)

    def receipt(self):
        r = decode(self.read("receipt.pb"))
        return r, decode(b(r, 1))

    def vkey(self):
        return self.read("log-key.vkey").decode("utf-8", "strict").rstrip()


def record_digest(e):
    out = b"temoin/record-digest/v1\x00"
    for number in (1, 2, 3):
        value = b(e, number)
        out += u64(len(value)) + value
    wrapped = many(e, 4)
    out += u64(len(wrapped))
    for raw in wrapped:
        w = decode(raw)
        key_id, sealed = b(w, 1), b(w, 3)
        out += u64(len(key_id)) + key_id + u32(n(w, 2)) + u64(len(sealed)) + sealed
    return blake2b256(out)


def padme(length):
    if length < 2:
        return length
    e = length.bit_length() - 1
    s = e.bit_length()
    mask = (1 << (e - s)) - 1
    return (length + mask) & ~mask


# --- checks (section 4) --------------------------------------------------------------------

def check_manifest(p):
    try:
        manifest = json.loads(p.read("manifest.json"))
    except ValueError:
        raise Bad("manifest.json is not JSON")
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT or \
            not isinstance(manifest.get("files"), list):
        raise Bad("manifest.json is not a %s manifest" % FORMAT)
    listed = set()
    for entry in manifest["files"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or \
                not isinstance(entry.get("sha256"), str):
            raise Bad("manifest.json has a malformed file entry")
        name = entry["name"]
        if not name or name.startswith("/") or ".." in name:
            raise Bad("manifest.json names a path outside the package: " + name)
        if sha256(p.read(name)).hex() != entry["sha256"]:
            raise Bad(name + " does not match its sha256 in manifest.json")
        listed.add(name)
    for root, _, names in os.walk(p.dir):
        for name in names:
            relative = os.path.relpath(os.path.join(root, name), p.dir)
            if relative != "manifest.json" and relative not in listed:
                raise Bad(relative + " is in the folder but not in manifest.json")
    return "%d files, each matches its sha256" % len(listed)


def check_org_key(p):
    key = p.org_key()
    if p.given_org_key is not None:
        if key != p.given_org_key:
            raise Bad("the package's organisation key is not the one given")
        return "organisation key %s is the one given" % key.hex()
    return "organisation key %s taken from the package: compare it with the published one" % key.hex()


def check_device_certificate(p):
    org = p.org_key()
    c, body, auth, auth_body = p.certificate()
    if not signed_ok(org, "temoin/invite-auth/v1", b(auth, 1), b(auth, 2)):
        raise Bad("the invite authorisation is not signed by the organisation key")
    invite_key, signing_key, box_key = b(auth_body, 5), b(body, 2), b(body, 3)
    if len(invite_key) != 32 or len(signing_key) != 32 or len(box_key) != 32:
        raise Bad("a key of the certificate has the wrong length")
    if b(body, 1) != hash256("temoin/device-id/v1", signing_key + box_key)[:16]:
        raise Bad("the device id is not the hash of its keys")
    if not signed_ok(invite_key, "temoin/device-cert/v1", b(c, 1), b(c, 2)) or \
            not signed_ok(signing_key, "temoin/device-cert/v1", b(c, 1), b(c, 3)):
        raise Bad("the certificate is not signed by its invite key and its device")
    if n(auth_body, 1) != 3:
        raise Bad("the certificate is not a monitor's")
    return "device %s enrolled as a monitor of project %r (%s), invite valid until unix %d" % (
        b(body, 1).hex(), b(auth_body, 2).decode("utf-8", "replace"), b(auth_body, 3).hex(),
        signed64(n(auth_body, 4)))


def check_structure(e, h):
    if n(h, 1) != 1:
        raise Bad("header format_version unsupported")
    for number in (2, 4, 5):
        if len(b(h, number)) != 16:
            raise Bad("an id of the header has the wrong length")
    recipients = [decode(raw) for raw in many(h, 6)]
    if not 1 <= len(recipients) <= 8:
        raise Bad("recipients count out of range")
    key_ids = [b(r, 1) for r in recipients]
    if any(len(k) != 16 for k in key_ids) or len(set(key_ids)) != len(key_ids):
        raise Bad("recipient key ids malformed")
    refs = [decode(raw) for raw in many(h, 8)]
    if len(refs) > 64 or any(len(b(r, 1)) != 16 or len(b(r, 3)) != 32 for r in refs):
        raise Bad("header attachments malformed")
    if n(h, 9) not in (0, 1):
        raise Bad("header body_dictionary unknown")
    padded = n(h, 7)
    if padded == 0 or padded > MAX_BODY or padme(padded) != padded:
        raise Bad("padded_body_length out of range")
    if len(b(e, 2)) != 24 or len(b(e, 3)) != padded + 16 or len(b(e, 5)) != 64:
        raise Bad("nonce, ciphertext or signature has the wrong length")
    wrapped = [decode(raw) for raw in many(e, 4)]
    if len(wrapped) != len(recipients):
        raise Bad("wrapped keys do not match recipients")
    for w, r in zip(wrapped, recipients):
        elided = b(w, 1) == b"" and n(w, 2) == 0
        if not elided and (b(w, 1) != b(r, 1) or n(w, 2) != n(r, 2)):
            raise Bad("a wrapped key names another recipient")
        if len(b(w, 3)) != 96:  # crypto_box_seal of data key || record id
            raise Bad("a wrapped key has the wrong length")


def check_record_signature(p):
    e, h = p.envelope()
    _, body, _, auth_body = p.certificate()
    check_structure(e, h)
    if not signed_ok(b(body, 2), "temoin/record/v1", record_digest(e), b(e, 5)):
        raise Bad("the device signature does not verify with the certified key")
    if b(h, 5) != b(body, 1) or b(h, 4) != b(auth_body, 3):
        raise Bad("the record names another device or project than the certificate")
    return "record %s (device_seq %d) was signed by that device" % (b(h, 2).hex(), n(h, 3))


def batch_root(leaf, index, count, path, depth):
    if count == 1:
        if depth != 0:
            raise Bad("receipt path too long")
        return leaf
    if depth == 0:
        raise Bad("receipt path too short")
    sibling = path[depth - 1]
    if len(sibling) != 32:
        raise Bad("receipt path hash has the wrong length")
    k = 1
    while k * 2 < count:
        k *= 2
    node = lambda left, right: hash256("temoin/batch-receipt/node/v1", left + right)
    if index < k:
        return node(batch_root(leaf, index, k, path, depth - 1), sibling)
    return node(sibling, batch_root(leaf, index - k, count - k, path, depth - 1))


def check_receipt(p):
    key = p.hex("server-receipt-key.hex", 32)
    r, rb = p.receipt()
    e, h = p.envelope()
    count, index, path = n(r, 4), n(r, 3), many(r, 5)
    if count == 0:
        ok = signed_ok(key, "temoin/receipt/v1", b(r, 1), b(r, 2))
    else:
        if index >= count or count > 1 << 20 or len(path) > 32:
            raise Bad("the receipt's position is out of range")
        leaf = hash256("temoin/batch-receipt/leaf/v1",
                       u32(n(rb, 1)) + u32(len(b(rb, 2))) + b(rb, 2) + u32(len(b(rb, 3))) +
                       b(rb, 3) + u64(n(rb, 4)) + u64(n(rb, 5)) + u32(len(b(rb, 6))) + b(rb, 6))
        root = batch_root(leaf, index, count, path, len(path))
        ok = signed_ok(key, "temoin/batch-receipt/v1", u32(count) + root, b(r, 2))
    if not ok:
        raise Bad("the server's receipt signature does not verify")
    if b(rb, 2) != b(h, 2) or b(rb, 3) != record_digest(e):
        raise Bad("the receipt names another record or digest")
    return "receipted as log index %d, received in the hour starting unix %d" % (
        n(rb, 4), signed64(n(rb, 5)))


def parse_vkey(vkey):
    parts = vkey.split("+", 2)
    if len(parts) != 3 or not parts[0] or " " in parts[0] or len(parts[1]) != 8 or \
            any(ord(c) < 0x20 for c in parts[0]):
        raise Bad("the log key is not a vkey")
    try:
        key = base64.b64decode(parts[2], validate=True)
    except ValueError:
        raise Bad("the log key is not base64")
    if len(key) != 33 or key[0] != 1:
        raise Bad("the log key is not an Ed25519 vkey")
    key_id = sha256(parts[0].encode() + b"\n" + key)[:4]
    if key_id.hex() != parts[1]:
        raise Bad("the log key's id does not match its name and key")
    return parts[0], key_id, key[1:]


def check_log_key(p):
    vkey = p.vkey()
    signature = p.hex("log-key-signature.hex", 64)
    receipt_key = p.hex("server-receipt-key.hex", 32)
    parse_vkey(vkey)
    if not signed_ok(receipt_key, "temoin/log-key/v1", vkey.encode(), signature):
        raise Bad("the log key is not signed by the server's receipt key")
    if p.given_log_key is not None and p.given_log_key != vkey:
        raise Bad("the package's log key is not the one given")
    return "log key %s is signed by the server's receipt key" % vkey


def split_note(note):
    at = note.rfind(b"\n\n")
    if at < 0:
        raise Bad("the checkpoint has no signature")
    return note[:at + 1], note[at + 2:]


def checkpoint_body(text):
    lines = text.split(b"\n")[:-1]
    if len(lines) < 3:
        raise Bad("the checkpoint has fewer than 3 lines")
    size_line = lines[1].decode("ascii", "replace")
    if not size_line.isdigit() or (len(size_line) > 1 and size_line[0] == "0"):
        raise Bad("the checkpoint size is not a decimal number")
    try:
        root = base64.b64decode(lines[2], validate=True)
    except ValueError:
        raise Bad("the checkpoint root is not base64")
    if len(root) != 32 or base64.b64encode(root) != lines[2]:
        raise Bad("the checkpoint root is not the base64 of 32 bytes")
    return lines, int(size_line), root


def check_checkpoint_signature(p):
    note = p.read("checkpoint.note")
    name, key_id, key = parse_vkey(p.given_log_key if p.given_log_key is not None else p.vkey())
    if len(note) > 16384 or not note.endswith(b"\n") or \
            any(c < 0x20 and c != 0x0A for c in note):
        raise Bad("the checkpoint note is malformed")
    text, signatures = split_note(note)
    verified = False
    for line in signatures.split(b"\n"):
        if not line:
            continue
        prefix = "\u2014 ".encode()
        if not line.startswith(prefix):
            raise Bad("a signature line is malformed")
        parts = line[len(prefix):].split(b" ")
        try:
            blob = base64.b64decode(parts[1], validate=True) if len(parts) == 2 else b""
        except ValueError:
            blob = b""
        if len(blob) < 4:
            raise Bad("a signature line is malformed")
        if parts[0] != name.encode() or blob[:4] != key_id:
            continue  # another key's line (a witness): not judged here
        if len(blob) != 68 or not ed25519_ok(key, text, blob[4:]):
            raise Bad("the checkpoint signature does not verify")
        verified = True
    if not verified:
        raise Bad("the checkpoint is not signed by the log key")
    lines, size, root = checkpoint_body(text)
    if lines[0] != name.encode():
        raise Bad("the checkpoint origin is not the log key's name")
    return "checkpoint of %d leaves, root %s, signed by the log key" % (
        size, base64.b64encode(root).decode())


# --- witness cosignatures (sections 4.15, 4.16) ---------------------------------------------

def parse_witness_vkey(vkey):
    parts = vkey.split("+", 2)
    if len(parts) != 3 or not parts[0] or " " in parts[0] or "+" in parts[0] or \
            len(parts[1]) != 8 or any(ord(c) < 0x21 for c in parts[0]):
        raise ValueError("not a vkey: " + vkey)
    key = base64.b64decode(parts[2], validate=True)
    if len(key) != 33 or key[0] != 4:
        raise ValueError("not a cosignature/v1 (type 0x04) vkey: " + vkey)
    key_id = sha256(parts[0].encode() + b"\n" + key)[:4]
    if key_id.hex() != parts[1]:
        raise ValueError("the key id does not match the name and key: " + vkey)
    return {"name": parts[0], "id": key_id, "key": key[1:]}


def witness_blobs(signatures, witness):
    """The decoded blobs of the lines of `witness` (4.15); other lines are not its."""
    blobs = []
    prefix = "\u2014 ".encode() + witness["name"].encode() + b" "
    for line in signatures.split(b"\n"):
        if not line.startswith(prefix):
            continue
        encoded = line[len(prefix):]
        if b" " in encoded:
            continue
        try:
            blob = base64.b64decode(encoded, validate=True)
        except ValueError:
            continue
        if len(blob) >= 4 and blob[:4] == witness["id"]:
            blobs.append(blob)
    return blobs


def cosignature_time(text, blob, witness):
    if len(blob) != 4 + 8 + 64:
        raise Bad("a cosignature line of %s has the wrong length" % witness["name"])
    timestamp = struct.unpack(">Q", blob[4:12])[0]
    if not 0 < timestamp < (1 << 63):
        raise Bad("a cosignature of %s has an impossible time" % witness["name"])
    message = b"cosignature/v1\ntime " + str(timestamp).encode() + b"\n" + text
    if not ed25519_ok(witness["key"], message, blob[12:]):
        raise Bad("a cosignature line of %s does not verify over this checkpoint" %
                  witness["name"])
    return timestamp


def check_cosignature(text, blobs, witness):
    times = [cosignature_time(text, blob, witness) for blob in blobs]
    when = datetime.datetime.fromtimestamp(times[0], datetime.timezone.utc)
    return "cosigned by %s at %s" % (witness["name"], when.strftime("%Y-%m-%dT%H:%M:%SZ"))


def check_witness_quorum(note_ok, cosigned, witnesses, minimum):
    if not note_ok:
        raise Bad("checkpoint.note is missing or not a signed note")
    missing = [w["name"] for w in witnesses if w["name"] not in cosigned]
    summary = "%d of the %d witnesses given cosigned (%d required)%s" % (
        len(cosigned), len(witnesses), minimum,
        "; no valid cosignature from " + ", ".join(missing) if missing else "")
    if len(cosigned) < minimum:
        raise Bad("only " + summary)
    return summary


def expected_leaf(p):
    e, h = p.envelope()
    _, rb = p.receipt()
    record_id, digest, device_id = b(h, 2), record_digest(e), b(h, 5)
    return (b"temoin-log-leaf/v1\x00" + u64(n(rb, 4)) + u16(len(record_id)) + record_id +
            u16(len(digest)) + digest + u16(len(device_id)) + device_id + u64(n(h, 3)) +
            i64(signed64(n(rb, 5))))


def check_log_leaf(p):
    if p.read("log-leaf.bin") != expected_leaf(p):
        raise Bad("log-leaf.bin does not encode this record and its receipt")
    _, rb = p.receipt()
    return "leaf %d encodes this record" % (n(rb, 4) - 1)


def verify_inclusion(leaf_hash, index, size, path, root):
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf_hash
    for node in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = sha256(b"\x01" + node + r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = sha256(b"\x01" + r + node)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def check_inclusion_proof(p):
    path = []
    for line in p.read("inclusion-proof.hex").decode("ascii", "replace").split("\n"):
        if not line.strip():
            continue
        try:
            node = bytes.fromhex(line.strip())
        except ValueError:
            raise Bad("inclusion-proof.hex is not hex")
        if len(node) != 32:
            raise Bad("inclusion-proof.hex has a hash of the wrong length")
        path.append(node)
    leaf = p.read("log-leaf.bin")
    _, rb = p.receipt()
    text, _ = split_note(p.read("checkpoint.note"))
    _, size, root = checkpoint_body(text)
    if n(rb, 4) == 0:
        raise Bad("the receipt names no log index")
    index = n(rb, 4) - 1
    if not verify_inclusion(sha256(b"\x00" + leaf), index, size, path, root):
        raise Bad("the proof does not show leaf %d in the checkpoint's tree of %d leaves" % (
            index, size))
    return "leaf %d is in the checkpoint's tree of %d leaves" % (index, size)


# Testimony schema (section 6.4): number -> (name, kind, sub-schema or enum names).
ACT = {1: ("type", "string"), 2: ("count", "uint32")}
INCIDENT = {1: ("date", "string"), 2: ("end_date", "string"), 3: ("region", "string"),
            4: ("locality", "string"), 5: ("latitude", "double"), 6: ("longitude", "double"),
            7: ("precision_m", "uint32")}
VICTIM = {1: ("name", "string"), 2: ("sex", "string"), 3: ("age", "uint32"),
          4: ("age_group", "string"), 5: ("community", "string")}
COUNTS = {i + 1: (name, "uint32") for i, name in
          enumerate(["total", "women", "men", "girls", "boys", "unknown"])}
SOURCE = {1: ("type", "string"), 2: ("anonymous", "bool")}
CONSENT = {1: ("informed", "bool"), 2: ("share_with_courts", "bool"),
           3: ("publish_anonymised", "bool")}
ATTACHMENT = {1: ("blob_id", "bytes"), 2: ("file_name", "string"), 3: ("media_type", "string"),
              4: ("size", "uint64"), 5: ("key", "bytes")}
SENSITIVITY = ["SENSITIVITY_UNSPECIFIED", "SENSITIVITY_NORMAL", "SENSITIVITY_RESTRICTED"]
TESTIMONY = {1: ("narrative", "string"), 2: ("language", "string"),
             3: ("incident", "message", INCIDENT), 4: ("acts", "repeated", ACT),
             5: ("victims", "repeated", VICTIM), 6: ("victim_counts", "message", COUNTS),
             7: ("perpetrators", "repeated_string"), 8: ("source", "message", SOURCE),
             9: ("consent", "message", CONSENT), 10: ("sensitivity", "enum", SENSITIVITY),
             11: ("amends", "string"), 12: ("attachments", "repeated", ATTACHMENT)}
DEFAULTS = ("", b"", 0, 0.0, False, [])


def scalar_from_wire(kind, raw):
    if kind == "string":
        return raw.decode("utf-8", "strict")
    if kind == "bytes":
        return raw
    if kind == "double":
        return struct.unpack("<d", raw)[0]
    if kind == "bool":
        return bool(raw)
    if kind == "uint32":
        return raw & 0xFFFFFFFF
    return raw  # uint64, enum


def from_wire(data, schema):
    """A message as {name: value}, default values left out (as proto3 does)."""
    fields = decode(data)
    out = {}
    for number, spec in schema.items():
        name, kind = spec[0], spec[1]
        values = many(fields, number)
        if kind == "message":
            if values:
                out[name] = from_wire(b"".join(values), spec[2])
        elif kind == "repeated":
            out[name] = [from_wire(v, spec[2]) for v in values]
        elif kind == "repeated_string":
            out[name] = [v.decode("utf-8", "strict") for v in values]
        elif values:
            out[name] = scalar_from_wire(kind, values[-1])
    unknown = set(fields) - set(schema)
    if unknown:
        raise Bad("testimony.pb has unknown fields")
    return {k: v for k, v in out.items() if v not in DEFAULTS or isinstance(v, dict)}


def camel(name):
    head, *rest = name.split("_")
    return head + "".join(word.capitalize() for word in rest)


def scalar_from_json(kind, value, spec):
    if kind == "string" and isinstance(value, str):
        return value
    if kind == "bytes" and isinstance(value, str):
        try:
            return base64.b64decode(value.replace("-", "+").replace("_", "/") +
                                    "=" * (-len(value) % 4), validate=True)
        except ValueError:
            raise Bad("testimony.json has bad base64")
    if kind == "bool" and isinstance(value, bool):
        return value
    if kind == "double" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if kind == "double" and value in ("NaN", "Infinity", "-Infinity"):
        return float(value.replace("Infinity", "inf"))
    if kind in ("uint32", "uint64") and not isinstance(value, bool):
        if isinstance(value, str) and value.isdigit():
            value = int(value)
        if isinstance(value, int) and value >= 0:
            return value
    if kind == "enum":
        if isinstance(value, str) and value in spec:
            return spec.index(value)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    raise Bad("testimony.json has a value of the wrong type")


def from_json(value, schema):
    if not isinstance(value, dict):
        raise Bad("testimony.json is not an object")
    names = {}
    for spec in schema.values():
        names[spec[0]] = spec
        names[camel(spec[0])] = spec
    out = {}
    for key, item in value.items():
        if key not in names:
            raise Bad("testimony.json has an unknown field")
        spec = names[key]
        name, kind = spec[0], spec[1]
        if item is None:
            continue
        if kind == "message":
            out[name] = from_json(item, spec[2])
        elif kind == "repeated":
            if not isinstance(item, list):
                raise Bad("testimony.json has a value of the wrong type")
            out[name] = [from_json(v, spec[2]) for v in item]
        elif kind == "repeated_string":
            if not isinstance(item, list) or not all(isinstance(v, str) for v in item):
                raise Bad("testimony.json has a value of the wrong type")
            out[name] = list(item)
        else:
            out[name] = scalar_from_json(kind, item, spec[2] if len(spec) > 2 else None)
    return {k: v for k, v in out.items() if v not in DEFAULTS or isinstance(v, dict)}


def unpad(padded):
    end = len(padded) - 1
    while end >= 0 and padded[end] == 0:
        end -= 1
    if end < 0 or padded[end] != 0x80 or padme(end + 1) != len(padded):
        raise Bad("the body's padding is invalid")
    return padded[:end]


def decompress(frame, dictionary):
    if not frame.startswith(ZSTD_MAGIC):
        frame = ZSTD_MAGIC + frame
    command = ["zstd", "-d", "-q", "-c", "--no-progress"]
    dict_path = None
    if dictionary is not None:
        dict_path = dictionary
        command += ["-D", dict_path]
    try:
        result = subprocess.run(command, input=frame, capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        raise Bad("the zstd command is not available to decompress the body")
    if result.returncode != 0 or len(result.stdout) > MAX_BODY:
        raise Bad("the body does not decompress")
    return result.stdout


def check_testimony(p):
    key = p.hex("data-key.hex", 32)
    sealed = p.read("testimony.pb")
    text = p.read("testimony.json")
    e, h = p.envelope()
    dictionary = None
    if n(h, 9) == 1:
        if sha256(p.read("body-dictionary-v1.zdict")).hex() != DICTIONARY_V1_SHA256:
            raise Bad("body-dictionary-v1.zdict is not Temoin's dictionary 1")
        dictionary = p.path("body-dictionary-v1.zdict")
    elif n(h, 9) != 0:
        raise Bad("the header names an unknown dictionary")
    try:
        padded = sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
            b(e, 3), hash256("temoin/record-ad/v1", b(e, 1)), b(e, 2), key)
    except nacl.exceptions.CryptoError:
        raise Bad("the disclosed data key does not open the sealed body")
    if len(padded) != n(h, 7):
        raise Bad("the body has the wrong length")
    if decompress(unpad(padded), dictionary) != sealed:
        raise Bad("testimony.pb is not byte for byte the testimony sealed in the body")
    try:
        rendered = from_json(json.loads(text), TESTIMONY)
    except (ValueError, RecursionError):
        raise Bad("testimony.json is not JSON")
    if rendered != from_wire(sealed, TESTIMONY):
        raise Bad("testimony.json does not say what testimony.pb says")
    return "the disclosed testimony (%d bytes) is byte for byte what was sealed" % len(sealed)


def check_attachment(p, ref):
    blob_id, size, expected = b(ref, 1), n(ref, 2), b(ref, 3)
    blob = blob_id.hex()
    ciphertext = p.read("attachments/%s.enc" % blob)
    if len(ciphertext) != size or blake2b256(ciphertext) != expected:
        raise Bad("its ciphertext is not the one the device signed in the header")
    if not p.disclosed:
        return "%s, sha256 %s, matches the signed header" % (blob, sha256(ciphertext).hex())
    info = None
    try:
        for a in from_wire(p.read("testimony.pb"), TESTIMONY).get("attachments", []):
            if a.get("blob_id", b"") == blob_id:
                info = a
    except (Bad, UnicodeDecodeError):
        info = None
    try:
        key = p.hex("attachments/%s.key.hex" % blob, 32)
    except Bad:
        key = None
    if info is None or key is None or key != info.get("key", b""):
        raise Bad("its disclosed key is missing or not the one in the testimony")
    try:
        if len(ciphertext) < 24:
            raise Bad("stream too short")
        state = sodium.crypto_secretstream_xchacha20poly1305_state()
        sodium.crypto_secretstream_xchacha20poly1305_init_pull(state, ciphertext[:24], key)
        at, index, plain, final = 24, 0, 0, False
        while at < len(ciphertext) and not final:
            chunk = ciphertext[at:at + 65536 + 17]
            at += len(chunk)
            message, tag = sodium.crypto_secretstream_xchacha20poly1305_pull(
                state, chunk, blob_id + u64(index))
            index += 1
            plain += len(message)
            final = tag == sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL
        if not final or at != len(ciphertext) or plain != info.get("size", 0):
            raise Bad("stream truncated")
    except (Bad, nacl.exceptions.CryptoError, ValueError):
        raise Bad("its disclosed key does not open it whole")
    return "%r (%s), sha256 %s, matches and opens whole" % (
        info.get("file_name", ""), blob, sha256(ciphertext).hex())


# --- server-key statement (section 9) -------------------------------------------------------

def decimal(text):
    if not text.isdigit() or not text.isascii() or len(text) > 18 or \
            (len(text) > 1 and text[0] == "0"):
        raise Bad("the server-key statement has a malformed number")
    return int(text)


def server_keys(p):
    """The statement's body, once its organisation signature checks: (issued, receipt, log),
    each list of (key, from, until or None)."""
    body = p.read("server-keys.txt")
    signature = p.hex("server-keys-signature.hex", 64)
    if not signed_ok(p.org_key(), "temoin/server-keys/v1", body, signature):
        raise Bad("the server-key statement is not signed by the organisation key")
    try:
        text = body.decode("ascii")
    except UnicodeDecodeError:
        raise Bad("the server-key statement is not ASCII")
    if not text.endswith("\n"):
        raise Bad("the server-key statement does not end in a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 4 or lines[0] != "temoin-server-keys/v1" or not lines[1].startswith("issued "):
        raise Bad("the server-key statement has no header")
    issued = decimal(lines[1][len("issued "):])
    receipt, log = [], []
    for line in lines[2:]:
        fields = line.split(" ")
        if len(fields) != 4 or fields[0] not in ("receipt", "log"):
            raise Bad("the server-key statement has a malformed line")
        start = decimal(fields[2])
        until = None if fields[3] == "-" else decimal(fields[3])
        if until is not None and until < start:
            raise Bad("a certified key ends before it begins")
        if fields[0] == "receipt":
            if log or len(fields[1]) != 64 or fields[1] != fields[1].lower():
                raise Bad("the server-key statement has a malformed receipt key")
            key = bytes.fromhex(fields[1])
            if any(k == key for k, _, _ in receipt):
                raise Bad("a receipt key is listed twice")
            receipt.append((key, start, until))
        else:
            parse_vkey(fields[1])
            if any(k == fields[1] for k, _, _ in log):
                raise Bad("a log key is listed twice")
            log.append((fields[1], start, until))
    if not receipt or not log:
        raise Bad("the server-key statement lists no receipt key or no log key")
    return issued, receipt, log


def window(start, until):
    return "valid from unix %d %s" % (
        start, "on (current)" if until is None else "until unix %d (retired)" % until)


def check_server_keys(p):
    issued, receipt, log = server_keys(p)
    return "the organisation key certified %d receipt key(s) and %d log key(s), at unix %d" % (
        len(receipt), len(log), issued)


def check_receipt_key_certified(p):
    _, receipt, _ = server_keys(p)
    key = p.hex("server-receipt-key.hex", 32)
    _, rb = p.receipt()
    hour = signed64(n(rb, 5))
    for k, start, until in receipt:
        if k == key:
            if hour + 3600 <= start or (until is not None and hour >= until):
                raise Bad("the receipt's hour is outside the receipt key's certified validity")
            return "receipt key %s is certified by the organisation, %s" % (
                key.hex(), window(start, until))
    raise Bad("the receipt key is not in the organisation's server-key statement")


def check_log_key_certified(p):
    _, _, log = server_keys(p)
    vkey = p.vkey()
    for k, start, until in log:
        if k == vkey:
            return "log key %s is certified by the organisation, %s" % (vkey, window(start, until))
    raise Bad("the log key is not in the organisation's server-key statement")


def run_checks(p):
    checks = []

    def run(name, fn, *args):
        try:
            checks.append({"name": name, "ok": True, "detail": fn(*args)})
        except (Bad, UnicodeDecodeError, ValueError, KeyError, IndexError) as bad:
            checks.append({"name": name, "ok": False, "detail": str(bad)})

    run("manifest", check_manifest, p)
    run("org-key", check_org_key, p)
    run("device-certificate", check_device_certificate, p)
    run("record-signature", check_record_signature, p)
    run("receipt", check_receipt, p)
    run("log-key", check_log_key, p)
    run("checkpoint-signature", check_checkpoint_signature, p)
    run("log-leaf", check_log_leaf, p)
    run("inclusion-proof", check_inclusion_proof, p)
    run("server-keys", check_server_keys, p)
    run("receipt-key-certified", check_receipt_key_certified, p)
    run("log-key-certified", check_log_key_certified, p)
    if p.witnesses:
        try:
            note = p.read("checkpoint.note")
            text, signatures = split_note(note)
            note_ok = note.endswith(b"\n")
        except Bad:
            text, signatures, note_ok = b"", b"", False
        cosigned = []
        for witness in p.witnesses:
            blobs = witness_blobs(signatures, witness) if note_ok else []
            if not blobs:
                continue
            before = len(checks)
            run("cosignature " + witness["name"], check_cosignature, text, blobs, witness)
            if checks[before]["ok"]:
                cosigned.append(witness["name"])
        run("witness-quorum", check_witness_quorum, note_ok, cosigned, p.witnesses,
            p.min_witnesses)
    if p.disclosed:
        run("testimony", check_testimony, p)
    try:
        _, h = p.envelope()
        refs = [decode(raw) for raw in many(h, 8)]
    except Bad:
        refs = []
    for ref in refs:
        run("attachment " + b(ref, 1).hex(), check_attachment, p, ref)
    return checks


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir")
    parser.add_argument("--org-key")
    parser.add_argument("--log-key")
    parser.add_argument("--witness", action="append", default=[])
    parser.add_argument("--min-witnesses", type=int)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not os.path.isdir(args.dir):
        print("verify_evidence: not a directory: " + args.dir, file=sys.stderr)
        return 2
    try:
        org_key = bytes.fromhex(args.org_key) if args.org_key else None
    except ValueError:
        org_key = None
    if args.org_key and (org_key is None or len(org_key) != 32):
        print("verify_evidence: --org-key must be 32 bytes in hex", file=sys.stderr)
        return 2
    try:
        witnesses = [parse_witness_vkey(vkey) for vkey in args.witness]
    except ValueError as bad:
        print("verify_evidence: --witness: %s" % bad, file=sys.stderr)
        return 2
    if len({w["name"] for w in witnesses}) != len(witnesses):
        print("verify_evidence: two --witness keys have one name", file=sys.stderr)
        return 2
    minimum = len(witnesses) if args.min_witnesses is None else args.min_witnesses
    if minimum < 0 or minimum > len(witnesses):
        print("verify_evidence: --min-witnesses must be between 0 and the number of "
              "--witness keys", file=sys.stderr)
        return 2
    p = Package(args.dir, org_key, args.log_key)
    p.witnesses = witnesses
    p.min_witnesses = minimum
    checks = run_checks(p)
    failed = [c["name"] for c in checks if not c["ok"]]
    if args.json:
        print(json.dumps({"disclosed": p.disclosed, "verified": not failed, "checks": checks,
                          "failed": failed}, indent=2))
    else:
        for c in checks:
            print("%s %s: %s" % ("PASS" if c["ok"] else "FAIL", c["name"], c["detail"]))
        print("VERIFIED: every check passed" if not failed else
              "NOT VERIFIED: %d failed: %s" % (len(failed), ", ".join(failed)))
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
