// Point an unmodified Node client of the service at the caiclient emulator, at run time.
//
//   node --import ./to_emulator.mjs your_script.mjs     (with CAI_EMULATOR_URL=http://127.0.0.1:PORT)
//
// * HTTP: clients call the global fetch with the service's URLs; fetch is wrapped so that
//   the service's base URLs are rewritten to the emulator's before the real fetch runs.
// * Websockets: clients import the "ws" package; a loader hook resolves that import to
//   ws_to_emulator.mjs, whose WebSocket rewrites the URL and is otherwise the real one.
// Nothing of the client's own files changes. Any URL that is not local after rewriting is
// refused, so a test can never reach the real service.
import { register } from "node:module";

const base = (process.env.CAI_EMULATOR_URL || "").replace(/\/+$/, "");
if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(base)) {
  throw new Error("CAI_EMULATOR_URL must be http://127.0.0.1:PORT");
}
const wsBase = base.replace(/^http/, "ws");
const MAP = [
  ["https://plus.character.ai", base + "/plus"],
  ["https://neo.character.ai", base + "/neo"],
  ["https://beta.character.ai", base + "/beta"],
  ["https://character.ai", base + "/web"],
  ["https://characterai.io", base + "/cdn"],
  ["wss://neo.character.ai", wsBase + "/neo"],
];

export function toEmulator(url) {
  let out = String(url);
  for (const [from, to] of MAP) {
    if (out === from || out.startsWith(from + "/") || out.startsWith(from + "?")) {
      out = to + out.slice(from.length);
      break;
    }
  }
  if (new URL(out).hostname !== "127.0.0.1") {
    throw new Error(`conformance: refusing to contact ${new URL(out).hostname}`);
  }
  return out;
}
globalThis.__caiToEmulator = toEmulator;

const realFetch = globalThis.fetch;
globalThis.fetch = (input, init) =>
  realFetch(typeof input === "string" || input instanceof URL ? toEmulator(input) : input, init);

register("./ws_hook.mjs", import.meta.url);
