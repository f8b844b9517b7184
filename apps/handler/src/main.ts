// handler: drains the queue into the state, decides, and creates/deletes default pods.
import { narrowClientNode } from '@critsvc/shared/narrow-client-node';

// Before client-node is loaded: KubeConfig without the generated API it does not use (~45 MB of RSS; narrow-client-node.ts).
narrowClientNode();
const { runMain } = await import('@critsvc/shared');
const { runHandler } = await import('./handler.ts');

runMain('handler', () => runHandler(process.env));
