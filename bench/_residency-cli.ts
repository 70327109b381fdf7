// Stand-in for `hearth status --json FILE...` while the built CLI is missing: the same service
// call and output shape, started the way a CLI run starts (a fresh node with tsx).
import { createHub } from '../src/main/hub'
import { createResidencyService } from '../src/main/services/pagecache'

const catalog = { current: () => ({ models: [], skipped: [], roots: [], scannedAtMs: 0, scanMs: 0 }) }
const service = createResidencyService({ hub: createHub(), catalog })
const files = await service.ofFiles(process.argv.slice(2).map((path) => ({ path, bytes: 0 })))
process.stdout.write(JSON.stringify(files.map((f) => ({ path: f.path, bytes: f.bytes, residentBytes: f.residentBytes }))) + '\n')
