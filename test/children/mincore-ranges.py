#!/usr/bin/env python3
# An independent referee for per-range residency: maps the file read-only, asks mincore(2) for
# every page (libc through ctypes, no Hearth code), and prints, for each [start, length) range
# read as JSON from stdin, the resident bytes (partial first/last pages count their overlap) and
# the resident pages the range spans.
# With --runs it also prints the resident pages as runs [first page, count].
#   usage: mincore-ranges.py FILE [--runs] < '[[start, length], ...]'
import ctypes, ctypes.util, json, os, sys

libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p]
libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]

path = sys.argv[1]
ranges = json.load(sys.stdin)
page = os.sysconf("SC_PAGE_SIZE")
fd = os.open(path, os.O_RDONLY)
size = os.fstat(fd).st_size
pages = (size + page - 1) // page
addr = libc.mmap(None, size, 1, 1, fd, 0)  # PROT_READ, MAP_SHARED
if addr in (None, ctypes.c_void_p(-1).value):
    sys.exit("mmap failed: errno %d" % ctypes.get_errno())
vec = ctypes.create_string_buffer(pages)
if libc.mincore(addr, size, vec) != 0:
    sys.exit("mincore failed: errno %d" % ctypes.get_errno())
resident = bytes(vec.raw)
libc.munmap(addr, size)
os.close(fd)

out = []
for start, length in ranges:
    rb = 0
    rp = 0
    first = start // page
    last = (start + length - 1) // page
    for p in range(first, last + 1):
        if resident[p] & 1:
            rp += 1
            rb += min(start + length, (p + 1) * page) - max(start, p * page)
    out.append({"residentBytes": rb, "residentPages": rp, "pages": last - first + 1})
result = {"pages": pages, "residentPages": sum(b & 1 for b in resident), "ranges": out}
if "--runs" in sys.argv[2:]:
    runs = []
    for p in range(pages):
        if resident[p] & 1:
            if runs and runs[-1][0] + runs[-1][1] == p:
                runs[-1][1] += 1
            else:
                runs.append([p, 1])
    result["runs"] = runs
print(json.dumps(result))
