// Loader hook: the client's `import ... from "ws"` gets ws_to_emulator.mjs instead.
const shim = new URL("./ws_to_emulator.mjs", import.meta.url).href;

export async function resolve(specifier, context, next) {
  if (specifier === "ws" && context.parentURL && context.parentURL !== shim &&
      context.parentURL.includes("/node_modules/")) {
    return { url: shim, shortCircuit: true };
  }
  return next(specifier, context);
}
