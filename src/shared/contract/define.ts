import { z } from 'zod'

/**
 * One entry of the contract: the zod schema that every transport checks the input against,
 * and (as a phantom type) what the call resolves to. Transports are generic over the table
 * of these, so adding a method is one line in a contract file and one implementation in the
 * backend.
 */
export interface MethodSpec<I extends z.ZodType, O> {
  readonly input: I
  /** 'query' returns data; 'command' changes something (starts a job, mounts, writes settings). */
  readonly kind: 'query' | 'command'
  readonly __out?: O
}

export function query<O>() {
  return <I extends z.ZodType>(input: I): MethodSpec<I, O> => ({ input, kind: 'query' })
}
export function command<O>() {
  return <I extends z.ZodType>(input: I): MethodSpec<I, O> => ({ input, kind: 'command' })
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyMethodSpec = MethodSpec<z.ZodType, any>
export type InputOf<S> = S extends MethodSpec<infer I, unknown> ? z.input<I> : never
export type ParsedInputOf<S> = S extends MethodSpec<infer I, unknown> ? z.output<I> : never
export type OutputOf<S> = S extends MethodSpec<z.ZodType, infer O> ? O : never

/** A path or a name fragment as users type it; bounded so no message can carry megabytes. */
export function pathString(what = 'path') {
  return z
    .string({ error: `${what} must be a string` })
    .min(1, `${what} must not be empty`)
    .max(4096, `${what} is longer than 4096 characters`)
    .refine((s) => !s.includes('\0'), `${what} contains a NUL byte`)
}

/** MODEL|PATH arguments: model ids, unique name fragments or file paths. */
export const targetList = z
  .array(pathString('target'))
  .max(1000, 'at most 1000 targets at once')

export const noInput = z.object({}).strict().optional()
