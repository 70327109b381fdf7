import { HearthError } from '../../../shared/api'

/** A Node fs error as a HearthError naming the file and what to do. */
export function describeFsError(err: unknown, path: string, doing: string): HearthError {
  if (err instanceof HearthError) return err
  const e = err as NodeJS.ErrnoException
  switch (e.code) {
    case 'ENOENT':
      return new HearthError('NOT_FOUND', `${path}: no such file (${doing}); rescan the models or check the path`)
    case 'EACCES':
    case 'EPERM':
      return new HearthError('PERMISSION', `${path}: permission denied (${doing}); you need read access to the file (ls -l ${path})`)
    case 'EISDIR':
      return new HearthError('BAD_INPUT', `${path} is a folder; name a model file or a model`)
    case 'EIO':
      return new HearthError('IO', `${path}: I/O error (${doing}); the disk may be failing or the network share dropped (see dmesg)`)
    default:
      return new HearthError('IO', `${path}: ${e.code ?? ''} ${e.message} (${doing})`.trim())
  }
}
