import { describe, expect, it } from 'vitest';
import { allowedMethods, endpointOf, matchPath, templateCount } from '#shared/autotask/paths.ts';
import swaggerPaths from '#shared/autotask/swagger-paths.json' with { type: 'json' };

/** Paths in autotask-rest-v1.swagger.json (README: 1,421); the derive script prints the same count. */
const SWAGGER_PATH_COUNT = 1421;

describe('the generated allowlist', () => {
  it('holds every swagger path template, each with at least one method', () => {
    const entries = Object.entries(swaggerPaths as Record<string, string[]>);
    expect(entries).toHaveLength(SWAGGER_PATH_COUNT);
    expect(templateCount).toBe(SWAGGER_PATH_COUNT);
    for (const [template, methods] of entries) {
      expect(template.startsWith('/') || template.startsWith('V1.0'), template).toBe(false);
      expect(methods.length, template).toBeGreaterThan(0);
      for (const m of methods) expect(['GET', 'POST', 'PATCH', 'PUT', 'DELETE']).toContain(m);
    }
    expect(allowedMethods('Tickets/query')).toEqual(['GET', 'POST']);
    expect(allowedMethods('Tickets/{id}')).toEqual(['GET']);
    expect(allowedMethods('Nope')).toEqual([]);
  });
});

describe('matchPath', () => {
  it('matches known templates and names their thread-limit endpoint', () => {
    expect(matchPath('GET', '/Tickets/42')).toEqual({ template: 'Tickets/{id}', endpoint: 'Tickets' });
    expect(matchPath('POST', '/Tickets/query')).toEqual({ template: 'Tickets/query', endpoint: 'Tickets' });
    expect(matchPath('GET', '/Tickets/query')).toEqual({ template: 'Tickets/query', endpoint: 'Tickets' });
    expect(matchPath('POST', '/Tickets/query/count')).toEqual({
      template: 'Tickets/query/count',
      endpoint: 'Tickets',
    });
    expect(matchPath('PATCH', '/Tickets')).toEqual({ template: 'Tickets', endpoint: 'Tickets' });
    expect(matchPath('POST', '/Tickets/42/Notes')).toEqual({
      template: 'Tickets/{parentId}/Notes',
      endpoint: 'Tickets/Notes',
    });
    expect(matchPath('GET', '/Tickets/42/Notes/7')).toEqual({
      template: 'Tickets/{parentId}/Notes/{id}',
      endpoint: 'Tickets/Notes',
    });
    expect(matchPath('GET', '/ThresholdInformation')).toEqual({
      template: 'ThresholdInformation',
      endpoint: 'ThresholdInformation',
    });
    expect(matchPath('GET', '/ZoneInformation')).toEqual({
      template: 'ZoneInformation',
      endpoint: 'ZoneInformation',
    });
    expect(matchPath('GET', '/Tickets/entityInformation/fields')).toEqual({
      template: 'Tickets/entityInformation/fields',
      endpoint: 'Tickets',
    });
    expect(matchPath('DELETE', '/ActionTypes/3')).toEqual({
      template: 'ActionTypes/{id}',
      endpoint: 'ActionTypes',
    });
  });

  it('matches segments case-insensitively and returns the swagger casing', () => {
    expect(matchPath('GET', '/tickets/42')).toEqual({ template: 'Tickets/{id}', endpoint: 'Tickets' });
    expect(matchPath('GET', '/TICKETS/42/notes')).toEqual({
      template: 'Tickets/{parentId}/Notes',
      endpoint: 'Tickets/Notes',
    });
    expect(matchPath('GET', '/zoneInformation')).toEqual({
      template: 'ZoneInformation',
      endpoint: 'ZoneInformation',
    });
    expect(matchPath('get', '/Tickets/42')).toEqual({ template: 'Tickets/{id}', endpoint: 'Tickets' });
    expect(matchPath('GET', '/Tickets/42/')).toEqual({ template: 'Tickets/{id}', endpoint: 'Tickets' });
  });

  it('refuses unknown paths', () => {
    const result = matchPath('GET', '/Tickets/42/Nonsense');
    expect(result).toEqual({
      error: expect.stringContaining('unknown Autotask path "/Tickets/42/Nonsense"'),
    });
    expect(matchPath('GET', '/NoSuchEntity/query')).toHaveProperty('error');
    expect(matchPath('GET', '/VersionInformation')).toHaveProperty('error');
    expect(matchPath('GET', '/../VersionInformation')).toHaveProperty('error');
    expect(matchPath('GET', '/Tickets/../Companies/1')).toHaveProperty('error');
    expect(matchPath('GET', '//Tickets/1')).toHaveProperty('error');
    expect(matchPath('GET', 'Tickets/1')).toEqual({ error: expect.stringContaining('must start with "/"') });
    expect(matchPath('GET', '/Tickets/query?search=x')).toEqual({
      error: expect.stringContaining('query string'),
    });
    expect(matchPath('GET', '/')).toHaveProperty('error');
  });

  it('refuses a method the path does not allow and lists the allowed ones', () => {
    expect(matchPath('DELETE', '/Tickets/42')).toEqual({
      error: 'DELETE is not allowed on Tickets/{id} (/Tickets/42); the Autotask API allows GET there',
    });
    const patch = matchPath('PATCH', '/Tickets/query');
    expect('error' in patch && patch.error).toContain('allows GET, POST');
    expect(matchPath('HEAD', '/Tickets/42')).toHaveProperty('error');
  });

  it('only lets positive integers stand for ids', () => {
    for (const bad of ['abc', '0', '-1', '1.5', '007', '1e3', '12345678901234567890']) {
      const result = matchPath('GET', `/Tickets/${bad}`);
      expect('error' in result, bad).toBe(true);
    }
    expect(matchPath('GET', '/Tickets/abc')).toEqual({
      error: 'path "/Tickets/abc" matches Tickets/{id} except that "abc" is not a positive integer id',
    });
    expect(matchPath('GET', '/Tickets/x/Notes')).toEqual({
      error: expect.stringContaining('matches Tickets/{parentId}/Notes except that "x"'),
    });
    expect(matchPath('GET', '/Tickets/{id}')).toHaveProperty('error');
    expect(matchPath('GET', '/Tickets/9223372036854775807')).toEqual({
      template: 'Tickets/{id}',
      endpoint: 'Tickets',
    });
    expect(matchPath('GET', '/Tickets/42/Notes/query')).toHaveProperty('error');
  });
});

describe('endpointOf', () => {
  it('drops ids, query, count and entityInformation onwards', () => {
    expect(endpointOf('/Tickets/123')).toBe('Tickets');
    expect(endpointOf('/Tickets/query')).toBe('Tickets');
    expect(endpointOf('/Tickets/query/count')).toBe('Tickets');
    expect(endpointOf('/Tickets/42/Notes')).toBe('Tickets/Notes');
    expect(endpointOf('/Tickets/42/Notes/7')).toBe('Tickets/Notes');
    expect(endpointOf('/ThresholdInformation')).toBe('ThresholdInformation');
    expect(endpointOf('/Tickets/entityInformation/fields')).toBe('Tickets');
    expect(endpointOf('/Tickets/42/Notes/entityInformation/userDefinedFields')).toBe('Tickets/Notes');
    expect(endpointOf('/Companies')).toBe('Companies');
  });

  it('treats templates like concrete paths and keeps the casing given', () => {
    expect(endpointOf('Tickets/{parentId}/Notes/{id}')).toBe('Tickets/Notes');
    expect(endpointOf('/tickets/Query/COUNT')).toBe('tickets');
  });
});
