// getsockopt(SO_PEERCRED) on a connected UNIX socket: the uid the kernel recorded for the process
// at the other end when it connected. The daemon's socket is 0600 in a 0700 directory already;
// this is the second lock on the door (a file descriptor passed to another user still carries
// the connecting process's credentials).
import type { Socket } from 'node:net'
import { libc, errno, errnoName } from './libc'

const SOL_SOCKET = 1
const SO_PEERCRED = 17 // x86_64, aarch64 and every other asm-generic arch Linux runs Hearth on

export interface PeerCred {
  pid: number
  uid: number
  gid: number
}

let getsockopt: ((fd: number, level: number, name: number, out: Uint8Array, len: Uint32Array) => number) | null = null

export function peerCredOfFd(fd: number): PeerCred {
  getsockopt ??= libc().func('int getsockopt(int fd, int level, int optname, _Inout_ uint8_t *optval, _Inout_ uint32_t *optlen)')
  const out = new Uint8Array(12) // struct ucred { pid_t pid; uid_t uid; gid_t gid; }
  const len = new Uint32Array([12])
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, out, len) !== 0) throw new Error(`getsockopt(SO_PEERCRED): ${errnoName(errno())}`)
  const v = new DataView(out.buffer)
  return { pid: v.getInt32(0, true), uid: v.getUint32(4, true), gid: v.getUint32(8, true) }
}

/** The peer of a socket net.Server accepted; null when Node does not expose its descriptor. */
export function peerCredOf(socket: Socket): PeerCred | null {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd
  return typeof fd === 'number' && fd >= 0 ? peerCredOfFd(fd) : null
}
