import { parseArgs } from 'node:util'
import type { CliCommand } from './command'
import { UsageError } from './command'

export const serveCommand: CliCommand = {
  name: 'serve',
  summary: 'run Hearth headless and serve its UI to a browser',
  usage: 'hearth serve [--port N] [--host ADDRESS]',
  async run(argv, io) {
    const { values } = parseArgs({ args: argv, options: { port: { type: 'string' }, host: { type: 'string' } } })
    const port = values.port === undefined ? 7475 : Number(values.port)
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port ${values.port}: give a port number from 0 to 65535 (0 picks a free one)`)
    const host = values.host ?? '127.0.0.1'
    const { isLoopback, startServe } = await import('../serve')
    await (await import('../sudo')).dropSudoRoot(process.env, (l) => io.err(l)) // under sudo: act as the user, not root
    const backend = await io.backend()
    await backend.start()
    const server = await startServe({ api: backend, port, host, log: (l) => io.err(l) }).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') throw new UsageError(`port ${port} on ${host} is in use; pick another with --port N, or --port 0 for any free one`)
      throw err
    })
    if (!isLoopback(host)) io.err(`warning: listening on ${host}, reachable from other machines; anyone with the token controls Hearth`)
    io.out(`Hearth is serving at ${server.url}`)
    io.err('Open that address in a browser (the token in it is your key). Ctrl-C stops.')
    await io.interrupted
    await server.close()
    await backend.stop()
    return 0
  },
}
