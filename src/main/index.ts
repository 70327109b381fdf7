// Desktop entry (Electron main process). `hearth …` from the installed package reaches here too:
// its launcher (assets/linux/hearth) runs this binary with --cli and Chromium's headless platform,
// because release builds turn the RunAsNode fuse off. Elsewhere the CLI is src/main/cli.ts on Node.
// For the same reason the load lab's built-in loader starts this binary with --lab-loader there
// (services/lab/loaders/builtin.ts): it runs the loader program, nothing of the app.
const cliAt = process.argv.indexOf('--cli')
if (cliAt !== -1) {
  void import('./cli').then(async ({ main }) => process.exit(await main(process.argv.slice(cliAt + 1))))
} else if (process.argv.includes('--lab-loader')) {
  void import('./services/lab/builtin-loader')
} else {
  void import('./electron/app')
}
