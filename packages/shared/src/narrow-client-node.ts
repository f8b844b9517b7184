// client-node's KubeConfig without its generated API. `@kubernetes/client-node`'s index, and its
// config.js alone (for two names: createConfiguration, ServerConfiguration), load every generated
// model and API class: ~45 MB of RSS per process (2.0.1, measured: config.js 122-127 MB with them,
// 79 MB without). No process needs them: the watchers use KubeConfig and its auth, Watch and
// ApiException; the handler too, and sends its few writes as plain JSON (requestJson). This resolve
// hook gives config.js a module that exports just those two names from client-node's own files;
// everything else, auth included, is client-node's code as shipped. It must run before client-node
// is loaded (each main.ts registers it, then imports the rest dynamically). Should a later
// config.js import more from './gen/index.js', linking fails at start-up (and in its test), loudly.
import { registerHooks } from 'node:module';

const CONFIG_JS = '/node_modules/@kubernetes/client-node/dist/config.js';
let registered = false;

/** What config.js imports from './gen/index.js', from the files that define it. */
export function generatedApiShim(configUrl: string): string {
  const from = (file: string): string => JSON.stringify(new URL(file, configUrl).href);
  const source = `export { createConfiguration } from ${from('./gen/configuration.js')};\nexport { ServerConfiguration } from ${from('./gen/servers.js')};\n`;
  return `data:text/javascript,${encodeURIComponent(source)}`;
}

/** Registers the hook (once). Only modules resolved afterwards are affected. */
export function narrowClientNode(): void {
  if (registered) return;
  registered = true;
  registerHooks({
    resolve(specifier, context, nextResolve) {
      if (specifier === './gen/index.js' && context.parentURL?.endsWith(CONFIG_JS))
        return { url: generatedApiShim(context.parentURL), shortCircuit: true };
      return nextResolve(specifier, context);
    },
  });
}
