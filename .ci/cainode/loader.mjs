// Module resolution hook: CAINode's "ws" becomes ws_shim.mjs; everything else is untouched.
export async function resolve(specifier, context, nextResolve) {
  if (specifier === "ws" && context.parentURL && context.parentURL.includes("/node_modules/cainode/")) {
    return { url: new URL("./ws_shim.mjs", import.meta.url).href, shortCircuit: true };
  }
  return nextResolve(specifier, context);
}
