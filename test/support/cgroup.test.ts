// Which cgroup hierarchy the test helpers pick, on recorded mount tables (the v2-only one is the
// systemd layout of current desktops: one cgroup2 mount at /sys/fs/cgroup listing its controllers
// in cgroup.controllers). The helpers themselves run in warm.test.ts and lock.test.ts, which print
// the version they used.
import { describe, expect, it } from 'vitest'
import { findHierarchy } from './cgroup'

// This project's machines: controllers bound to v1, and an empty unified hierarchy beside them.
const hybrid = `30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
37 30 0:34 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`
// A v2-only desktop (Ubuntu 22.04+, Fedora 31+, Debian 11+).
const unified = `34 28 0:29 / /run/lock rw,nosuid,nodev,noexec,relatime shared:6 - tmpfs tmpfs rw,size=5120k,inode64
35 24 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
36 24 0:31 / /sys/fs/pstore rw,nosuid,nodev,noexec,relatime shared:10 - pstore pstore rw
`
const files = (m: Record<string, string>) => (p: string) => m[p] ?? null

describe('cgroup hierarchy for the test helpers', () => {
  it('v2-only machine: v2 for io and memory when cgroup.controllers lists them', () => {
    const read = files({ '/sys/fs/cgroup/cgroup.controllers': 'cpuset cpu io memory hugetlb pids rdma misc\n' })
    expect(findHierarchy('io', unified, read)).toEqual({ version: 'v2', mount: '/sys/fs/cgroup' })
    expect(findHierarchy('memory', unified, read)).toEqual({ version: 'v2', mount: '/sys/fs/cgroup' })
  })

  it('v2-only machine without the io controller: says so instead of guessing', () => {
    const read = files({ '/sys/fs/cgroup/cgroup.controllers': 'cpuset cpu memory pids\n' })
    const r = findHierarchy('io', unified, read)
    expect(r).toEqual({ reason: 'cgroup v2 at /sys/fs/cgroup has no io controller (it lists: cpuset cpu memory pids); no cgroup v1 blkio hierarchy is mounted' })
  })

  it('hybrid machine: the empty unified hierarchy is passed over for v1 blkio and memory', () => {
    const read = files({ '/sys/fs/cgroup/unified/cgroup.controllers': '\n' })
    expect(findHierarchy('io', hybrid, read)).toEqual({ version: 'v1', mount: '/sys/fs/cgroup/blkio' })
    expect(findHierarchy('memory', hybrid, read)).toEqual({ version: 'v1', mount: '/sys/fs/cgroup/memory' })
  })

})
