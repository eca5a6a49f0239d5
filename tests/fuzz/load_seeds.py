#!/usr/bin/python3
"""load_seeds.py DIR: writes the fuzz_load seeds into DIR (tests/fuzz/corpus/load). Each seed is
one byte that picks the call (even: docker load, odd: docker import) and the chunking, then
the body: docker-archive and OCI-layout load tarballs (plain and gzip), rootfs tarballs for
import (plain and gzip, with links and whiteouts), and hostile archives (a fifo, a device, a
hardlink out of the archive). Tarballs end right after their end marker, to stay small."""
import gzip
import hashlib
import io
import json
import os
import sys
import tarfile


TYPES = (tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.CHRTYPE, tarfile.BLKTYPE,
         tarfile.FIFOTYPE)


def tar(entries):
    """entries: (name, bytes) for files, or (name, TarInfo-type, extra) for the rest."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as t:
        for e in entries:
            ti = tarfile.TarInfo(e[0])
            ti.mtime = 1700000000
            if e[1] not in TYPES:
                ti.size = len(e[1])
                t.addfile(ti, io.BytesIO(e[1]))
                continue
            ti.type = e[1]
            if ti.type in (tarfile.SYMTYPE, tarfile.LNKTYPE):
                ti.linkname = e[2]
            elif ti.type in (tarfile.CHRTYPE, tarfile.BLKTYPE):
                ti.devmajor, ti.devminor = e[2]
            elif ti.type == tarfile.DIRTYPE:
                ti.mode = 0o755
            t.addfile(ti)
    data = out.getvalue().rstrip(b"\0")
    data += b"\0" * (-len(data) % 512)
    return data + b"\0" * 1024


def sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def gz(b):
    return gzip.compress(b, mtime=0)


ROOTFS = tar([("etc", tarfile.DIRTYPE), ("etc/hello", b"hello\n"),
              ("bin", tarfile.DIRTYPE), ("bin/sh", tarfile.SYMTYPE, "busybox"),
              ("bin/busybox", b"#!fake\n"), ("bin/ash", tarfile.LNKTYPE, "bin/busybox"),
              ("etc/.wh.gone", b""), ("var/.wh..wh..opq", b""),
              ("dev", tarfile.DIRTYPE), ("dev/null", tarfile.CHRTYPE, (1, 3))])
LAYER = tar([("etc", tarfile.DIRTYPE), ("etc/hello", b"hello\n")])


def config(diff_ids):
    return json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["sh"]},
                       "rootfs": {"type": "layers", "diff_ids": diff_ids},
                       "history": [{"created_by": "seed"}]}).encode()


def docker_archive(tags=("local/seed:v1",), layer=LAYER, layer_entry=None):
    cfg = config([sha(layer)])
    man = json.dumps([{"Config": "config.json", "RepoTags": list(tags),
                       "Layers": ["abc/layer.tar"]}]).encode()
    layer_entry = layer_entry or ("abc/layer.tar", layer)
    return tar([("manifest.json", man), ("config.json", cfg), ("abc", tarfile.DIRTYPE),
                layer_entry])


def oci_layout():
    layer = gz(LAYER)
    cfg = config([sha(LAYER)])
    man = json.dumps({"schemaVersion": 2,
                      "mediaType": "application/vnd.oci.image.manifest.v1+json",
                      "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                 "digest": sha(cfg), "size": len(cfg)},
                      "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                                  "digest": sha(layer), "size": len(layer)}]}).encode()
    index = json.dumps({"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": sha(man),
         "size": len(man),
         "annotations": {"io.containerd.image.name": "docker.io/local/oci:v1"}}]}).encode()
    blob = lambda b: ("blobs/sha256/" + sha(b)[7:], b)
    return tar([("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'), ("index.json", index),
                ("blobs", tarfile.DIRTYPE), ("blobs/sha256", tarfile.DIRTYPE),
                blob(man), blob(cfg), blob(layer)])


SEEDS = {
    "load-docker-archive": b"\x00" + docker_archive(),
    "load-docker-archive-gzip": b"\x02" + gz(docker_archive()),
    "load-oci-layout": b"\x04" + oci_layout(),
    "load-two-tags-no-tag": b"\x06" + docker_archive(("local/a:1", "local/b")),
    "load-fifo-layer": b"\x08" + docker_archive(layer_entry=("abc/layer.tar", tarfile.FIFOTYPE)),
    "load-device-layer": b"\x0a" + docker_archive(
        layer_entry=("abc/layer.tar", tarfile.CHRTYPE, (1, 5))),
    "load-link-out": b"\x0c" + docker_archive(
        layer_entry=("abc/layer.tar", tarfile.SYMTYPE, "/etc/passwd")),
    "import-rootfs": b"\x01" + ROOTFS,
    "import-rootfs-gzip": b"\x03" + gz(ROOTFS),
    "import-empty": b"\x05" + tar([]),
}

os.makedirs(sys.argv[1], exist_ok=True)
for name, data in SEEDS.items():
    with open(os.path.join(sys.argv[1], name), "wb") as f:
        f.write(data)
