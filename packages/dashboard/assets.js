// Where the dashboard's built assets live, for the coordinator to serve.
import { fileURLToPath } from 'node:url';

/** Absolute path of the folder holding index.html and the built bundle. */
export const dashboardAssetsDir = fileURLToPath(new URL('./public/', import.meta.url));
