/** Prints the README's metric catalogue (markdown) from the running daemon's registry. Usage: node dist/bench/metric-catalogue.js */
import { daemonMetricCatalogue } from '../test/unit/helpers/metric-catalogue.js';

const rows = await daemonMetricCatalogue();
console.log('| metric | type | labels | meaning |\n|---|---|---|---|');
for (const r of rows.filter((m) => !m.name.startsWith('bootgate_process_') && !m.name.startsWith('bootgate_nodejs_'))) {
  console.log(`| \`${r.name}\` | ${r.type} | ${r.labels.join(', ') || '-'} | ${r.help.replace(/\|/g, '\\|')} |`);
}
console.log('\nPlus the standard process and Node.js metrics (`bootgate_process_*`, `bootgate_nodejs_*`) from prom-client.');
