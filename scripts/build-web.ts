/**
 * Builds the browser client (web/) into dist/web: one hashed script and one hashed stylesheet under static/,
 * and index.html naming them. Hashed names let the server cache them for a year; index.html is never cached.
 *
 *   node --import tsx scripts/build-web.ts [outDir]
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const DEFAULT_WEB_OUT_DIR = join(ROOT, 'dist', 'web');

export interface WebBuild {
  outDir: string;
  script: string;
  stylesheet: string;
  bytes: number;
}

export async function buildWebClient(outDir = DEFAULT_WEB_OUT_DIR): Promise<WebBuild> {
  const assetsDir = join(outDir, 'static');
  await rm(outDir, { recursive: true, force: true });
  await mkdir(assetsDir, { recursive: true });
  const result = await build({
    entryPoints: [join(ROOT, 'web', 'src', 'main.ts'), join(ROOT, 'web', 'styles.css')],
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['es2022', 'chrome110', 'firefox110', 'safari16'],
    entryNames: '[name]-[hash]',
    outdir: assetsDir,
    metafile: true,
    sourcemap: false,
    legalComments: 'none',
    logLevel: 'warning',
  });
  const outputs = Object.keys(result.metafile.outputs).map((path) => basename(path));
  const script = outputs.find((name) => name.endsWith('.js'));
  const stylesheet = outputs.find((name) => name.endsWith('.css'));
  if (!script || !stylesheet) throw new Error(`esbuild produced ${outputs.join(', ')}: expected one .js and one .css`);
  const template = await readFile(join(ROOT, 'web', 'index.html'), 'utf8');
  const html = template.replaceAll('{{script}}', `static/${script}`).replaceAll('{{stylesheet}}', `static/${stylesheet}`);
  await writeFile(join(outDir, 'index.html'), html);
  const bytes = Object.values(result.metafile.outputs).reduce((sum, output) => sum + output.bytes, 0) + Buffer.byteLength(html);
  return { outDir, script, stylesheet, bytes };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const built = await buildWebClient(process.argv[2] ? resolve(process.argv[2]) : undefined);
  console.log(`web client: ${built.script}, ${built.stylesheet} (${Math.round(built.bytes / 1024)} KiB) in ${built.outDir}`);
}
