/**
 * A deterministic, realistic catalogue of assets for the search benchmark: a folder tree of a few hundred folders
 * of varying depth, descriptions whose words follow a Zipf-like law, skewed multi-value tags, statuses, ratings,
 * capture dates over ten years, custom fields and an image/video/PDF mix with matching extensions.
 *
 * Everything comes from one seeded generator, so the same seed and count give the same assets (ids included),
 * and the query values the benchmark picks (words, tags, folders, phrases) are drawn from the same vocabulary.
 */
import type { Asset } from '../../src/assets/asset-store.js';
import type { StoredValue } from '../../src/assets/fields.js';
import { domainOf, extensionOf, joinPath, mimeTypeOf } from '../../src/assets/paths.js';

/** sfc32: small, fast and good enough for test data; seeded, so every run generates the same catalogue. */
export class Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    this.a = 0x9e3779b9;
    this.b = 0x243f6a88;
    this.c = 0xb7e15162;
    this.d = seed >>> 0;
    for (let i = 0; i < 15; i++) this.next();
  }

  /** A float in [0, 1). */
  next(): number {
    this.a >>>= 0;
    this.b >>>= 0;
    this.c >>>= 0;
    this.d >>>= 0;
    let t = (this.a + this.b) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.d = (this.d + 1) | 0;
    t = (t + this.d) | 0;
    this.c = (this.c + t) | 0;
    return (t >>> 0) / 4294967296;
  }

  /** A whole number in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  /** `bytes` random bytes. */
  bytes(count: number): Buffer {
    const buffer = Buffer.alloc(count);
    for (let i = 0; i < count; i += 4) {
      const word = Math.floor(this.next() * 4294967296);
      for (let j = 0; j < 4 && i + j < count; j++) buffer[i + j] = (word >>> (8 * j)) & 0xff;
    }
    return buffer;
  }
}

/** Draws ranks 0..n-1 with probability ∝ 1/(rank+1)^s (a Zipf law), by binary search in the cumulative weights. */
export class Zipf {
  private readonly cumulative: Float64Array;

  constructor(
    readonly size: number,
    exponent: number,
  ) {
    this.cumulative = new Float64Array(size);
    let total = 0;
    for (let rank = 0; rank < size; rank++) {
      total += 1 / (rank + 1) ** exponent;
      this.cumulative[rank] = total;
    }
    for (let rank = 0; rank < size; rank++) this.cumulative[rank]! /= total;
  }

  /** The probability of one rank. */
  probability(rank: number): number {
    return this.cumulative[rank]! - (rank === 0 ? 0 : this.cumulative[rank - 1]!);
  }

  draw(random: Random): number {
    const target = random.next();
    let low = 0;
    let high = this.size - 1;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.cumulative[middle]! < target) low = middle + 1;
      else high = middle;
    }
    return low;
  }
}

/** Function words: the most frequent words of any description, never used as query terms. */
const STOP_WORDS = ['the', 'a', 'of', 'and', 'in', 'with', 'on', 'at', 'for', 'by', 'from', 'to', 'near', 'over', 'under', 'during'];

/** Real words of picture captions, most frequent first; the long tail is made of generated words after them. */
const CONTENT_WORDS = `
people city street view light night woman man children family team portrait sunset morning water building
office product close detail summer winter spring autumn beach sea harbour boat river lake mountain forest tree
park garden flower field road car bicycle train station bridge tower church market shop cafe restaurant food
coffee table kitchen home window door wall roof sky cloud rain snow sun shadow reflection colour blue red green
yellow white black orange golden silver dark bright old new modern historic small large young senior happy
smiling working walking running sitting standing meeting event concert festival stage crowd audience speaker
conference launch campaign brand logo packaging bottle box label design print poster banner website social
mobile laptop screen phone camera studio background texture pattern abstract aerial drone panorama skyline
downtown suburb village countryside farm harvest wheat vineyard wine cheese bread fruit vegetable fish dog cat
horse bird cow sheep wildlife nature landscape coast cliff island desert canyon valley hill snowy frozen ice fog
misty stormy calm quiet busy crowded empty clean fresh natural organic healthy sport football tennis golf
swimming cycling yoga fitness gym training match player fans stadium school student teacher classroom library
book science laboratory research doctor nurse hospital health care patient engineer factory machine industry
construction crane worker helmet safety energy solar wind turbine power electric battery charging vehicle truck
ship port container logistics warehouse delivery package retail customer service shopping mall fashion model
dress shoes jewellery watch bag accessories beauty makeup hair salon spa hotel travel tourism airport airplane
flight holiday vacation luggage map guide museum gallery art painting sculpture exhibition culture heritage
castle palace ruins monument statue square plaza fountain lamp neon sign graffiti mural alley staircase corridor
interior architecture facade glass steel concrete wooden stone brick marble fabric leather paper plastic metal
gold copper team handshake partnership growth finance money chart data network technology innovation digital
cloud server code software robot artificial intelligence future vision strategy leadership success celebration
birthday wedding bride groom couple friends party dinner lunch breakfast picnic barbecue campfire tent hiking
trail backpack climbing skiing snowboard surfing sailing kayak fishing camping sunrise dusk twilight evening
midnight stars moon eclipse rainbow lightning thunder storm wave tide sand shell rock pebble moss leaf branch
blossom tulip rose sunflower lavender meadow orchard greenhouse pumpkin apple orange lemon strawberry cherry
`.trim().split(/\s+/);

const SYLLABLES = ['ka', 'lo', 'ri', 'ne', 'ta', 'mu', 'sa', 'vo', 'li', 'de', 'po', 'ra', 'ki', 'ba', 'no', 'mi', 'te', 'su', 'va', 'ro', 'fe', 'gu', 'lan', 'mor', 'tis', 'ven', 'dal', 'cor', 'bri', 'sto'];

const PEOPLE = [
  'Anna Berg', 'Ben Carter', 'Chloe Dubois', 'David Eriksen', 'Emma Fischer', 'Farid Haddad', 'Grace Ito', 'Hugo Janssen', 'Ines Kowalski',
  'Jonas Larsen', 'Kira Moreau', 'Liam Novak', 'Maya Okafor', 'Nils Petersen', 'Olivia Quinn', 'Pablo Rossi', 'Quentin Sato', 'Rosa Silva',
  'Sven Tanaka', 'Tara Umeh', 'Ugo Vidal', 'Vera Weber', 'Wim Xu', 'Yara Young', 'Zoe Zimmer', 'Aiko Brandt', 'Bram de Vries', 'Carla Mendes',
];
const USERS = ['admin', 'anna', 'ben', 'chloe', 'david', 'emma', 'farid', 'grace'];
const CLIENTS = [
  'Northwind Traders', 'Contoso', 'Fabrikam', 'Tailspin Toys', 'Wide World Importers', 'Adventure Works', 'Blue Yonder Airlines', 'Coho Winery',
  'Alpine Ski House', 'Fourth Coffee', 'Litware', 'Lucerne Publishing', 'Margie Travel', 'Proseware', 'Trey Research', 'Woodgrove Bank',
  'Humongous Insurance', 'City Power and Light', 'Graphic Design Institute', 'School of Fine Art', 'Consolidated Messenger', 'Datum Corporation',
  'Southridge Video', 'VanArsdel', 'Relecloud', 'Munson Pickles', 'Bellows College', 'First Up Consultants', 'Nod Publishers', 'Lamna Healthcare',
];
const STOCK = ['Nature', 'People', 'Cities', 'Food', 'Travel', 'Business', 'Sports', 'Technology', 'Architecture', 'Animals', 'Textures', 'Seasons'];
const EVENTS = ['Trade Fair', 'Summer Party', 'Annual Meeting', 'Product Launch', 'Press Day', 'Open House', 'Awards Night', 'Roadshow'];
const REGIONS = ['EMEA', 'APAC', 'Americas', 'Nordics', 'Benelux', 'DACH'];
const STATUSES: Array<[string, number]> = [['Final', 0.34], ['Draft', 0.2], ['In Progress', 0.14], ['Review', 0.1], ['Approved', 0.08], ['Archived', 0.06]];
const CAMERAS: Array<[string, string]> = [['Canon', 'EOS R5'], ['Nikon', 'Z 8'], ['Sony', 'ILCE-7M4'], ['Fujifilm', 'X-T5'], ['Apple', 'iPhone 15 Pro']];
const IMAGE_TYPES: Array<[string, number]> = [['jpg', 0.72], ['png', 0.1], ['tif', 0.08], ['psd', 0.05], ['webp', 0.05]];
const VIDEO_TYPES: Array<[string, number]> = [['mp4', 0.7], ['mov', 0.3]];
const YEARS = [2016, 2017, 2018, 2019, 2020, 2021, 2022, 2023, 2024, 2025];
const START = Date.UTC(2016, 0, 1);
const END = Date.UTC(2026, 0, 1);
const DAY = 86_400_000;

export interface Folder {
  path: string;
  /** 1 for a top-level folder. */
  depth: number;
  /** Whether assets are placed in it directly (leaves and a few inner folders). */
  holdsAssets: boolean;
  client?: string;
}

/** What the queries are drawn from: the same lists the assets were made of. */
export interface Vocabulary {
  /** Content words (no function words), most frequent first. */
  words: string[];
  /** Probability of each word in `words` per description word drawn. */
  wordProbability(index: number): number;
  /** Tag values, most frequent first. */
  tags: string[];
  statuses: string[];
  folders: Folder[];
  clients: string[];
  regions: string[];
  years: number[];
}

function weighted<T>(random: Random, entries: ReadonlyArray<[T, number]>): T {
  let target = random.next() * entries.reduce((sum, [, weight]) => sum + weight, 0);
  for (const [value, weight] of entries) {
    target -= weight;
    if (target < 0) return value;
  }
  return entries[entries.length - 1]![0];
}

const capitalize = (word: string) => word.charAt(0).toUpperCase() + word.slice(1);

/**
 * The catalogue: `assetAt(i)` gives asset i of a deterministic sequence; folders, words and tags are fixed by
 * the seed alone.
 */
export class Catalogue {
  readonly vocabulary: Vocabulary;
  private readonly allWords: string[];
  private readonly wordLaw: Zipf;
  private readonly tagLaw: Zipf;
  private readonly folderLaw: Zipf;
  private readonly assetFolders: Folder[];
  private readonly random: Random;
  /** Adjacent word pairs seen in descriptions, for phrase queries (a sample, not all of them). */
  readonly phrases = new Map<string, number>();

  constructor(
    readonly seed = 20_260_101,
    /** Tail size: generated words after the real ones. */
    tailWords = 20_000,
  ) {
    const setup = new Random(seed);
    const words = new Set<string>(CONTENT_WORDS);
    while (words.size < CONTENT_WORDS.length + tailWords) {
      let word = '';
      for (let syllables = setup.int(2, 4); syllables > 0; syllables--) word += setup.pick(SYLLABLES);
      if (!STOP_WORDS.includes(word)) words.add(word);
    }
    const content = [...words];
    this.allWords = [...STOP_WORDS, ...content];
    // Exponent 1: function words lead, then the real words, then an ever rarer tail of generated ones.
    this.wordLaw = new Zipf(this.allWords.length, 1.0);

    // Tags: 400 values, single words and pairs ("Street Food"), skewed.
    const tags = new Set<string>();
    for (let rank = 0; tags.size < 400; rank++) {
      const word = content[rank % content.length]!;
      tags.add(rank % 5 === 4 ? `${capitalize(word)} ${capitalize(content[(rank * 7 + 3) % 300]!)}` : capitalize(word));
    }
    this.tagLaw = new Zipf(tags.size, 1.1);

    const folders = buildFolders(setup);
    this.assetFolders = folders.filter((folder) => folder.holdsAssets);
    // Shuffled so that the popular folders are spread over the tree, not all under /Archive.
    for (let i = this.assetFolders.length - 1; i > 0; i--) {
      const j = setup.int(0, i);
      [this.assetFolders[i], this.assetFolders[j]] = [this.assetFolders[j]!, this.assetFolders[i]!];
    }
    this.folderLaw = new Zipf(this.assetFolders.length, 0.8);

    const offset = STOP_WORDS.length;
    this.vocabulary = {
      words: content,
      wordProbability: (index) => this.wordLaw.probability(index + offset),
      tags: [...tags],
      statuses: STATUSES.map(([status]) => status),
      folders,
      clients: CLIENTS,
      regions: REGIONS,
      years: YEARS,
    };
    this.random = new Random(seed ^ 0x5bd1e995);
  }

  /** The next asset of the sequence (call in order: i = 0, 1, 2 …). */
  nextAsset(index: number): Asset {
    const random = this.random;
    const folder = this.assetFolders[this.folderLaw.draw(random)]!;
    const domain = weighted(random, [['image', 0.7], ['video', 0.15], ['pdf', 0.15]] as Array<[string, number]>);
    const extension = domain === 'image' ? weighted(random, IMAGE_TYPES) : domain === 'video' ? weighted(random, VIDEO_TYPES) : 'pdf';
    const description = this.sentence(random, random.int(6, 18), index < 50_000);
    const filename = this.filename(random, index, extension, domain);
    // More assets in recent years: the square root spreads uploads towards the end of the ten years.
    const createdAt = Math.floor(START + (END - START) * Math.sqrt(random.next()));
    const metadata: Record<string, StoredValue> = { description };
    const tagCount = weighted(random, [[0, 0.08], [1, 0.15], [2, 0.22], [3, 0.22], [4, 0.15], [5, 0.1], [6, 0.05], [8, 0.03]] as Array<[number, number]>);
    if (tagCount > 0) {
      const chosen = new Set<string>();
      for (let attempt = 0; chosen.size < tagCount && attempt < tagCount * 4; attempt++) chosen.add(this.vocabulary.tags[this.tagLaw.draw(random)]!);
      metadata.tags = [...chosen];
    }
    if (random.chance(0.9)) metadata.status = weighted(random, STATUSES);
    if (random.chance(0.75)) metadata.rating = weighted(random, [[-1, 0.05], [0, 0.2], [1, 0.1], [2, 0.15], [3, 0.25], [4, 0.15], [5, 0.1]] as Array<[number, number]>);
    if (random.chance(0.85)) metadata.created = createdAt - random.int(0, 400) * DAY - random.int(0, DAY - 1);
    if (random.chance(0.4)) metadata.title = this.sentence(random, random.int(2, 5), false, true);
    const person = random.pick(PEOPLE);
    if (random.chance(0.6)) metadata.creatorName = person;
    if (random.chance(0.5)) metadata.copyright = `© ${new Date(createdAt).getUTCFullYear()} ${random.chance(0.5) ? person : random.pick(CLIENTS)}`;
    const client = folder.client ?? (random.chance(0.2) ? random.pick(CLIENTS) : undefined);
    if (client) metadata.cf_client = client;
    if (random.chance(0.5)) metadata.cf_project = `PRJ-${String(random.int(1, 2500)).padStart(4, '0')}`;
    if (random.chance(0.6)) metadata.cf_region = random.pick(REGIONS);
    if (domain === 'image' || domain === 'video') {
      const landscape = random.chance(0.7);
      const long = domain === 'video' ? random.pick([1280, 1920, 3840]) : random.int(8, 60) * 100;
      const short = Math.round((long * random.pick([9, 10, 12])) / 16);
      metadata.width = landscape ? long : short;
      metadata.height = landscape ? short : long;
    }
    if (domain === 'image') {
      metadata.colorSpace = random.chance(0.9) ? 'sRGB' : 'Adobe RGB';
      if (extension === 'jpg' && random.chance(0.7)) {
        const [make, model] = random.pick(CAMERAS);
        Object.assign(metadata, { cameraMake: make, cameraModel: model, iso: random.pick([100, 200, 400, 800, 1600, 3200]), fNumber: random.pick([1.8, 2.8, 4, 5.6, 8, 11]) });
      }
    } else if (domain === 'video') {
      metadata.durationSeconds = Math.round(random.next() * 600 * 10) / 10;
    } else {
      metadata.pageCount = random.int(1, 120);
    }
    const fileSize = domain === 'video' ? random.int(5, 2000) * 1_048_576 : domain === 'pdf' ? random.int(50, 20_000) * 1024 : random.int(200, 60_000) * 1024;
    const sha256 = random.bytes(32).toString('hex');
    const creator = random.pick(USERS);
    const modifiedAt = random.chance(0.3) ? Math.min(END, createdAt + random.int(0, 200) * DAY) : createdAt;
    return {
      id: random.bytes(16).toString('base64url'),
      assetPath: joinPath(folder.path, filename),
      folderPath: folder.path,
      filename,
      extension: extensionOf(filename),
      domain: domainOf(extensionOf(filename)),
      mimeType: mimeTypeOf(extensionOf(filename)),
      blobKey: sha256,
      fileSize,
      sha256,
      versionNumber: 1,
      contentEtag: 1,
      previewEtag: 2,
      previewState: 'yes',
      thumbnailState: 'yes',
      renditionError: null,
      createdAt,
      modifiedAt,
      fileModifiedAt: createdAt,
      creator,
      modifier: modifiedAt === createdAt ? creator : random.pick(USERS),
      fileModifier: creator,
      metadata,
    };
  }

  /** Words drawn from the Zipf law; `collect` keeps adjacent content-word pairs for phrase queries. */
  private sentence(random: Random, length: number, collect: boolean, title = false): string {
    const drawn: string[] = [];
    for (let i = 0; i < length; i++) {
      const rank = this.wordLaw.draw(random);
      // Titles skip function words.
      if (title && rank < STOP_WORDS.length) {
        i--;
        continue;
      }
      drawn.push(this.allWords[rank]!);
    }
    if (collect) {
      for (let i = 1; i < drawn.length; i++) {
        const [first, second] = [drawn[i - 1]!, drawn[i]!];
        if (STOP_WORDS.includes(first) || STOP_WORDS.includes(second) || first === second) continue;
        const key = `${first} ${second}`;
        if (this.phrases.size < 200_000 || this.phrases.has(key)) this.phrases.set(key, (this.phrases.get(key) ?? 0) + 1);
      }
    }
    const text = drawn.join(' ');
    return title ? drawn.map(capitalize).join(' ') : `${capitalize(text)}.`;
  }

  private filename(random: Random, index: number, extension: string, domain: string): string {
    const serial = String(index).padStart(7, '0');
    const style = random.next();
    // Names use the more common words only (the first 3,000), with the same skew.
    const word = () => this.vocabulary.words[this.wordLaw.draw(random) % 3000]!;
    if (domain === 'pdf') return style < 0.5 ? `${capitalize(word())} brochure ${serial}.pdf` : `report-${word()}-${serial}.pdf`;
    if (domain === 'video') return style < 0.5 ? `${word()}_${word()}_${serial}.${extension}` : `CLIP${serial}.${extension.toUpperCase()}`;
    if (style < 0.35) return `IMG_${serial}.${extension === 'jpg' ? 'JPG' : extension}`;
    if (style < 0.5) return `DSC${serial}.${extension}`;
    return `${word()}-${word()}-${serial}.${extension}`;
  }
}

/** About 400 folders, 1 to 4 levels deep. */
function buildFolders(random: Random): Folder[] {
  const folders: Folder[] = [];
  const add = (path: string, holdsAssets: boolean, client?: string) => {
    folders.push({ path, depth: path.split('/').length - 1, holdsAssets, ...(client ? { client } : {}) });
  };
  add('/Clients', false);
  for (const client of CLIENTS) {
    add(`/Clients/${client}`, random.chance(0.2), client);
    const first = random.int(0, 7);
    for (const year of YEARS.slice(first, first + random.int(1, 3))) {
      add(`/Clients/${client}/${year}`, random.chance(0.3), client);
      for (let campaign = random.int(1, 3); campaign > 0; campaign--) {
        add(`/Clients/${client}/${year}/${capitalize(CONTENT_WORDS[random.int(0, 200)]!)} campaign`, true, client);
      }
    }
  }
  add('/Stock', false);
  for (const category of STOCK) {
    add(`/Stock/${category}`, random.chance(0.3));
    for (let sub = random.int(3, 8); sub > 0; sub--) add(`/Stock/${category}/${capitalize(CONTENT_WORDS[random.int(0, CONTENT_WORDS.length - 1)]!)}`, true);
  }
  add('/Archive', false);
  for (const year of YEARS.slice(0, 8)) {
    add(`/Archive/${year}`, false);
    for (let month = 1; month <= 12; month++) add(`/Archive/${year}/${String(month).padStart(2, '0')}`, true);
  }
  add('/Events', false);
  for (const year of YEARS.slice(4)) {
    add(`/Events/${year}`, false);
    for (const event of EVENTS.filter(() => random.chance(0.6))) add(`/Events/${year}/${event}`, true);
  }
  add('/Brand', false);
  for (const sub of ['Logos', 'Guidelines', 'Fonts', 'Templates', 'Photography']) add(`/Brand/${sub}`, true);
  add('/Inbox', true);
  // Duplicate paths (two campaigns from the same word) collapse to one folder.
  const seen = new Set<string>();
  return folders.filter((folder) => (seen.has(folder.path.toLowerCase()) ? false : (seen.add(folder.path.toLowerCase()), true)));
}
