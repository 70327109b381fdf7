// Errors cross every transport as plain { code, message, detail? } objects with a stable code.

export const errorCodes = [
  'BAD_INPUT', // the request itself is malformed: names the field and the fix
  'NOT_FOUND', // a model id, path or job that does not exist
  'AMBIGUOUS', // a name fragment that matches several models
  'PERMISSION', // the OS refused (EACCES/EPERM)
  'IO', // a read failed (EIO, a vanished file, a dropped share)
  'UNSUPPORTED', // the kernel or machine lacks what the action needs
  'WOULD_EVICT', // warming would push other warm models out; confirm with force
  'TOO_LARGE', // the action does not fit (RAM, tmpfs, RLIMIT_MEMLOCK)
  'BUSY', // a process holds the file
  'UNAVAILABLE', // privileged helper or GPU not available
  'CANCELLED',
  'UNAUTHORIZED',
  'INTERNAL',
] as const
export type ErrorCode = (typeof errorCodes)[number]

export interface HearthErrorShape {
  code: ErrorCode
  message: string
  detail?: unknown
}

export class HearthError extends Error {
  readonly code: ErrorCode
  readonly detail?: unknown
  constructor(code: ErrorCode, message: string, detail?: unknown) {
    super(message)
    this.name = 'HearthError'
    this.code = code
    this.detail = detail
  }
  toJSON(): HearthErrorShape {
    return this.detail === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, detail: this.detail }
  }
}

export function isErrorShape(v: unknown): v is HearthErrorShape {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as HearthErrorShape).code === 'string' &&
    typeof (v as HearthErrorShape).message === 'string'
  )
}

/** Turns anything thrown into the wire shape; unknown errors become INTERNAL. */
export function toErrorShape(err: unknown): HearthErrorShape {
  if (err instanceof HearthError) return err.toJSON()
  if (isErrorShape(err) && (errorCodes as readonly string[]).includes(err.code)) return err
  const message = err instanceof Error ? err.message : String(err)
  return { code: 'INTERNAL', message }
}

export function fromErrorShape(shape: HearthErrorShape): HearthError {
  return new HearthError(shape.code, shape.message, shape.detail)
}
