// Desktop entry (Electron main process). `hearth …` from the installed package reaches here too:
// its launcher (assets/linux/hearth) runs this binary with --cli and Chromium's headless platform,
// because release builds turn the RunAsNode fuse off. Elsewhere the CLI is src/main/cli.ts on Node.
const cliAt = process.argv.indexOf('--cli')
if (cliAt !== -1) {
  void import('./cli').then(async ({ main }) => process.exit(await main(process.argv.slice(cliAt + 1))))
} else {
  void import('./electron/app')
}
