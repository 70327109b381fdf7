// Desktop entry (Electron main process). The CLI and `hearth serve` start from src/main/cli.ts.
import './electron/app'
