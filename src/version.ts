import { readFileSync } from 'node:fs';

/** Damson's own release, from package.json (found relative to this file both in src/ and in dist/). */
export const DAMSON_VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/**
 * What `serverVersion` reports: the Assets Server API level Damson implements. Clients gate features on it
 * (for example DerSpiegel's PHP client checks for 6.107 or later), so it names the emulated API, not Damson.
 */
export const ASSETS_API_VERSION = '6.130.0';
