/**
 * A media tool's message as a client may see it: file system paths (where the data directory is, how blobs are
 * laid out) become `<file>`. The log keeps the whole message.
 */
export function withoutPaths(message: string): string {
  return message.replace(/(?:\/[^\s/:'"]+){2,}\/?/g, '<file>');
}

/**
 * The input itself is the problem (not an image, corrupt, too large, no video stream): rendering it again will
 * fail again, so callers can mark the asset as having no previews instead of retrying.
 */
export class UnreadableMediaError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UnreadableMediaError';
  }
}
