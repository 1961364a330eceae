import { postForm, type Session, type TestServer } from '../helpers/server.js';

/** One seeded asset, as the test knows it: the reference the expected results are computed from. */
export interface SeedAsset {
  id: string;
  folderPath: string;
  name: string;
  description: string;
  title?: string;
  tags: string[];
  status: string;
  rating: number;
  created: number;
  cf_region?: string;
  createdOrder: number;
}

const PLACES = ['harbour', 'forest', 'mountain', 'river', 'desert', 'city', 'meadow', 'glacier'];
const TIMES = ['dawn', 'noon', 'dusk', 'night'];
const TAGS = ['sea', 'boats', 'trees', 'snow', 'sand', 'people', 'cars', 'birds', 'Ice Cream', 'C++'];
const STATUSES = ['Draft', 'Production', 'Final'];
const FOLDERS = ['/Photos/2021', '/Photos/2022', '/Photos/2022/Summer', '/Docs', '/Docs/Legal', '/Archive/Old/Deep'];
const DAY = 86_400_000;
export const SEED_BASE_DATE = Date.parse('2020-01-01T00:00:00Z');

/** A deterministic library of `count` assets with varied, realistic metadata (placeholders: no files needed). */
export async function seedLibrary(server: TestServer, session: Session, count: number): Promise<SeedAsset[]> {
  const assets: SeedAsset[] = [];
  for (let i = 0; i < count; i++) {
    const place = PLACES[i % PLACES.length]!;
    const time = TIMES[(i * 7) % TIMES.length]!;
    const tags = TAGS.filter((_tag, t) => (i * (t + 3)) % 5 === 0);
    const seed: Omit<SeedAsset, 'id'> = {
      folderPath: FOLDERS[i % FOLDERS.length]!,
      name: `${place}-${String(i).padStart(3, '0')}.jpg`,
      description: `A ${place} at ${time}${i % 11 === 0 ? ' with a rainbow' : ''}`,
      ...(i % 4 === 0 ? { title: `${place.toUpperCase()} study ${i}` } : {}),
      tags,
      status: STATUSES[i % STATUSES.length]!,
      rating: (i % 7) - 1,
      created: SEED_BASE_DATE + (i % 50) * 30 * DAY + i * 1000,
      ...(i % 3 === 0 ? { cf_region: i % 2 === 0 ? 'north' : 'south' } : {}),
      createdOrder: i,
    };
    server.clock.advance(1000);
    const response = await postForm({ server, session }, 'create', {
        folderPath: seed.folderPath,
        name: seed.name,
        metadata: JSON.stringify({
          description: seed.description,
          ...(seed.title ? { title: seed.title } : {}),
          tags: seed.tags,
          status: seed.status,
          rating: seed.rating,
          created: seed.created,
          ...(seed.cf_region ? { cf_region: seed.cf_region } : {}),
        }),
    });
    if (response.statusCode !== 200) throw new Error(`seeding failed: ${response.body}`);
    assets.push({ ...seed, id: (response.json() as { id: string }).id });
  }
  return assets;
}
