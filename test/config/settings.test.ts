// Every environment variable, read once under one set of rules: exit 2 naming the variable,
// and never the value of one that could carry a secret.
import { describe, expect, it } from 'vitest';
import { readSettings } from '../../src/config/settings.js';

const fails = (env: Record<string, string>) => {
  try {
    readSettings(env);
  } catch (error) {
    return { message: (error as Error).message, exitCode: (error as { exitCode?: number }).exitCode };
  }
  throw new Error('no error');
};

describe('readSettings', () => {
  it('defaults: the real API, SSH on 22, nothing secret', () => {
    const s = readSettings({});
    expect(s.vultr).toEqual({ apiKey: undefined, apiUrl: 'https://api.vultr.com/v2' });
    expect(s.ssh.port).toBe(22);
    expect(s.secrets).toEqual({});
    expect(s.actions).toBeUndefined();
  });

  it('VULTR_API_URL: https, or http only for loopback (the key goes with every request)', () => {
    expect(readSettings({ VULTR_API_URL: 'http://127.0.0.1:8080/v2' }).vultr.apiUrl).toBe('http://127.0.0.1:8080/v2');
    expect(readSettings({ VULTR_API_URL: 'http://[::1]:8080/v2' }).vultr.apiUrl).toBe('http://[::1]:8080/v2');
    expect(fails({ VULTR_API_URL: 'http://api.example.com/v2' })).toEqual({
      exitCode: 2,
      message: 'VULTR_API_URL must be an https:// URL (http:// only for a loopback address), got "http://api.example.com/v2"; the API key must not travel in clear text',
    });
  });

  it('refuses credentials inside a URL without printing them', () => {
    for (const name of ['VULTR_API_URL', 'S3_ENDPOINT']) {
      const f = fails({ [name]: 'https://user:hunter2@example.com/' });
      expect(f.exitCode).toBe(2);
      expect(f.message).toContain(`${name} carries credentials`);
      expect(f.message).not.toContain('hunter2');
    }
  });

  it('numbers: seconds and ports are checked, named, and exit 2', () => {
    expect(readSettings({ VULTR_SID_ISO_HTTP_TIMEOUT: '2.5' }).http.timeoutMs).toBe(2500);
    expect(fails({ VULTR_SID_ISO_HTTP_BACKOFF: '-1' }).message).toBe('VULTR_SID_ISO_HTTP_BACKOFF must be a positive number of seconds, got "-1"; fix or unset it');
    expect(fails({ VULTR_SID_ISO_SSH_PORT: '70000' }).message).toMatch(/^VULTR_SID_ISO_SSH_PORT must be a TCP port/);
  });

  it('collects the secrets that are set, and the Actions files only in Actions', () => {
    const s = readSettings({ VULTR_API_KEY: 'k', AWS_SECRET_ACCESS_KEY: 's', GITHUB_OUTPUT: '/o' });
    expect(s.secrets).toEqual({ VULTR_API_KEY: 'k', AWS_SECRET_ACCESS_KEY: 's' });
    expect(s.actions).toBeUndefined();
    expect(readSettings({ GITHUB_ACTIONS: 'true', GITHUB_OUTPUT: '/o', GITHUB_STEP_SUMMARY: '/s' }).actions).toEqual({ outputFile: '/o', summaryFile: '/s' });
  });
});
