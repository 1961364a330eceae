import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { MediaToolError, runTool } from '../../src/media/tools.js';
import { renderVideoRenditions } from '../../src/media/video.js';
import { makeRandomFile, makeVideo, missingToolsReason } from '../helpers/media-fixtures.js';

const TIMEOUT_MS = 60_000;

interface ProbedStream {
  codec_type: string;
  codec_name: string;
  width?: number;
  height?: number;
}

async function streamsOf(path: string): Promise<ProbedStream[]> {
  const { stdout } = await runTool('ffprobe', ['-v', 'error', '-print_format', 'json', '-show_streams', path], { timeoutMs: TIMEOUT_MS });
  return (JSON.parse(stdout) as { streams: ProbedStream[] }).streams;
}

/** Whether the 'moov' index comes before the media data, so a browser can start playing before the download ends. */
async function isFastStart(path: string): Promise<boolean> {
  const bytes = await readFile(path);
  const moov = bytes.indexOf('moov');
  const mdat = bytes.indexOf('mdat');
  return moov >= 0 && mdat >= 0 && moov < mdat;
}

describe('renderVideoRenditions', { skip: await missingToolsReason('ffmpeg', 'ffprobe') }, () => {
  let dir: string;
  let workDir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'damson-video-'));
    workDir = await mkdtemp(join(tmpdir(), 'damson-video-work-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
    await rm(workDir, { recursive: true, force: true });
  });

  it('makes a poster, a thumbnail and a fast-start H.264/AAC preview inside 480x360', async () => {
    const source = await makeVideo(dir, { seconds: 3, width: 1280, height: 720, withAudio: true });
    const { poster, preview, thumbnail } = await renderVideoRenditions(source, workDir, TIMEOUT_MS);

    assert.deepEqual([poster.width, poster.height, poster.mimeType], [1280, 720, 'image/jpeg']);
    const posterMetadata = await sharp(poster.path).metadata();
    assert.deepEqual([posterMetadata.format, posterMetadata.width, posterMetadata.height], ['jpeg', 1280, 720]);
    assert.equal((await stat(poster.path)).size, poster.size);

    assert.deepEqual([thumbnail.width, thumbnail.height, thumbnail.mimeType], [256, 144, 'image/jpeg']);
    assert.equal((await sharp(thumbnail.path).metadata()).format, 'jpeg');

    assert.equal(preview.mimeType, 'video/mp4');
    assert.equal((await stat(preview.path)).size, preview.size);
    const streams = await streamsOf(preview.path);
    const video = streams.find((stream) => stream.codec_type === 'video');
    assert.equal(video?.codec_name, 'h264');
    assert.deepEqual([video?.width, video?.height], [480, 270]);
    assert.deepEqual([preview.width, preview.height], [480, 270]);
    assert.equal(streams.find((stream) => stream.codec_type === 'audio')?.codec_name, 'aac');
    assert.ok(await isFastStart(preview.path), 'moov before mdat');
    // The whole preview decodes without errors.
    const decoded = await runTool('ffmpeg', ['-v', 'error', '-i', preview.path, '-f', 'null', '-'], { timeoutMs: TIMEOUT_MS });
    assert.equal(decoded.stderr.trim(), '');
  });

  it('handles a short portrait video without audio: first frame, even dimensions, no audio track', async () => {
    const source = await makeVideo(dir, { seconds: 0.5, width: 360, height: 640, withAudio: false });
    const { poster, preview, thumbnail } = await renderVideoRenditions(source, workDir, TIMEOUT_MS);
    assert.deepEqual([poster.width, poster.height], [360, 640]);
    assert.deepEqual([thumbnail.width, thumbnail.height], [144, 256]);
    const streams = await streamsOf(preview.path);
    assert.equal(streams.some((stream) => stream.codec_type === 'audio'), false);
    const video = streams.find((stream) => stream.codec_type === 'video');
    assert.equal(video?.codec_name, 'h264');
    // 360 * 360/640 = 202.5, rounded down to even.
    assert.deepEqual([video?.width, video?.height], [202, 360]);
  });

  it('never enlarges a video smaller than the preview box', async () => {
    const source = await makeVideo(dir, { seconds: 1, width: 160, height: 120, withAudio: false });
    const { poster, preview, thumbnail } = await renderVideoRenditions(source, workDir, TIMEOUT_MS);
    assert.deepEqual([poster.width, poster.height], [160, 120]);
    assert.deepEqual([thumbnail.width, thumbnail.height], [160, 120]);
    assert.deepEqual([preview.width, preview.height], [160, 120]);
  });

  it('fails with MediaToolError "timeout" when the tools run out of time', async () => {
    const source = await makeVideo(dir, { seconds: 2, width: 640, height: 360, withAudio: true });
    await assert.rejects(renderVideoRenditions(source, workDir, 5), (error: unknown) => {
      assert.ok(error instanceof MediaToolError);
      assert.equal(error.reason, 'timeout');
      assert.match(error.message, /^ff(probe|mpeg) timed out after 5 ms$/);
      return true;
    });
  });

  it('fails with a clear error for a file that is not a video, and leaves nothing behind', async () => {
    const emptyWorkDir = await mkdtemp(join(tmpdir(), 'damson-video-empty-'));
    try {
      const { path } = await makeRandomFile(dir, 256 * 1024, 'mp4');
      await assert.rejects(renderVideoRenditions(path, emptyWorkDir, TIMEOUT_MS), (error: unknown) => {
        assert.ok(error instanceof MediaToolError);
        assert.equal(error.reason, 'failed');
        // ffprobe's own reason depends on what the random bytes happen to resemble ("Invalid data found…",
        // "Invalid argument"): the message must name the tool and carry its reason.
        assert.match(error.message, /^ffprobe failed: .*: Invalid \w+/);
        return true;
      });
      assert.deepEqual(await readdir(emptyWorkDir), []);
    } finally {
      await rm(emptyWorkDir, { recursive: true, force: true });
    }
  });

  it('refuses a playlist disguised as a video, which would make ffmpeg read another file on the server', async () => {
    const other = await makeVideo(dir, { seconds: 1, width: 320, height: 240, withAudio: false });
    const playlist = join(dir, 'playlist.mp4');
    await writeFile(playlist, `#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\n${other}\n#EXT-X-ENDLIST\n`);
    // Without the restriction ffprobe happily reads the other file through the playlist.
    const { stdout } = await runTool('ffprobe', ['-v', 'error', '-show_entries', 'format=format_name', '-of', 'csv=p=0', playlist], {
      timeoutMs: TIMEOUT_MS,
    });
    assert.equal(stdout.trim(), 'hls');
    await assert.rejects(renderVideoRenditions(playlist, workDir, TIMEOUT_MS), (error: unknown) => {
      assert.ok(error instanceof MediaToolError);
      assert.equal(error.reason, 'failed');
      assert.match(error.message, /^ffprobe failed: /);
      return true;
    });
  });
});
