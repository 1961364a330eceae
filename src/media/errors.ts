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
