// Stands in for llama-server over HTTP, as the load lab talks to it (tools/server in llama.cpp):
// /health answers 503 {"error":{"code":503,"message":"Loading model"}} while "loading" (LOAD_MS),
// then 200 {"status":"ok"}; POST /completion with stream:true sends one `data: {...}` event per
// token and a last one with "stop": true and "timings" (predicted_n, predicted_per_second).
//   node --import tsx fake-llama-server.ts -m MODEL --host 127.0.0.1 --port PORT …
import { createServer } from 'node:http'
import { readFileSync } from 'node:fs'

const arg = (flag: string) => process.argv[process.argv.indexOf(flag) + 1]
const loadMs = Number(process.env.FAKE_LOAD_MS ?? 300)
// Reads the model as a real server would map it, so the lab sees the bytes.
readFileSync(arg('-m'))
const readyAt = Date.now() + loadMs
createServer((req, res) => {
  if (req.url === '/health') {
    const ok = Date.now() >= readyAt
    res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' })
    return res.end(JSON.stringify(ok ? { status: 'ok' } : { error: { code: 503, message: 'Loading model' } }))
  }
  if (req.url === '/completion' && req.method === 'POST') {
    let body = ''
    req.on('data', (d) => (body += d))
    req.on('end', async () => {
      const n = (JSON.parse(body) as { n_predict: number }).n_predict
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      for (let i = 0; i < n; i++) {
        res.write(`data: ${JSON.stringify({ content: ` w${i}`, stop: false })}\n\n`)
        await new Promise((r) => setTimeout(r, 10))
      }
      res.end(`data: ${JSON.stringify({ content: '', stop: true, timings: { predicted_n: n, predicted_per_second: 42.5 } })}\n\n`)
    })
    return
  }
  res.writeHead(404).end()
}).listen(Number(arg('--port')), arg('--host'))
