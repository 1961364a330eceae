import { basename, resolve } from 'node:path';
import { UnreadableMediaError } from './errors.js';
import { probeImage, renderImageSpec, type RenderedFile } from './images.js';
import { DEFAULT_PREVIEW_SPEC, THUMBNAIL_SPEC } from './preview-spec.js';
import { runTool } from './tools.js';
import { fileSize, newOutputPath, removeQuietly } from './work-files.js';

/** The MP4 preview is small on purpose: it plays in a browser anywhere and encodes quickly. */
const PREVIEW_BOX = { width: 480, height: 360 };
/** High-frame-rate sources (slow motion) cost encoding time without making a better preview. */
const PREVIEW_MAX_FPS = 30;
/** The poster frame comes from this far in, skipping the black or faded first frame, if the video is long enough. */
const POSTER_AT_SECONDS = 1;
/** ffmpeg's MJPEG scale runs from 2 (best) to 31; the poster is also the image preview and the thumbnail's source. */
const POSTER_QSCALE = 3;

/**
 * ffmpeg picks a demuxer by content, not by name. An upload that is really an HLS playlist (or another
 * playlist-like format) makes ffmpeg open further files, and so can put another asset, or a URL, into this one's
 * previews. Only container formats that carry their media inside themselves are allowed, only from local files.
 */
const SAFE_INPUT = [
  '-protocol_whitelist',
  'file',
  '-format_whitelist',
  'mov,matroska,avi,asf,flv,mpeg,mpegts,ogg,mxf,dv,rm,nut,ivf,h264,hevc,mpegvideo,m4v,yuv4mpegpipe',
];

interface VideoFacts {
  durationSeconds: number | undefined;
  video: { index: number; width: number; height: number };
  audioIndex: number | undefined;
}

/**
 * A poster frame (JPEG inside 1600×1600), a thumbnail made from it, and an H.264/AAC MP4 preview inside 480×360.
 * Each tool run is killed after `timeoutMs`.
 */
export async function renderVideoRenditions(
  sourcePath: string,
  workDir: string,
  timeoutMs: number,
): Promise<{ poster: RenderedFile; preview: RenderedFile; thumbnail: RenderedFile }> {
  // An absolute path never starts with '-' or looks like a protocol ("concat:", "http:").
  const source = resolve(sourcePath);
  const facts = await probeVideo(source, timeoutMs);
  const written: string[] = [];
  try {
    const poster = await renderPoster(source, facts, workDir, timeoutMs, written);
    const thumbnail = await renderImageSpec(poster.path, THUMBNAIL_SPEC, workDir);
    written.push(thumbnail.path);
    const preview = await renderPreview(source, facts, workDir, timeoutMs, written);
    return { poster, preview, thumbnail };
  } catch (error) {
    await removeQuietly(...written);
    throw error;
  }
}

async function renderPoster(source: string, facts: VideoFacts, workDir: string, timeoutMs: number, written: string[]): Promise<RenderedFile> {
  const path = newOutputPath(workDir, 'poster', 'jpg');
  written.push(path);
  const seek = facts.durationSeconds !== undefined && facts.durationSeconds >= 2 * POSTER_AT_SECONDS ? POSTER_AT_SECONDS : 0;
  const extract = (seconds: number) =>
    ffmpeg(
      [
        ...(seconds > 0 ? ['-ss', String(seconds)] : []),
        ...SAFE_INPUT,
        '-i', source,
        '-map', `0:${facts.video.index}`,
        '-frames:v', '1',
        '-vf', fitFilter(DEFAULT_PREVIEW_SPEC.maxWidth, DEFAULT_PREVIEW_SPEC.maxHeight, false),
        '-q:v', String(POSTER_QSCALE),
        '-map_metadata', '-1',
        path,
      ],
      timeoutMs,
    );
  await extract(seek);
  // A wrong duration in the container can put the seek past the last frame; ffmpeg then writes nothing.
  if (!(await fileSize(path)) && seek > 0) await extract(0);
  const size = await fileSize(path);
  const dimensions = size ? await probeImage(path) : undefined;
  if (!size || !dimensions) throw new UnreadableMediaError(`No frame could be decoded from video ${basename(source)}`);
  return { path, mimeType: 'image/jpeg', width: dimensions.width, height: dimensions.height, size };
}

async function renderPreview(source: string, facts: VideoFacts, workDir: string, timeoutMs: number, written: string[]): Promise<RenderedFile> {
  const path = newOutputPath(workDir, 'preview', 'mp4');
  written.push(path);
  const audio =
    facts.audioIndex === undefined ? ['-an'] : ['-map', `0:${facts.audioIndex}`, '-c:a', 'aac', '-b:a', '128k', '-ac', '2'];
  await ffmpeg(
    [
      ...SAFE_INPUT,
      '-i', source,
      '-map', `0:${facts.video.index}`,
      ...audio,
      '-sn', '-dn',
      '-vf', fitFilter(PREVIEW_BOX.width, PREVIEW_BOX.height, true),
      '-fpsmax', String(PREVIEW_MAX_FPS),
      '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '23', '-pix_fmt', 'yuv420p',
      '-max_muxing_queue_size', '1024',
      '-map_metadata', '-1', '-map_chapters', '-1',
      '-movflags', '+faststart',
      path,
    ],
    timeoutMs,
  );
  const size = await fileSize(path);
  const rendered = size ? await probeVideo(path, timeoutMs) : undefined;
  if (!size || !rendered) throw new UnreadableMediaError(`ffmpeg wrote no preview for video ${basename(source)}`);
  return { path, mimeType: 'video/mp4', width: rendered.video.width, height: rendered.video.height, size };
}

/**
 * Square pixels first (anamorphic sources would look squeezed), then fit inside the box without enlarging.
 * H.264 in yuv420p needs even dimensions, so the MP4 rounds them down to even.
 */
function fitFilter(maxWidth: number, maxHeight: number, evenDimensions: boolean): string {
  const fit = `scale=w='min(${maxWidth},iw)':h='min(${maxHeight},ih)':force_original_aspect_ratio=decrease`;
  return `scale=w='trunc(iw*sar)':h=ih,setsar=1,${fit}${evenDimensions ? ':force_divisible_by=2' : ''},setsar=1`;
}

function ffmpeg(args: string[], timeoutMs: number): Promise<unknown> {
  return runTool('ffmpeg', ['-nostdin', '-hide_banner', '-v', 'error', '-y', ...args], { timeoutMs });
}

async function probeVideo(source: string, timeoutMs: number): Promise<VideoFacts> {
  const { stdout } = await runTool(
    'ffprobe',
    [
      '-v', 'error',
      ...SAFE_INPUT,
      '-print_format', 'json',
      '-show_entries', 'format=duration:stream=index,codec_type,width,height:stream_disposition=attached_pic',
      source,
    ],
    { timeoutMs },
  );
  const facts = parseProbe(stdout);
  if (!facts) throw new UnreadableMediaError(`No video stream in ${basename(source)}`);
  return facts;
}

/** Reads ffprobe's JSON defensively: it describes a file we did not make. */
function parseProbe(json: string): VideoFacts | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return undefined;
  }
  const root = asRecord(parsed);
  const streams = Array.isArray(root?.streams) ? root.streams.map(asRecord) : [];
  let video: VideoFacts['video'] | undefined;
  let audioIndex: number | undefined;
  for (const stream of streams) {
    const index = stream?.index;
    if (!stream || typeof index !== 'number') continue;
    // Cover art in a music file is a "video" stream of one picture: not a video.
    const coverArt = asRecord(stream.disposition)?.attached_pic === 1;
    if (!video && stream.codec_type === 'video' && !coverArt) {
      const width = positiveNumber(stream.width);
      const height = positiveNumber(stream.height);
      if (width && height) video = { index, width, height };
    } else if (audioIndex === undefined && stream.codec_type === 'audio') {
      audioIndex = index;
    }
  }
  if (!video) return undefined;
  return { durationSeconds: positiveNumber(asRecord(root?.format)?.duration), video, audioIndex };
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function positiveNumber(value: unknown): number | undefined {
  const number = typeof value === 'string' ? Number.parseFloat(value) : value;
  return typeof number === 'number' && Number.isFinite(number) && number > 0 ? number : undefined;
}
