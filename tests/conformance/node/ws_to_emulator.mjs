// The real "ws" WebSocket, with the URL rewritten to the emulator's (see to_emulator.mjs).
import RealWebSocket from "ws";

export default class WebSocket extends RealWebSocket {
  constructor(address, ...rest) {
    super(globalThis.__caiToEmulator(address), ...rest);
  }
}
export const WebSocketServer = RealWebSocket.WebSocketServer;
