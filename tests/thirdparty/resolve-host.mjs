// Preloaded with `node --import`: resolves the names in OPENREEL_HOSTS ("name=address,...")
// to those addresses, like an /etc/hosts entry would, so the client reaches a loopback
// openreel under a public-looking name (the client refuses loopback names for downloads).
import dns from 'node:dns';

const hosts = new Map(
  (process.env.OPENREEL_HOSTS ?? '')
    .split(',')
    .filter(Boolean)
    .map((entry) => entry.split('=')),
);
const lookup = dns.lookup;

dns.lookup = function (hostname, options, callback) {
  const address = hosts.get(hostname);
  if (address === undefined) {
    return lookup.call(this, hostname, options, callback);
  }
  const done = typeof options === 'function' ? options : callback;
  const family = address.includes(':') ? 6 : 4;
  if (typeof options === 'object' && options?.all) {
    process.nextTick(done, null, [{ address, family }]);
  } else {
    process.nextTick(done, null, address, family);
  }
  return {};
};
