import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page, Route } from 'playwright-core';
import sharp from 'sharp';
import { buildWebClient } from '../../scripts/build-web.js';
import { browserUnavailableReason, launchChromium, SCREENSHOT_DIR } from '../helpers/browser.js';
import { listen } from '../helpers/http-client.js';
import { createUser, startServer, type TestServer } from '../helpers/server.js';

const unavailable = browserUnavailableReason();
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/**
 * The web client in Debian's Chromium, driven like a person would: every step goes through the page, and the
 * page talks to a real Damson over HTTP. Screenshots of the main screens land in artifacts/screenshots.
 */
describe('web client in Chromium', { skip: unavailable }, () => {
  let server: TestServer;
  let baseUrl: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let user: { username: string; password: string };
  let fileDir: string;
  let harbourPath: string;
  let forestPath: string;

  const tile = (name: string) => page.locator('.grid li', { hasText: name });
  /** Waits for the results heading; when it does not come, the error says what the page showed instead. */
  const resultsHeading = async (name: RegExp) => {
    try {
      await page.getByRole('heading', { name }).waitFor();
    } catch (error) {
      const shown = async (selector: string) => (await page.locator(selector).allInnerTexts().catch(() => [])).join(' | ');
      await shoot(`failed-heading-${Date.now()}`).catch(() => undefined);
      throw new Error(`no heading ${name} at ${page.url()}: headings "${await shown('h2')}", status "${await shown('.results .status')}"`, { cause: error });
    }
  };
  /** The filters once their counts have come. */
  const counted = () => page.locator('section.filters:not([aria-busy])').waitFor();
  const extension = (name: string) => page.getByRole('region', { name: 'Filters' }).getByRole('group', { name: 'Extension' }).getByLabel(new RegExp(`^${name}`));
  /** Holds back the searches for facet counts, as a large library's take their time, until `release`. */
  const holdFacetCounts = async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const isFacetSearch = (url: URL) => url.pathname.endsWith('/services/search') && url.searchParams.has('facets');
    const hold = async (route: Route) => {
      await held;
      // A request the page has cancelled meanwhile (a newer search) cannot be continued.
      await route.continue().catch(() => undefined);
    };
    await page.route(isFacetSearch, hold);
    return {
      release,
      stop: async () => {
        release();
        await page.unroute(isFacetSearch, hold);
      },
    };
  };
  const shoot = (name: string) => page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
  const logIn = async (password = user.password) => {
    const dialog = page.getByRole('dialog', { name: 'Log in to Damson' });
    await dialog.getByLabel('User name').fill(user.username);
    await dialog.getByLabel('Password').fill(password);
    await dialog.getByRole('button', { name: 'Log in' }).click();
  };

  before(async () => {
    await buildWebClient();
    server = await startServer('sqlite', { DAMSON_MAX_UPLOAD_MB: '1' });
    baseUrl = await listen(server);
    user = await createUser(server, { username: 'ada' });
    fileDir = mkdtempSync(join(tmpdir(), 'damson-web-'));
    harbourPath = join(fileDir, 'harbour-dawn.jpg');
    forestPath = join(fileDir, 'forest-path.png');
    // Drawn pictures rather than flat colours, so the screenshots show what a person would see.
    const harbour = `<svg xmlns="http://www.w3.org/2000/svg" width="640" height="480"><defs><linearGradient id="s" x2="0" y2="1"><stop offset="0" stop-color="#f7b267"/><stop offset="1" stop-color="#f4845f"/></linearGradient></defs>
      <rect width="640" height="300" fill="url(#s)"/><circle cx="420" cy="290" r="60" fill="#fff3b0"/><rect y="290" width="640" height="190" fill="#1d4e89"/>
      <path d="M80 330h180l-30 40H110z" fill="#2b2d42"/><rect x="160" y="230" width="6" height="100" fill="#2b2d42"/></svg>`;
    const forest = `<svg xmlns="http://www.w3.org/2000/svg" width="480" height="640"><rect width="480" height="640" fill="#d8f3dc"/>
      <path d="M240 80l120 220H120z M240 220l150 260H90z" fill="#2d6a4f"/><rect x="225" y="480" width="30" height="90" fill="#6f4518"/><rect y="570" width="480" height="70" fill="#95d5b2"/></svg>`;
    await sharp(Buffer.from(harbour)).jpeg({ quality: 85 }).toFile(harbourPath);
    await sharp(Buffer.from(forest)).png().toFile(forestPath);
    browser = await launchChromium();
    context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 860 } });
    // CI machines are shared and sometimes slow: a minute per step rather than Playwright's thirty seconds.
    context.setDefaultTimeout(60_000);
    page = await context.newPage();
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    if (fileDir) rmSync(fileDir, { recursive: true, force: true });
  });

  it('is served with a strict Content-Security-Policy and no inline script', async () => {
    const response = await page.goto(`${baseUrl}/`);
    assert.equal(response?.status(), 200);
    const csp = response?.headers()['content-security-policy'] ?? '';
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    const inlineScripts = await page.locator('script:not([src])').count();
    assert.equal(inlineScripts, 0);
  });

  it('shows the server message for a failed login, and logs in', async () => {
    await page.goto(`${baseUrl}/`);
    await logIn('not the password');
    const error = page.getByRole('dialog').getByRole('alert');
    await error.waitFor();
    assert.match(await error.innerText(), /\S/);
    await shoot('login-failed');
    await logIn();
    await resultsHeading(/All assets: 0 assets/);
    assert.equal(await page.getByRole('dialog', { name: 'Log in to Damson' }).count(), 0);
  });

  it('uploads two images with the file picker and shows their thumbnails', async () => {
    await page.locator('#upload-input').setInputFiles([harbourPath, forestPath]);
    const uploads = page.getByRole('region', { name: 'Uploads' });
    await uploads.getByText('Uploaded').nth(1).waitFor();
    for (const name of ['harbour-dawn.jpg', 'forest-path.png']) {
      const image = tile(name).locator('img');
      await image.waitFor({ timeout: 60_000 });
    }
    // The thumbnails really loaded (a broken image has no natural size).
    await page.waitForFunction('[...document.querySelectorAll(".grid img")].filter((image) => image.complete && image.naturalWidth > 0).length === 2');
    await resultsHeading(/All assets: 2 assets/);
    await shoot('grid');
  });

  it('shows the server\'s reason for each refused file, and cancels an upload in flight', async () => {
    const uploads = page.getByRole('region', { name: 'Uploads' });
    await page.getByRole('button', { name: 'Clear finished' }).click();
    await page.locator('#upload-input').setInputFiles([
      { name: 'too-big.bin', mimeType: 'application/octet-stream', buffer: Buffer.alloc(1024 * 1024 + 1, 1) },
      { name: 'bad|name.jpg', mimeType: 'image/jpeg', buffer: readFileSync(harbourPath) },
    ]);
    const tooBig = uploads.getByRole('listitem').filter({ hasText: 'too-big.bin' });
    const badName = uploads.getByRole('listitem').filter({ hasText: 'bad|name.jpg' });
    await tooBig.locator('.upload-status', { hasText: /larger than the maximum upload size/ }).waitFor();
    await badName.locator('.upload-status', { hasText: /name/i }).waitFor();
    // Sending the same file again cannot help, so there is nothing to retry.
    assert.equal(await tooBig.getByRole('button', { name: 'Retry too-big.bin' }).count(), 0);

    // The upload is held in the browser until Cancel is pressed, so it is surely still running then. A link slowed
    // with DevTools did not hold it reliably: on a busy CI machine the whole body sometimes reached the server
    // first. What the server does when a client goes away is tested in test/assets/upload-safety.test.ts.
    let release!: (route: Route) => void;
    const held = new Promise<Route>((resolve) => (release = resolve));
    await page.route('**/services/create', (route) => release(route));
    await page.locator('#upload-input').setInputFiles([{ name: 'slow.bin', mimeType: 'application/octet-stream', buffer: Buffer.alloc(900 * 1024, 2) }]);
    const route = await held;
    const slow = uploads.getByRole('listitem').filter({ hasText: 'slow.bin' });
    await slow.getByRole('button', { name: 'Cancel slow.bin' }).click();
    await slow.getByText('Cancelled').waitFor();
    // The page gave the request up; it never reaches the server.
    await route.abort().catch(() => undefined);
    await page.unroute('**/services/create');
    const search = await page.evaluate<{ totalHits: number }>('fetch("services/search?q=*:*&num=0").then((response) => response.json())');
    assert.equal(search.totalHits, 2, 'neither the refused nor the cancelled files became assets');
    await shoot('upload-errors');
    await page.getByRole('button', { name: 'Clear finished' }).click();
  });

  it('searches with a field query and a facet, reflected in the URL, with back and forward', async () => {
    await page.getByLabel('Search assets').fill('extension:jpg');
    await page.getByLabel('Search assets').press('Enter');
    await resultsHeading(/Results: 1 asset$/);
    assert.equal(new URL(page.url()).searchParams.get('q'), 'extension:jpg');
    assert.equal(await tile('harbour-dawn.jpg').count(), 1);
    assert.equal(await tile('forest-path.png').count(), 0);

    await page.getByLabel('Search assets').fill('');
    await page.getByLabel('Search assets').press('Enter');
    await resultsHeading(/All assets: 2 assets/);
    const filters = page.getByRole('region', { name: 'Filters' });
    await filters.getByRole('group', { name: 'Extension' }).getByLabel(/^png/).check();
    await resultsHeading(/All assets: 1 asset$/);
    assert.equal(new URL(page.url()).searchParams.get('f.extension'), 'png');
    assert.equal(await tile('forest-path.png').count(), 1);
    await shoot('facets');

    await page.goBack();
    await resultsHeading(/All assets: 2 assets/);
    await page.goForward();
    await resultsHeading(/All assets: 1 asset$/);
    await page.reload();
    await resultsHeading(/All assets: 1 asset$/);
    assert.equal(await filters.getByRole('group', { name: 'Extension' }).getByLabel(/^png/).isChecked(), true);
  });

  it('shows the hits without waiting for the filters, whose counts fill in when they come', async () => {
    await page.goto(`${baseUrl}/`);
    await resultsHeading(/All assets: 2 assets/);
    await counted();
    assert.equal(await extension('png').count(), 1);
    const facets = await holdFacetCounts();
    try {
      await page.getByLabel('Search assets').fill('extension:jpg');
      await page.getByLabel('Search assets').press('Enter');
      await resultsHeading(/Results: 1 asset$/);
      assert.equal(await tile('harbour-dawn.jpg').count(), 1);
      assert.equal(await page.getByRole('region', { name: 'Filters' }).getAttribute('aria-busy'), 'true', 'the filters of the previous search show as loading');
      facets.release();
      await counted();
      assert.equal(await extension('jpg').count(), 1);
      assert.equal(await extension('png').count(), 0, 'the counts are those of the new search');
    } finally {
      await facets.stop();
    }
  });

  it('keeps every filter clicked while the counts load, and the keyboard focus on the filter', async () => {
    await page.goto(`${baseUrl}/`);
    await resultsHeading(/All assets: 2 assets/);
    await counted();
    const facets = await holdFacetCounts();
    try {
      // Both clicks land on the filters of the first search, whose new counts are still held back.
      await extension('png').focus();
      await page.keyboard.press('Space');
      await resultsHeading(/All assets: 1 asset$/);
      await extension('jpg').check();
      await resultsHeading(/All assets: 2 assets/);
      assert.deepEqual(new URL(page.url()).searchParams.getAll('f.extension').join(',').split(',').sort(), ['jpg', 'png']);
      facets.release();
      await counted();
      assert.equal(await extension('png').isChecked(), true);
      assert.equal(await extension('jpg').isChecked(), true);
      assert.equal(await page.evaluate<string | undefined>('document.activeElement?.id'), 'facet-extension-jpg', 'the focus stays on the filter last used');
    } finally {
      await facets.stop();
    }
  });

  it('opens an asset and shows its metadata', async () => {
    await page.goto(`${baseUrl}/`);
    await tile('harbour-dawn.jpg').getByRole('link').click();
    const dialog = page.getByRole('dialog', { name: 'harbour-dawn.jpg' });
    await dialog.waitFor();
    await dialog.locator('dd[data-field="assetPath"]').waitFor();
    assert.equal(await dialog.locator('dd[data-field="assetPath"]').innerText(), '/Uploads/harbour-dawn.jpg');
    // Technical fields sit in a closed group: present, just not expanded.
    assert.equal(await dialog.locator('dd[data-field="width"]').textContent(), '640');
    await dialog.getByRole('img', { name: 'Preview of harbour-dawn.jpg' }).waitFor();
    assert.ok(new URL(page.url()).searchParams.get('asset'));
    await shoot('asset');
  });

  it('edits tags, and the asset is found by its new tag', async () => {
    const dialog = page.getByRole('dialog', { name: 'harbour-dawn.jpg' });
    await dialog.getByLabel('Tags').fill('sunrise, seaside');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.getByText('Saved', { exact: true }).waitFor();
    await dialog.getByRole('button', { name: 'Close' }).click();
    await page.getByLabel('Search assets').fill('tags:seaside');
    await page.getByLabel('Search assets').press('Enter');
    await resultsHeading(/Results: 1 asset$/);
    assert.equal(await tile('harbour-dawn.jpg').count(), 1);
  });

  it('keeps filter values apart that differ only in punctuation', async () => {
    await tile('harbour-dawn.jpg').getByRole('link').click();
    const dialog = page.getByRole('dialog', { name: 'harbour-dawn.jpg' });
    await dialog.getByLabel('Tags').fill('sunrise, seaside, a b, a_b');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.getByText('Saved', { exact: true }).waitFor();
    await dialog.getByRole('button', { name: 'Close' }).click();
    await page.goto(`${baseUrl}/`);
    await counted();
    const tags = page.getByRole('region', { name: 'Filters' }).getByRole('group', { name: 'Tags' });
    // `a b` sorts first: with one id for both, a click on the label of `a_b` ticked `a b`.
    await tags.locator('label', { hasText: /^a_b/ }).click();
    await counted();
    assert.deepEqual(new URL(page.url()).searchParams.getAll('f.tags'), ['a_b']);
    assert.equal(await tags.getByLabel(/^a_b/).isChecked(), true);
    assert.equal(await tags.getByLabel(/^a b/).isChecked(), false, 'its own label, not the other value\'s');
    await tags.getByLabel(/^a_b/).uncheck();
    await counted();
  });

  it('shows invalid input inline before sending it', async () => {
    await tile('harbour-dawn.jpg').getByRole('link').click();
    const dialog = page.getByRole('dialog', { name: 'harbour-dawn.jpg' });
    const tags = dialog.getByLabel('Tags');
    await tags.fill(`ok, ${'x'.repeat(250)}`);
    assert.equal(await tags.getAttribute('aria-invalid'), 'true');
    assert.match(await dialog.locator('.field-error').filter({ hasText: /\S/ }).first().innerText(), /at most 200 characters/);
    await tags.fill('sunrise, seaside');
    assert.equal(await tags.getAttribute('aria-invalid'), 'false');
  });

  it('downloads the original with identical bytes', async () => {
    const dialog = page.getByRole('dialog', { name: 'harbour-dawn.jpg' });
    const [download] = await Promise.all([page.waitForEvent('download'), dialog.getByRole('link', { name: 'Download original' }).click()]);
    const saved = join(fileDir, 'downloaded.jpg');
    await download.saveAs(saved);
    assert.equal(sha256(readFileSync(saved)), sha256(readFileSync(harbourPath)));
    assert.equal(download.suggestedFilename(), 'harbour-dawn.jpg');
  });

  it('keeps what the user typed when the session ends, and finishes the save after a new login', async () => {
    const dialog = page.getByRole('dialog', { name: 'harbour-dawn.jpg' });
    await dialog.getByLabel('Description').fill('First light over the harbour');
    // The session ends behind the page's back (as after a timeout or a logout in another tab).
    const csrf = await page.evaluate<string | null>('sessionStorage.getItem("damson.csrf")');
    const cookie = (await context.cookies()).find((entry) => entry.name === 'authToken');
    const logout = await fetch(`${baseUrl}/services/logout`, { method: 'POST', headers: { cookie: `authToken=${cookie?.value}`, 'x-csrf-token': csrf ?? '' } });
    assert.deepEqual(await logout.json(), { logoutSuccess: true });

    await dialog.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('dialog', { name: 'Log in to Damson' }).waitFor();
    await logIn();
    await dialog.getByText('Saved', { exact: true }).waitFor();
    assert.equal(await dialog.getByLabel('Description').inputValue(), 'First light over the harbour');
    const search = await page.evaluate(async () => (await fetch('services/search?q=description:harbour&metadataToReturn=name')).json());
    assert.equal((search as { totalHits: number }).totalHits, 1);
  });

  it('works at phone width', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${baseUrl}/`);
    await resultsHeading(/All assets: 2 assets/);
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - document.documentElement.clientWidth');
    assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow} px at 390 px`);
    await shoot('phone');
    await page.setViewportSize({ width: 1280, height: 860 });
  });

  it('logs out with the button, and back shows the login form and no asset data', async () => {
    await page.goto(`${baseUrl}/?q=tags:seaside`);
    await tile('harbour-dawn.jpg').waitFor();
    await tile('harbour-dawn.jpg').getByRole('link').click();
    await page.getByRole('dialog', { name: 'harbour-dawn.jpg' }).waitFor();
    await page.keyboard.press('Escape');
    await page.getByRole('dialog', { name: 'harbour-dawn.jpg' }).waitFor({ state: 'detached' });
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('dialog', { name: 'Log in to Damson' }).waitFor();
    await shoot('logged-out');
    const profile = await page.evaluate(async () => (await fetch('services/profile')).status);
    assert.equal(profile, 401);

    await page.goBack();
    await page.getByRole('dialog', { name: 'Log in to Damson' }).waitFor();
    const text = await page.locator('body').innerText();
    assert.doesNotMatch(text, /harbour-dawn|forest-path|Uploads/);
    assert.equal(await page.locator('.grid li').count(), 0);
  });

  it('follows /logout?logoutSuccessUrl= to a page on this server', async () => {
    await logIn();
    await resultsHeading(/Results|All assets/);
    await page.goto(`${baseUrl}/logout?logoutSuccessUrl=${encodeURIComponent('/?q=bye')}`);
    assert.equal(new URL(page.url()).search, '?q=bye');
    await page.getByRole('dialog', { name: 'Log in to Damson' }).waitFor();
    const profile = await page.evaluate(async () => (await fetch('services/profile')).status);
    assert.equal(profile, 401);
  });
});
