import { describe, expect, it } from 'vitest';
import {
  parseCoalesce,
  parseDriverInfo,
  parseFeaturesJson,
  parseFeaturesText,
  parseFlowHash,
  parseMaxCurrent,
  parseRss,
} from '../../src/probe/parse-ethtool.js';
import { fixture } from '../helpers.js';

describe('ethtool features', () => {
  it('JSON and text forms agree', () => {
    const json = parseFeaturesJson(fixture('ethtool', 'virtio-features.json'));
    const text = parseFeaturesText(fixture('ethtool', 'virtio-features.txt'));
    expect(json.problems).toEqual([]);
    expect(text.problems).toEqual([]);
    const active = (f: typeof json.data) => Object.fromEntries(Object.entries(f ?? {}).map(([k, v]) => [k, v.active]));
    expect(active(text.data)).toEqual(active(json.data));
    expect(text.data?.['large-receive-offload']).toEqual({ active: false, fixed: true, requested: null });
    expect(text.data?.['generic-receive-offload']?.active).toBe(true);
  });
  it('reads "requested on" annotations and rejects garbage', () => {
    const r = parseFeaturesText('Features for x:\ngeneric-receive-offload: off [requested on]\nnonsense line\n');
    expect(r.data?.['generic-receive-offload']).toEqual({ active: false, fixed: false, requested: true });
    expect(r.problems).toHaveLength(1);
    expect(parseFeaturesJson('{not json').data).toBeNull();
  });
});

describe('ethtool rings and channels', () => {
  it('reads maximums and current settings, n/a as null', () => {
    const rings = parseMaxCurrent(fixture('ethtool', 'mlx5-g.txt')).data;
    expect(rings?.max.rx).toBe(8192);
    expect(rings?.current.rx).toBe(1024);
    expect(rings?.current['rx-mini']).toBeNull();
    expect(rings?.current['rx-buf-len']).toBeNull();
    expect(rings?.current).not.toHaveProperty('tx-push'); // textual, not a number
    const ch = parseMaxCurrent(fixture('ethtool', 'mlx5-l.txt')).data;
    expect(ch).toMatchObject({ max: { combined: 63 }, current: { combined: 8, rx: null } });
    expect(parseMaxCurrent(fixture('ethtool', 'virtio-l.txt')).data?.current.combined).toBe(1);
  });
  it('says when there are no sections', () => {
    expect(parseMaxCurrent('Operation not supported').data).toBeNull();
  });
});

describe('ethtool coalescing', () => {
  it('reads adaptive flags and microseconds', () => {
    expect(parseCoalesce(fixture('ethtool', 'mlx5-c.txt')).data).toMatchObject({
      'adaptive-rx': true,
      'adaptive-tx': true,
      'rx-usecs': 8,
      'rx-frames': 128,
      'rx-usecs-irq': null,
    });
    expect(parseCoalesce(fixture('ethtool', 'virtio-c.txt')).data).toMatchObject({ 'adaptive-rx': false, 'adaptive-tx': null, 'rx-usecs': 0 });
  });
});

describe('ethtool RSS, flow hash, driver', () => {
  it('reads an 8-queue indirection table, key and function', () => {
    const rss = parseRss(fixture('ethtool', 'mlx5-x.txt')).data;
    expect(rss?.indirection).toHaveLength(32);
    expect(new Set(rss?.indirection)).toEqual(new Set([0, 1, 2, 3, 4, 5, 6, 7]));
    expect(rss?.hash_function).toBe('toeplitz');
    expect(rss?.hash_key).toMatch(/^2c:c6:/);
  });
  it('keeps a table the driver cannot show as null', () => {
    expect(parseRss(fixture('ethtool', 'virtio-x.txt')).data).toEqual({ indirection: null, hash_key: null, hash_function: 'toeplitz' });
  });
  it('reads flow-hash fields, None as empty', () => {
    expect(parseFlowHash(fixture('ethtool', 'mlx5-flowhash-tcp4.txt')).data).toHaveLength(4);
    expect(parseFlowHash(fixture('ethtool', 'mlx5-flowhash-udp4.txt')).data).toEqual(['IP SA', 'IP DA']);
    expect(parseFlowHash(fixture('ethtool', 'virtio-flowhash-tcp4.txt')).data).toEqual([]);
    expect(parseFlowHash('Cannot get RX network flow hashing options').data).toBeNull();
  });
  it('reads the driver name', () => {
    expect(parseDriverInfo(fixture('ethtool', 'virtio-i.txt')).data).toMatchObject({ driver: 'virtio_net', 'bus-info': '0000:00:03.0', 'firmware-version': '' });
    expect(parseDriverInfo('').data).toBeNull();
  });
});
