// The real `ws` WebSocket, with wss://neo.character.ai rewritten to the emulator.
import WebSocket from "ws";

const target = process.env.CAI_EMULATOR_URL.replace(/^http/, "ws");

export default class EmulatorWebSocket extends WebSocket {
  constructor(address, ...rest) {
    const url = String(address).replace(/^wss:\/\/neo\.character\.ai/, `${target}/neo`);
    if (!url.startsWith(target)) throw new Error(`refusing to contact ${url}`);
    super(url, ...rest);
  }
}
