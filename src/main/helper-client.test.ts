import { describe, expect, it } from 'vitest'
import { decodeValue, encodeValue, privilegeStatus } from './helper-client'

describe('helper client', () => {
  it('percent-encodes values so the helper sees one printable token', () => {
    const v = '/home/ü ser/a%b=c.gguf'
    const e = encodeValue(v)
    expect(e).toMatch(/^[\x21-\x7e]+$/)
    expect(e).not.toContain('=')
    expect(decodeValue(e)).toBe(v)
  })

  it('says why privileged actions are unavailable without pkexec', () => {
    const s = privilegeStatus({ PATH: '/nonexistent' }, 1000)
    expect(s.available).toBe(false)
    expect(s.reason).toMatch(/pkexec|not installed/)
  })

  it('runs the helper directly when already root', () => {
    const s = privilegeStatus({ PATH: '/usr/bin' }, 0)
    if (s.helperPath) expect(s).toMatchObject({ available: true, mode: 'root' })
    else expect(s.reason).toMatch(/make -C src\/helper|install/)
  })
})
