import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../src/config.js';

describe('configuration', () => {
  it('has working defaults for a first start', () => {
    const config = loadConfig({});
    assert.equal(config.port, 8080);
    assert.equal(config.host, '127.0.0.1');
    assert.equal(config.dataDir, resolve('./data'));
    assert.equal(config.databaseUrl, undefined);
    assert.equal(config.basePath, '');
    assert.equal(config.landingPage, '/');
    assert.equal(config.sessionIdleMinutes, 30);
    assert.equal(config.sessionMaxHours, 12);
    assert.deepEqual(config.corsOrigins, []);
    assert.deepEqual(config.logoutRedirectAllowlist, []);
    assert.equal(config.trustProxy, false);
    assert.equal(config.errorsAsHttp200, false);
  });

  it('parses every setting', () => {
    const config = loadConfig({
      DAMSON_PORT: '9000',
      DAMSON_BASE_PATH: '/app/',
      DAMSON_PUBLIC_URL: 'https://dam.example.com/app/',
      DAMSON_TRUST_PROXY: '10.0.0.0/8, 192.168.1.1',
      DAMSON_LOGOUT_REDIRECT_ALLOWLIST: 'https://a.example, http://b.example:8080',
      DAMSON_CORS_ORIGINS: 'https://app.example',
      DAMSON_SESSION_IDLE_MINUTES: '5',
      DAMSON_ERRORS_AS_HTTP_200: 'yes',
      DAMSON_DATABASE_URL: 'postgres://u:p@db/damson',
    });
    assert.equal(config.port, 9000);
    assert.equal(config.basePath, '/app');
    assert.equal(config.landingPage, '/app/');
    assert.equal(config.publicUrl, 'https://dam.example.com/app');
    assert.deepEqual(config.trustProxy, ['10.0.0.0/8', '192.168.1.1']);
    assert.deepEqual(config.logoutRedirectAllowlist, ['https://a.example', 'http://b.example:8080']);
    assert.equal(config.sessionIdleMinutes, 5);
    assert.equal(config.errorsAsHttp200, true);
    assert.equal(loadConfig({ DAMSON_LOGOUT_REDIRECT_ALLOWLIST: '*' }).logoutRedirectAllowlist, '*');
    assert.equal(loadConfig({ DAMSON_TRUST_PROXY: '2' }).trustProxy, 2);
  });

  it('reports every bad value at once, by name, without echoing secrets', () => {
    try {
      loadConfig({
        DAMSON_PORT: 'eighty',
        DAMSON_BASE_PATH: 'no-slash',
        DAMSON_DATABASE_URL: 'mysql://root:topsecret@db',
        DAMSON_CORS_ORIGINS: 'https://ok.example, https://bad.example/path',
        DAMSON_SESSION_IDLE_MINUTES: '0',
        DAMSON_TRUST_PROXY: 'maybe',
        DAMSON_LANDING_PAGE: 'javascript:alert(1)',
        DAMSON_ADMIN_PASSWORD: 'short',
        DAMSON_LOG_LEVEL: 'loud',
      });
      assert.fail('expected a ConfigError');
    } catch (error) {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.problems.length, 9);
      for (const name of ['DAMSON_PORT', 'DAMSON_BASE_PATH', 'DAMSON_DATABASE_URL', 'DAMSON_CORS_ORIGINS', 'DAMSON_SESSION_IDLE_MINUTES', 'DAMSON_TRUST_PROXY', 'DAMSON_LANDING_PAGE', 'DAMSON_ADMIN_PASSWORD', 'DAMSON_LOG_LEVEL']) {
        assert.match(error.message, new RegExp(name));
      }
      assert.doesNotMatch(error.message, /topsecret/);
      assert.doesNotMatch(error.message, /short/);
    }
  });

  it('reads NAME_FILE variants for secrets, and refuses both forms at once', () => {
    const dir = mkdtempSync(join(tmpdir(), 'damson-config-'));
    const file = join(dir, 'admin-password');
    writeFileSync(file, 'from-a-file-secret\n');
    assert.equal(loadConfig({ DAMSON_ADMIN_PASSWORD_FILE: file }).adminPassword, 'from-a-file-secret');
    assert.throws(() => loadConfig({ DAMSON_ADMIN_PASSWORD_FILE: file, DAMSON_ADMIN_PASSWORD: 'another-one' }), /both set/);
    assert.throws(() => loadConfig({ DAMSON_DATABASE_URL_FILE: join(dir, 'missing') }), /DAMSON_DATABASE_URL_FILE: cannot read/);
  });
  it('selects the scale-out stores and the role, and refuses half-given S3 settings without echoing secrets', () => {
    const defaults = loadConfig({});
    assert.equal(defaults.role, 'all');
    assert.equal(defaults.redisUrl, undefined);
    assert.equal(defaults.s3, undefined);
    const config = loadConfig({
      DAMSON_ROLE: 'Worker',
      DAMSON_REDIS_URL: 'redis://10.0.0.5:6379/2',
      DAMSON_S3_BUCKET: 'damson-files',
      DAMSON_S3_ENDPOINT: 'http://minio:9000',
      DAMSON_S3_ACCESS_KEY_ID: 'AKIA',
      DAMSON_S3_SECRET_ACCESS_KEY: 'shh',
      DAMSON_S3_PREFIX: 'prod/',
    });
    assert.equal(config.role, 'worker');
    assert.equal(config.redisUrl, 'redis://10.0.0.5:6379/2');
    assert.deepEqual(config.s3, { endpoint: 'http://minio:9000', region: 'us-east-1', bucket: 'damson-files', accessKeyId: 'AKIA', secretAccessKey: 'shh', forcePathStyle: true, prefix: 'prod/' });
    assert.equal(loadConfig({ DAMSON_S3_BUCKET: 'aws-bucket' }).s3?.forcePathStyle, false, 'AWS itself uses virtual-hosted URLs');
    try {
      loadConfig({ DAMSON_ROLE: 'boss', DAMSON_REDIS_URL: 'http://user:hunter2@redis', DAMSON_S3_SECRET_ACCESS_KEY: 'topsecret', DAMSON_S3_REGION: 'eu-west-1' });
      assert.fail('expected a ConfigError');
    } catch (error) {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.problems.length, 3);
      assert.match(error.message, /DAMSON_ROLE/);
      assert.match(error.message, /DAMSON_REDIS_URL/);
      assert.match(error.message, /without DAMSON_S3_BUCKET/);
      assert.doesNotMatch(error.message, /hunter2|topsecret/);
    }
    try {
      loadConfig({ DAMSON_S3_BUCKET: 'ok-bucket', DAMSON_S3_ACCESS_KEY_ID: 'AKIA' });
      assert.fail('expected a ConfigError');
    } catch (error) {
      assert.match(String(error), /go together/);
    }
  });
});
