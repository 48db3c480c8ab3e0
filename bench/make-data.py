#!/usr/bin/env python3
"""Builds the benchmark data set from ../shared/corpus: the corpus replicated
to a target size per format, without changing a byte of any event.

  evtx/  big EVTX files made of the corpus's EVTX chunks (a chunk is
         self-contained, so chunks from several files form a valid log)
  json/  the Mordor JSON members, extracted and repeated
  zip/   the Mordor archives as they are, repeated

Usage: make-data.py CORPUS OUT [MB-per-format]
"""
import os, sys, tarfile, zipfile, io, shutil

corpus, out = sys.argv[1], sys.argv[2]
target = int(sys.argv[3] if len(sys.argv) > 3 else "1024") * 1024 * 1024
HEADER, CHUNK = 4096, 65536

def files(ext):
    for root, _, names in sorted(os.walk(corpus)):
        for n in sorted(names):
            if n.endswith(ext):
                yield os.path.join(root, n)

def evtx():
    os.makedirs(f"{out}/evtx", exist_ok=True)
    header, chunks = None, []
    for path in files(".evtx"):
        data = open(path, "rb").read()
        header = header or data[:HEADER]
        for i in range((len(data) - HEADER) // CHUNK):
            c = data[HEADER + i * CHUNK: HEADER + (i + 1) * CHUNK]
            if c.startswith(b"ElfChnk\0"):
                chunks.append(c)
    per_file = 256 * 1024 * 1024
    written, n = 0, 0
    while written < target:
        with open(f"{out}/evtx/big-{n}.evtx", "wb") as f:
            f.write(header)
            size = HEADER
            while size < per_file and written + size < target + per_file:
                for c in chunks:
                    f.write(c)
                    size += CHUNK
                    if size >= per_file:
                        break
        written += size
        n += 1

def json_members():
    for path in files(".zip"):
        with zipfile.ZipFile(path) as z:
            for m in z.namelist():
                if m.endswith(".json") and not os.path.basename(m).startswith("._"):
                    yield z.read(m)
    for path in files(".tar.gz"):
        with tarfile.open(path, "r:gz") as t:
            try:
                for m in t:
                    if m.isfile() and m.name.endswith(".json"):
                        yield t.extractfile(m).read()
            except (tarfile.ReadError, EOFError):
                pass

def json():
    os.makedirs(f"{out}/json", exist_ok=True)
    members = list(json_members())
    written, n = 0, 0
    while written < target:
        for m in members:
            open(f"{out}/json/{n:05}.json", "wb").write(m)
            written += len(m)
            n += 1
            if written >= target:
                break

def zips():
    os.makedirs(f"{out}/zip", exist_ok=True)
    archives = list(files(".zip"))
    written, n = 0, 0
    while written < target:
        for a in archives:
            shutil.copyfile(a, f"{out}/zip/{n:05}.zip")
            written += os.path.getsize(a)
            n += 1
            if written >= target:
                break

for part in (sys.argv[4].split(",") if len(sys.argv) > 4 else ["evtx", "json", "zip"]):
    globals()[{"zip": "zips"}.get(part, part)]()
