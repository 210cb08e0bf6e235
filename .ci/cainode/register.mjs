// Loaded with `node --import ./register.mjs` before CAINode: points CAINode's
// hard-coded service URLs at the emulator (CAI_EMULATOR_URL) without changing
// CAINode. HTTP: the global fetch CAINode picks up at import time. Websockets:
// CAINode's `import WebSocket from "ws"` resolves to ws_shim.mjs (see loader.mjs).
import { register } from "node:module";

const base = process.env.CAI_EMULATOR_URL;
if (!base) throw new Error("set CAI_EMULATOR_URL");
const hosts = [
  ["https://neo.character.ai", `${base}/neo`],
  ["https://plus.character.ai", `${base}/plus`],
  ["https://character.ai", `${base}/web`],
];
const realFetch = globalThis.fetch;
globalThis.fetch = (url, options) => {
  let target = String(url);
  for (const [service, emulator] of hosts) {
    if (target === service || target.startsWith(`${service}/`)) {
      target = emulator + target.slice(service.length);
      break;
    }
  }
  if (!target.startsWith(base)) throw new Error(`refusing to contact ${target}`);
  return realFetch(target, options);
};
register("./loader.mjs", import.meta.url);
