#!/usr/bin/python3
"""tools/mkimage.py — builds OCI image layouts for berth's tests, offline and deterministically:
the same spec gives the same bytes and digests. Debian's python3 stdlib plus the zstd CLI.

Usage
  mkimage.py OUT --spec SPEC.json     # SPEC '-' reads stdin
  mkimage.py OUT [flags]              # one image (or one per --platforms entry) from flags

OUT becomes an OCI image layout (oci-layout, index.json, blobs/sha256/…) that
`skopeo copy [--all] oci:OUT docker://HOST/REPO:TAG` pushes. A JSON summary goes to stdout:
  {"digest": top manifest or index digest, "mediaType", "size",
   "manifests": [{"platform": "linux/amd64", "digest", "config",
                  "layers": [{"digest", "diff_id", "size", "mediaType"}]}]}

Flags (layers keep their order on the command line; --compression applies to later layers):
  --layer-dir DIR          a layer from a directory tree (sorted; mtimes set to 0)
  --layer-files JSON|@F    a generated layer: a JSON list of entries (below)
  --busybox                a layer with the host's static busybox and applet symlinks in /bin
  --hostile KIND[:COUNT]   a hostile layer (kinds below; COUNT for "many")
  --compression gzip|zstd|none
  --cmd, --entrypoint      JSON array, or a string run with /bin/sh -c
  --env K=V  --label K=V  --expose 80[/tcp]  (repeatable)  --workdir DIR  --user U
  --created RFC3339        image and history time (default 2024-01-01T00:00:00Z)
  --platform OS/ARCH[/VARIANT]   (default linux/amd64)
  --platforms P1,P2,…      an index with one image per platform (label berth.test.platform)
  --format oci|docker      media types (docker: schema2 manifest / manifest list)
  --ref NAME               org.opencontainers.image.ref.name in index.json
  --seed N                 seed for generated contents (default 0)

Spec (JSON): one image, or {"images": [image, …]} for an index (2+ platforms), with optional
top-level "format", "ref", "created", "seed", "mtime", "annotations" (index). An image:
  {"platform": "linux/arm64/v8" | {"os", "architecture", "variant"},
   "config": {"Cmd", "Entrypoint", "Env", "WorkingDir", "User", "Labels", "ExposedPorts",
              "Volumes", "StopSignal", …any other container-config key},
   "history": [{"created_by", "empty_layer", "comment", "created"}, …]  (default: one per layer),
   "created": …, "annotations": {…} (manifest),
   "layers": [layer, …]}
A layer is one of
  {"dir": PATH, "owner": "0:0"?, "xattrs": false?}
  {"files": [entry, …], "parents": true?}     missing parent dirs are added unless false
  {"busybox": "/usr/bin/busybox"?, "applets": ["sh", …]?}
  {"hostile": KIND, "count": N?}
plus "compression": "gzip" (default) | "zstd" | "none", "created_by": "…" (its history line),
and "mtime" (default 0). An entry of "files":
  {"path": "etc/hello", "type": "file" (default) | "dir" | "symlink" | "hardlink" | "char" |
   "block" | "fifo" | "whiteout" (writes DIR/.wh.NAME) | "opaque" (writes PATH/.wh..wh..opq),
   "content": "text" | "content_b64": "…" | "from": HOSTFILE |
   "size": N with "seed": S (random bytes) or "fill": "zero" | "x" (repeated byte) |
       "text" (pseudo-text from a fixed 10 MB pool, at an offset S picks; gzip ~3:1),
   "mode": 420 | "0644", "uid", "gid", "uname", "gname", "mtime",
   "target": link target (symlink, hardlink), "major", "minor" (devices),
   "xattrs": {"user.a": "text", "security.capability": {"hex": "01000002…"} | {"b64": "…"}}}
Entry paths are written exactly as given (no cleaning), which is what hostile layers need.

Hostile kinds (each one trick, so a test can check each defence alone):
  dotdot ../../escape             absolute /etc/evil               dotdot-inner a/../../escape
  symlink-abs-parent evil→/etc, then evil/evil
  symlink-rel-parent up→../../.., then up/escape
  symlink-then-file  x→/etc/evil-target, then a regular file x written over it
  hardlink-rel-out   hl ⇒ ../../etc/passwd          hardlink-abs-out hl ⇒ /etc/passwd
  hardlink-via-symlink s→/etc, then hl ⇒ s/passwd
  whiteout-dotdot .wh...          whiteout-parent ../.wh.escape
  whiteout-via-symlink s→/tmp, then s/.wh.victim
  many  COUNT (default 100000) empty files in 100 directories

Examples
  mkimage.py /tmp/img --busybox --layer-files '[{"path":"etc/msg","content":"hi\\n"}]' \\
      --cmd '["cat","/etc/msg"]'
  mkimage.py /tmp/multi --busybox --platforms linux/amd64,linux/arm64/v8
  mkimage.py /tmp/evil --hostile dotdot --compression zstd --hostile many:1000
"""

import argparse
import base64
import gzip
import hashlib
import json
import os
import random
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile

DEFAULT_CREATED = "2024-01-01T00:00:00Z"
DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
CHUNK = 1 << 20

MEDIA = {
    "oci": {
        "manifest": "application/vnd.oci.image.manifest.v1+json",
        "index": "application/vnd.oci.image.index.v1+json",
        "config": "application/vnd.oci.image.config.v1+json",
        "none": "application/vnd.oci.image.layer.v1.tar",
        "gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
        "zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
    },
    "docker": {
        "manifest": "application/vnd.docker.distribution.manifest.v2+json",
        "index": "application/vnd.docker.distribution.manifest.list.v2+json",
        "config": "application/vnd.docker.container.image.v1+json",
        "none": "application/vnd.docker.image.rootfs.diff.tar",
        "gzip": "application/vnd.docker.image.rootfs.diff.tar.gzip",
    },
}

BUSYBOX_APPLETS = ["sh", "ash", "cat", "echo", "ls", "sleep", "true", "false", "env", "id",
                   "pwd", "mkdir", "rm", "touch", "cp", "mv", "ln", "chmod", "stat", "head",
                   "tail", "wc", "grep", "sed", "printf", "test", "[", "kill", "ps", "hostname",
                   "uname", "whoami", "date", "dd", "mount", "readlink", "find", "top", "yes",
                   "nc", "wget", "ip", "ping", "sync", "tee", "df", "du", "seq", "sort", "xargs"]


class Fail(Exception):
    """A spec error: reported as one line, exit status 2."""


# ---------------------------------------------------------------- blobs and hashing


class HashingWriter:
    """Counts and hashes what passes through to an underlying file."""

    def __init__(self, f):
        self.f, self.h, self.size = f, hashlib.sha256(), 0

    def write(self, b):
        self.h.update(b)
        self.size += len(b)
        return self.f.write(b)

    def flush(self):
        self.f.flush()

    def digest(self):
        return "sha256:" + self.h.hexdigest()


class Layout:
    """An OCI layout directory: blobs are written to a temp file and renamed to their digest."""

    def __init__(self, out):
        self.out = out
        self.blobs = os.path.join(out, "blobs", "sha256")
        os.makedirs(self.blobs, exist_ok=True)

    def temp(self):
        return tempfile.NamedTemporaryFile(dir=self.blobs, prefix=".tmp-", delete=False)

    def commit(self, tmp_path, digest):
        os.chmod(tmp_path, 0o644)  # NamedTemporaryFile makes 0600
        os.replace(tmp_path, os.path.join(self.blobs, digest.split(":", 1)[1]))

    def put_json(self, obj):
        data = json.dumps(obj, separators=(",", ":")).encode()
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        with open(os.path.join(self.blobs, digest[7:]), "wb") as f:
            f.write(data)
        return digest, len(data)


# ---------------------------------------------------------------- tar entries


def parse_mode(v, default):
    if v is None:
        return default
    return int(v, 8) if isinstance(v, str) else int(v)


def xattr_value(v):
    """Spec xattr value → the str tarfile writes as a PAX SCHILY.xattr record (bytes kept)."""
    if isinstance(v, dict):
        raw = bytes.fromhex(v["hex"]) if "hex" in v else base64.b64decode(v["b64"])
    else:
        raw = str(v).encode()
    return raw.decode("utf-8", "surrogateescape")


_TEXT_POOL = []


def text_pool():
    """~10 MB of word salad (Zipf-weighted vocabulary), built once: it compresses like source
    code or text (gzip -6 ~3.2:1) and decompresses at a realistic speed, unlike zeros."""
    if not _TEXT_POOL:
        r = random.Random("mkimage-text")
        letters = "etaoinshrdlcumwfgypbvkjxqz"
        freq = [12, 9, 8, 7.5, 7, 6.7, 6.3, 6, 6, 4.3, 4, 2.8, 2.8, 2.4, 2.2, 2, 2, 1.9, 1.5, 1,
                0.8, 0.15, 0.15, 0.1, 0.1, 0.07]
        vocab = ["".join(r.choices(letters, freq, k=r.randint(2, 11))) for _ in range(1000)]
        words = r.choices(vocab, [1 / (i + 1) for i in range(1000)], k=1500000)
        seps = r.choices([" "] * 20 + [", ", ". ", "\n", "; ", "(", ") ", "= ", "_", "/"],
                         k=1500000)
        _TEXT_POOL.append("".join(w + x for w, x in zip(words, seps)).encode())
    return _TEXT_POOL[0]


class PatternReader:
    """A file-like source of `size` deterministic bytes: seeded random, a repeated byte, or
    pseudo-text read from the text pool at a seeded offset (wrapping)."""

    def __init__(self, size, seed=None, fill=None):
        self.left = size
        self.rng = random.Random(seed) if fill in (None, "text") else None
        self.pool = text_pool() if fill == "text" else None
        if self.pool:
            self.pos = self.rng.randrange(len(self.pool))
        self.fill = b"\0" if fill == "zero" else (fill.encode()[:1] if fill else None)
        if self.pool:
            self.fill = None

    def read(self, n=-1):
        n = self.left if n is None or n < 0 else min(n, self.left)
        self.left -= n
        if self.pool:
            return self.pool_read(n)
        if self.rng:
            return self.rng.randbytes(n)
        return self.fill * n

    def pool_read(self, n):
        parts = []
        while n > 0:
            take = min(n, len(self.pool) - self.pos)
            parts.append(self.pool[self.pos:self.pos + take])
            self.pos = (self.pos + take) % len(self.pool)
            n -= take
        return b"".join(parts)


def entry_content(e, seed):
    """(size, reader) for a regular file entry."""
    if "content" in e:
        data = e["content"].encode()
    elif "content_b64" in e:
        data = base64.b64decode(e["content_b64"])
    elif "from" in e:
        size = os.path.getsize(e["from"])
        return size, open(e["from"], "rb")
    elif "size" in e:
        s = e.get("seed", f"{seed}:{e['path']}")
        return int(e["size"]), PatternReader(int(e["size"]), seed=s, fill=e.get("fill"))
    else:
        data = b""
    return len(data), BytesReader(data)


class BytesReader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def read(self, n=-1):
        n = len(self.data) - self.pos if n is None or n < 0 else n
        b = self.data[self.pos:self.pos + n]
        self.pos += len(b)
        return b


TYPES = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE,
         "hardlink": tarfile.LNKTYPE, "char": tarfile.CHRTYPE, "block": tarfile.BLKTYPE,
         "fifo": tarfile.FIFOTYPE}


def whiteout_name(e):
    path = e["path"].rstrip("/")
    if e.get("type") == "opaque":
        return path + "/.wh..wh..opq"
    head, _, tail = path.rpartition("/")
    return (head + "/" if head else "") + ".wh." + tail


def make_tarinfo(e, mtime):
    kind = e.get("type", "file")
    if kind in ("whiteout", "opaque"):
        e = dict(e, path=whiteout_name(e), type="file")
        kind = "file"
    if kind not in TYPES:
        raise Fail(f"entry {e.get('path')!r}: unknown type {kind!r}")
    ti = tarfile.TarInfo(e["path"])
    ti.type = TYPES[kind]
    ti.mode = parse_mode(e.get("mode"), 0o755 if kind == "dir" else 0o644)
    ti.uid, ti.gid = int(e.get("uid", 0)), int(e.get("gid", 0))
    ti.uname, ti.gname = e.get("uname", ""), e.get("gname", "")
    ti.mtime = int(e.get("mtime", mtime))
    ti.linkname = e.get("target", "")
    ti.devmajor, ti.devminor = int(e.get("major", 0)), int(e.get("minor", 0))
    if e.get("xattrs"):
        ti.pax_headers = {"SCHILY.xattr." + k: xattr_value(v) for k, v in e["xattrs"].items()}
    return ti


def add_parents(entries):
    """Insert a 0755 dir entry before the first entry under each parent not listed itself."""
    seen, out = set(), []
    listed = {e["path"].rstrip("/") for e in entries if e.get("type") == "dir"}
    for e in entries:
        written = whiteout_name(e) if e.get("type") in ("whiteout", "opaque") else e["path"]
        parts = written.strip("/").split("/")[:-1]
        for i in range(1, len(parts) + 1):
            d = "/".join(parts[:i])
            if d not in seen and d not in listed and d not in (".", ".."):
                out.append({"path": d, "type": "dir"})
            seen.add(d)
        seen.add(e["path"].rstrip("/"))
        out.append(e)
    return out


def write_entries(tar, entries, mtime, seed):
    for e in entries:
        ti = make_tarinfo(e, mtime)
        if ti.type == tarfile.REGTYPE:
            size, reader = entry_content(e, seed)
            ti.size = size
            tar.addfile(ti, reader)
            if hasattr(reader, "close"):
                reader.close()
        else:
            tar.addfile(ti)


# ---------------------------------------------------------------- layer sources


def dir_entries(root, layer):
    """Entries for a directory tree: parents first, siblings sorted, hardlinks pointing at the
    first path in that order, owners kept unless "owner" overrides them, mtimes the layer's."""
    owner = layer.get("owner")
    uid, gid = (int(x) for x in owner.split(":")) if owner else (None, None)
    paths = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        paths += [n if rel_dir == "." else rel_dir + "/" + n for n in dirnames + filenames]
    paths.sort(key=lambda p: p.split("/"))
    entries, inodes = [], {}
    for rel in paths:
        e = stat_entry(os.path.join(root, rel), rel, inodes, layer.get("xattrs", False))
        if e is None:
            continue
        if owner:
            e["uid"], e["gid"] = uid, gid
        entries.append(e)
    return entries


def stat_entry(full, rel, inodes, with_xattrs):
    st = os.lstat(full)
    e = {"path": rel, "mode": stat.S_IMODE(st.st_mode), "uid": st.st_uid, "gid": st.st_gid}
    m = st.st_mode
    if stat.S_ISDIR(m):
        e["type"] = "dir"
    elif stat.S_ISLNK(m):
        e["type"], e["target"] = "symlink", os.readlink(full)
    elif stat.S_ISREG(m):
        key = (st.st_dev, st.st_ino)
        if st.st_nlink > 1 and key in inodes:
            e["type"], e["target"] = "hardlink", inodes[key]
        else:
            inodes[key] = rel
            e["from"] = full
    elif stat.S_ISCHR(m) or stat.S_ISBLK(m):
        e["type"] = "char" if stat.S_ISCHR(m) else "block"
        e["major"], e["minor"] = os.major(st.st_rdev), os.minor(st.st_rdev)
    elif stat.S_ISFIFO(m):
        e["type"] = "fifo"
    else:
        return None  # sockets cannot live in a tar
    if with_xattrs:
        names = sorted(os.listxattr(full, follow_symlinks=False))
        if names:
            e["xattrs"] = {n: {"hex": os.getxattr(full, n, follow_symlinks=False).hex()}
                           for n in names}
    return e


def elf_is_static(path):
    """True for an ELF executable without PT_INTERP: it runs in an image with no libc."""
    with open(path, "rb") as f:
        h = f.read(64)
        if h[:4] != b"\x7fELF" or h[4] != 2:  # 64-bit only, which is all the tests build
            return False
        phoff = int.from_bytes(h[32:40], "little")
        phentsize, phnum = int.from_bytes(h[54:56], "little"), int.from_bytes(h[56:58], "little")
        f.seek(phoff)
        table = f.read(phentsize * phnum)
    return all(int.from_bytes(table[i:i + 4], "little") != 3  # PT_INTERP
               for i in range(0, len(table), phentsize))


def busybox_entries(layer):
    path = layer.get("busybox") or shutil.which("busybox") or "/bin/busybox"
    if not os.path.exists(path):
        raise Fail(f"busybox layer: {path} not found (install busybox-static)")
    if not elf_is_static(path):
        raise Fail(f"busybox layer: {path} is not a static binary (install busybox-static)")
    entries = [{"path": "bin", "type": "dir"},
               {"path": "bin/busybox", "from": path, "mode": 0o755}]
    for applet in layer.get("applets", BUSYBOX_APPLETS):
        entries.append({"path": "bin/" + applet, "type": "symlink", "target": "busybox"})
    for d, mode in (("etc", 0o755), ("tmp", 0o1777)):
        entries.append({"path": d, "type": "dir", "mode": mode})
    entries.append({"path": "etc/passwd", "content": "root:x:0:0:root:/root:/bin/sh\n"
                    "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"})
    entries.append({"path": "etc/group", "content": "root:x:0:\nnogroup:x:65534:\n"})
    return entries


def hostile_entries(kind, count):
    f = lambda p, c="pwned\n": {"path": p, "content": c}  # noqa: E731
    sym = lambda p, t: {"path": p, "type": "symlink", "target": t}  # noqa: E731
    hard = lambda p, t: {"path": p, "type": "hardlink", "target": t}  # noqa: E731
    kinds = {
        "dotdot": [f("../../escape")],
        "absolute": [f("/etc/evil")],
        "dotdot-inner": [{"path": "a", "type": "dir"}, f("a/../../escape")],
        "symlink-abs-parent": [sym("evil", "/etc"), f("evil/evil")],
        "symlink-rel-parent": [sym("up", "../../.."), f("up/escape")],
        "symlink-then-file": [sym("x", "/etc/evil-target"), f("x")],
        "hardlink-rel-out": [hard("hl", "../../etc/passwd")],
        "hardlink-abs-out": [hard("hl", "/etc/passwd")],
        "hardlink-via-symlink": [sym("s", "/etc"), hard("hl", "s/passwd")],
        "whiteout-dotdot": [f(".wh...", "")],
        "whiteout-parent": [f("../.wh.escape", "")],
        "whiteout-via-symlink": [sym("s", "/tmp"), f("s/.wh.victim", "")],
    }
    if kind == "many":
        n = count or 100000
        dirs = [{"path": f"d{i:02d}", "type": "dir"} for i in range(min(100, n))]
        return dirs + [{"path": f"d{i % 100:02d}/f{i:06d}"} for i in range(n)]
    if kind not in kinds:
        raise Fail(f"unknown hostile kind {kind!r} (known: many, {', '.join(sorted(kinds))})")
    return kinds[kind]


def layer_entries(layer, seed):
    if "dir" in layer:
        if not os.path.isdir(layer["dir"]):
            raise Fail(f"layer dir {layer['dir']!r} is not a directory")
        return dir_entries(layer["dir"], layer)
    if "files" in layer:
        files = layer["files"]
        return add_parents(files) if layer.get("parents", True) else files
    if "busybox" in layer:
        return busybox_entries(layer)
    if "hostile" in layer:
        return hostile_entries(layer["hostile"], layer.get("count"))
    raise Fail(f"layer needs one of dir, files, busybox, hostile: {json.dumps(layer)[:80]}")


# ---------------------------------------------------------------- layers


def compress(src_path, dst, how):
    """Compress the tar at src_path into the HashingWriter dst, deterministically."""
    with open(src_path, "rb") as src:
        if how == "none":
            shutil.copyfileobj(src, dst, CHUNK)
        elif how == "gzip":
            # mtime=0 and no file name: the gzip header carries nothing that varies.
            with gzip.GzipFile(filename="", mode="wb", fileobj=dst, mtime=0,
                               compresslevel=6) as gz:
                shutil.copyfileobj(src, gz, CHUNK)
        elif how == "zstd":
            p = subprocess.Popen(["zstd", "-q", "-c", "-3", "-T1", "--no-progress"],
                                 stdin=src, stdout=subprocess.PIPE)
            shutil.copyfileobj(p.stdout, dst, CHUNK)
            if p.wait() != 0:
                raise Fail("zstd failed")
        else:
            raise Fail(f"unknown compression {how!r} (gzip, zstd, none)")


def build_layer(lay, layer, ctx):
    """Write one layer blob (once per distinct spec); returns its descriptor plus diff_id."""
    key = json.dumps(layer, sort_keys=True)
    if key not in ctx["built"]:
        ctx["built"][key] = write_layer(lay, layer, ctx)
    return ctx["built"][key]


def write_layer(lay, layer, ctx):
    how = layer.get("compression", "gzip")
    media = MEDIA[ctx["format"]].get(how)
    if media is None:
        raise Fail(f"{how} layers have no {ctx['format']} media type")
    entries = layer_entries(layer, ctx["seed"])
    raw, out = lay.temp(), lay.temp()
    try:
        with raw:
            hw = HashingWriter(raw)
            # Stream mode needs no seek. PAX keeps long names, big ids and xattrs.
            with tarfile.open(fileobj=hw, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                write_entries(tar, entries, int(layer.get("mtime", ctx["mtime"])), ctx["seed"])
            diff_id = hw.digest()
        with out:
            cw = HashingWriter(out)
            compress(raw.name, cw, how)
        lay.commit(out.name, cw.digest())
    finally:
        for f in (raw, out):
            if os.path.exists(f.name):
                os.unlink(f.name)
    return {"mediaType": media, "digest": cw.digest(), "size": cw.size, "diff_id": diff_id}


# ---------------------------------------------------------------- images


def parse_platform(p):
    if isinstance(p, dict):
        return {k: p[k] for k in ("architecture", "os", "variant", "os.version") if p.get(k)}
    parts = (p or "linux/amd64").split("/")
    if len(parts) not in (2, 3):
        raise Fail(f"platform {p!r} is not OS/ARCH[/VARIANT]")
    out = {"architecture": parts[1], "os": parts[0]}
    if len(parts) == 3:
        out["variant"] = parts[2]
    return out


def platform_str(p):
    return "/".join(x for x in (p["os"], p["architecture"], p.get("variant")) if x)


def image_config(img, layers, platform, created):
    cfg = dict(img.get("config", {}))
    if "Env" not in cfg:
        cfg["Env"] = [DEFAULT_PATH]
    history = img.get("history")
    if history is None:
        history = [{"created": created,
                    "created_by": l.get("created_by", f"mkimage: layer {i}")}
                   for i, l in enumerate(img["layers"])]
    history = [dict({"created": created}, **h) for h in history]
    doc = {"architecture": platform["architecture"], "os": platform["os"]}
    for k in ("variant", "os.version"):
        if platform.get(k):
            doc[k] = platform[k]
    doc.update({"created": created, "config": cfg,
                "rootfs": {"type": "layers", "diff_ids": [l["diff_id"] for l in layers]},
                "history": history})
    return doc


def build_image(lay, img, ctx):
    media = MEDIA[ctx["format"]]
    created = img.get("created", ctx["created"])
    platform = parse_platform(img.get("platform"))
    layers = [build_layer(lay, l, ctx) for l in img.get("layers", [])]
    cfg_digest, cfg_size = lay.put_json(image_config(img, layers, platform, created))
    manifest = {"schemaVersion": 2, "mediaType": media["manifest"],
                "config": {"mediaType": media["config"], "digest": cfg_digest,
                           "size": cfg_size},
                "layers": [{k: l[k] for k in ("mediaType", "digest", "size")} for l in layers]}
    if img.get("annotations"):
        manifest["annotations"] = img["annotations"]
    digest, size = lay.put_json(manifest)
    return {"mediaType": media["manifest"], "digest": digest, "size": size,
            "platform": platform, "config": cfg_digest, "layers": layers}


def write_layout(out, spec):
    ctx = {"format": spec.get("format", "oci"), "created": spec.get("created", DEFAULT_CREATED),
           "seed": spec.get("seed", 0), "mtime": spec.get("mtime", 0), "built": {}}
    if ctx["format"] not in MEDIA:
        raise Fail(f"format {ctx['format']!r} is not oci or docker")
    lay = Layout(out)
    images = spec["images"] if "images" in spec else [spec]
    built = [build_image(lay, img, ctx) for img in images]
    if "images" in spec:
        index = {"schemaVersion": 2, "mediaType": MEDIA[ctx["format"]]["index"],
                 "manifests": [{"mediaType": b["mediaType"], "digest": b["digest"],
                                "size": b["size"], "platform": b["platform"]} for b in built]}
        if spec.get("annotations"):
            index["annotations"] = spec["annotations"]
        digest, size = lay.put_json(index)
        top = {"mediaType": index["mediaType"], "digest": digest, "size": size}
    else:
        top = {k: built[0][k] for k in ("mediaType", "digest", "size")}
    entry = dict(top)
    if spec.get("ref"):
        entry["annotations"] = {"org.opencontainers.image.ref.name": spec["ref"]}
    with open(os.path.join(out, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    with open(os.path.join(out, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [entry]}, f, separators=(",", ":"))
    return summary(top, built)


def summary(top, built):
    return dict(top, manifests=[
        {"platform": platform_str(b["platform"]), "digest": b["digest"], "size": b["size"],
         "config": b["config"],
         "layers": [{k: l[k] for k in ("digest", "diff_id", "size", "mediaType")}
                    for l in b["layers"]]} for b in built])


# ---------------------------------------------------------------- command line


class LayerAction(argparse.Action):
    """Appends a layer spec, taking the --compression in force at this point of argv."""

    def __call__(self, parser, ns, value, option=None):
        how = getattr(ns, "compression", None) or "gzip"
        if option == "--layer-dir":
            layer = {"dir": value}
        elif option == "--layer-files":
            text = open(value[1:]).read() if value.startswith("@") else value
            layer = {"files": json.loads(text)}
        elif option == "--busybox":
            layer = {"busybox": None}
        else:
            kind, _, count = value.partition(":")
            layer = {"hostile": kind, "count": int(count) if count else None}
        layer["compression"] = how
        ns.layers = (ns.layers or []) + [layer]


def command(v):
    if v is None:
        return None
    return json.loads(v) if v.lstrip().startswith("[") else ["/bin/sh", "-c", v]


def pairs(items):
    return dict(i.split("=", 1) for i in items or [])


def spec_from_flags(a):
    cfg = {}
    if a.cmd is not None:
        cfg["Cmd"] = command(a.cmd)
    if a.entrypoint is not None:
        cfg["Entrypoint"] = command(a.entrypoint)
    if a.env:
        cfg["Env"] = [DEFAULT_PATH] + a.env
    for key, val in (("WorkingDir", a.workdir), ("User", a.user)):
        if val is not None:
            cfg[key] = val
    if a.label:
        cfg["Labels"] = pairs(a.label)
    if a.expose:
        cfg["ExposedPorts"] = {(p if "/" in p else p + "/tcp"): {} for p in a.expose}
    image = {"config": cfg, "layers": a.layers or []}
    spec = {"format": a.format, "ref": a.ref, "created": a.created, "seed": a.seed}
    if not a.platforms:
        return dict(spec, platform=a.platform, **image)
    images = []
    for p in a.platforms.split(","):
        c = dict(cfg, Labels=dict(cfg.get("Labels", {}), **{"berth.test.platform": p}))
        images.append(dict(image, platform=p, config=c))
    return dict(spec, images=images)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--spec")
    ap.add_argument("--compression", choices=["gzip", "zstd", "none"])
    for opt in ("--layer-dir", "--layer-files", "--hostile"):
        ap.add_argument(opt, dest="layers", action=LayerAction)
    ap.add_argument("--busybox", dest="layers", action=LayerAction, nargs=0)
    for opt in ("--cmd", "--entrypoint", "--workdir", "--user", "--ref", "--platforms"):
        ap.add_argument(opt)
    for opt in ("--env", "--label", "--expose"):
        ap.add_argument(opt, action="append")
    ap.add_argument("--created", default=DEFAULT_CREATED)
    ap.add_argument("--platform", default="linux/amd64")
    ap.add_argument("--format", default="oci", choices=["oci", "docker"])
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    if a.spec:
        spec = json.load(sys.stdin if a.spec == "-" else open(a.spec))
    else:
        spec = spec_from_flags(a)
    try:
        print(json.dumps(write_layout(a.out, spec), indent=1))
    except Fail as e:
        print(f"mkimage: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
